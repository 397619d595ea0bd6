/**
 * Quota counters in Redis, shared by every instance: one Lua script seeds, checks and counts in one atomic step, so
 * N instances together never let a key past its quota. While Redis fails, an in-process counter answers (insurance,
 * as for the per-minute limits): each instance then counts on its own from the sheet's value.
 *
 * Key: `<prefix>:<keyId>:<period>` → requests counted in that period; it expires a day after the period ends.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../log';
import { RedisScript } from '../redis/script';
import { MemoryQuotaCounter } from './quota-counter';
import type { QuotaCharge, QuotaCounter, QuotaDecision } from './quota-counter';

/** Kept after the period ends, so that a clock a little behind still finds the count. */
const KEEP_AFTER_MS = 86_400_000;

/** KEYS: counter. ARGV: limit, seed, expire-at (epoch ms). Returns {allowed 0|1, used}. */
const CONSUME = new RedisScript(`
local used = tonumber(redis.call('GET', KEYS[1]))
if not used then
  used = tonumber(ARGV[2])
  redis.call('SET', KEYS[1], used)
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
end
if used >= tonumber(ARGV[1]) then return {0, used} end
return {1, redis.call('INCR', KEYS[1])}`);

/** KEYS: counter. ARGV: delta. Moves an existing counter, never below 0. */
const ADJUST = new RedisScript(`
local used = tonumber(redis.call('GET', KEYS[1]))
if not used then return 0 end
local next = math.max(0, used + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], next, 'KEEPTTL')
return 1`);

export interface RedisQuotaCounterOptions {
  readonly redis: Redis;
  /** Defaults to `sheetgate:quota`. */
  readonly prefix?: string;
  /** Logs the switch to the insurance counter and back, once per transition. */
  readonly logger?: Logger;
  readonly onRedisError?: (operation: 'quota') => void;
}

export class RedisQuotaCounter implements QuotaCounter {
  private readonly prefix: string;
  private readonly insurance = new MemoryQuotaCounter();
  private insured = false;

  constructor(private readonly options: RedisQuotaCounterOptions) {
    this.prefix = options.prefix ?? 'sheetgate:quota';
  }

  async consume(charge: QuotaCharge): Promise<QuotaDecision> {
    const { keyId, period, limit, seed, endsAt } = charge;
    try {
      const reply = (await CONSUME.run(
        this.options.redis,
        [this.key(keyId, period)],
        [limit, Math.max(0, seed), endsAt + KEEP_AFTER_MS],
      )) as [number, number];
      this.switchTo(false);
      const [allowed, used] = reply;
      return { allowed: allowed === 1, limit, used, remaining: Math.max(0, limit - used) };
    } catch (err) {
      this.options.onRedisError?.('quota');
      this.switchTo(true, err);
      return this.insurance.consumeNow(charge);
    }
  }

  async adjust(keyId: string, period: string, delta: number): Promise<void> {
    await this.insurance.adjust(keyId, period, delta);
    await ADJUST.run(this.options.redis, [this.key(keyId, period)], [delta]);
  }

  /** True while the last Redis call failed: quotas hold per instance. */
  insuranceActive(): boolean {
    return this.insured;
  }

  async close(): Promise<void> {
    await this.insurance.close();
  }

  private key(keyId: string, period: string): string {
    return `${this.prefix}:${keyId}:${period}`;
  }

  private switchTo(next: boolean, err?: unknown): void {
    if (next === this.insured) {
      return;
    }
    this.insured = next;
    if (next) {
      const why = err instanceof Error ? err.message : String(err);
      this.options.logger?.warn(`quotas fall back to per-instance memory: Redis failed (${why})`);
    } else {
      this.options.logger?.info('quotas are shared through Redis again');
    }
  }
}
