/**
 * Quota counters in Redis, shared by every instance: one Lua script seeds, checks and counts in one atomic step, so
 * N instances together never let a key past its quota. While Redis fails, an in-process counter answers (insurance,
 * as for the per-minute limits): each instance then counts on its own from the sheet's value.
 *
 * Key: `<prefix>:<keyId>:<period>`, a hash: `u` requests counted in that period, `r` the `quota_used` reference
 * (see {@link QuotaCounter}); it expires a day after the period ends. Every key of one deployment shares the
 * namespace's hash tag, so the multi-key scripts run on Redis Cluster too.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../log';
import { RedisScript } from '../redis/script';
import { MemoryQuotaCounter } from './quota-counter';
import type { QuotaCharge, QuotaCounter, QuotaDecision, QuotaSheetCount, QuotaWritten } from './quota-counter';

/** Kept after the period ends, so that a clock a little behind still finds the count. */
const KEEP_AFTER_MS = 86_400_000;

/** KEYS: counter. ARGV: limit, seed, expire-at (epoch ms). Returns {allowed 0|1, used}. */
const CONSUME = new RedisScript(`
local used = tonumber(redis.call('HGET', KEYS[1], 'u'))
if not used then
  used = tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'u', used, 'r', used)
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
end
if used >= tonumber(ARGV[1]) then return {0, used} end
return {1, redis.call('HINCRBY', KEYS[1], 'u', 1)}`);

/** KEYS: counters. ARGV: the sheet's count for each. Returns each total (-1: no counter); see QuotaCounter. */
const RECONCILE = new RedisScript(`
local out = {}
for i = 1, #KEYS do
  local used = tonumber(redis.call('HGET', KEYS[i], 'u'))
  if not used then out[i] = -1 else
    local sheet = tonumber(ARGV[i])
    local ref = tonumber(redis.call('HGET', KEYS[i], 'r'))
    if ref and ref ~= sheet then
      used = math.max(0, used + sheet - ref)
      redis.call('HSET', KEYS[i], 'u', used)
    end
    redis.call('HSET', KEYS[i], 'r', sheet)
    out[i] = used
  end
end
return out`);

/** KEYS: counters. ARGV: 1 = sure, then the total written for each. Sets (or, unsure, clears) the references. */
const WRITTEN = new RedisScript(`
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    if ARGV[1] == '1' then redis.call('HSET', KEYS[i], 'r', ARGV[i + 1]) else redis.call('HDEL', KEYS[i], 'r') end
  end
end
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

  async reconcile(counts: readonly QuotaSheetCount[]): Promise<ReadonlyMap<string, number>> {
    const local = this.insurance.reconcileNow(counts);
    if (counts.length === 0) {
      return local;
    }
    const keys = counts.map((c) => this.key(c.keyId, c.period));
    try {
      const reply = (await RECONCILE.run(
        this.options.redis,
        keys,
        counts.map((c) => c.sheetUsed),
      )) as number[];
      const totals = new Map<string, number>();
      counts.forEach((c, i) => {
        const used = reply[i] ?? -1;
        if (used >= 0) {
          totals.set(c.keyId, used);
        }
      });
      return totals;
    } catch (err) {
      this.options.onRedisError?.('quota');
      this.switchTo(true, err);
      return local;
    }
  }

  async written(totals: readonly QuotaWritten[], sure: boolean): Promise<void> {
    await this.insurance.written(totals, sure);
    if (totals.length > 0) {
      const keys = totals.map((t) => this.key(t.keyId, t.period));
      await WRITTEN.run(this.options.redis, keys, [sure ? 1 : 0, ...totals.map((t) => t.used)]).catch(() => {
        this.options.onRedisError?.('quota');
      });
    }
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
