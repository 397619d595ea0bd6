import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../log';
import { RedisScript } from './script';

/**
 * Takes the lease when free (`SET NX PX` semantics) or renews it when this instance holds it (compare-and-expire), in
 * one atomic step: a holder whose renewal reply was lost gets its own lease back instead of waiting for it to expire.
 */
const ACQUIRE = new RedisScript(`
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`);

/** Releases the lease only while this instance still holds it (compare-and-delete). */
const RELEASE = new RedisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

export interface LeaseOptions {
  readonly client: Redis;
  /** Redis key of the lease. */
  readonly key: string;
  /**
   * How long the lease lives without renewal. Defaults to `30000` ms. It must exceed the Sheets call timeout (10 s)
   * with margin: a holder renews it just before a usage write, so no other instance can take over while that write
   * may still land (docs/scaling.md "Leader lease").
   */
  readonly ttlMs?: number;
  readonly logger: Logger;
  /** Called when a lease command fails (metrics). */
  readonly onError?: (operation: string) => void;
  readonly now?: () => number;
}

/**
 * One leader among the instances sharing a Redis: take it when free (`SET NX PX`), renew it every ttl/3
 * while ours (compare-and-expire), both in one script, a compare-and-delete script to release it. The leader is the only instance that
 * reads the sheet on schedule and writes usage back. `held()` is local knowledge: true until the last successful
 * acquire/renew, counted from when it was *sent*, plus ttl minus a margin, so a holder stops acting before Redis
 * can hand the lease to someone else.
 */
export class Lease {
  readonly token = randomUUID();
  readonly key: string;
  readonly ttlMs: number;
  private validUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private wasHeld = false;

  constructor(private readonly options: LeaseOptions) {
    this.key = options.key;
    this.ttlMs = options.ttlMs ?? 30_000;
    if (!(this.ttlMs >= 1000)) {
      throw new Error(`Lease: ttlMs must be >= 1000 (got ${this.ttlMs})`);
    }
    this.now = options.now ?? Date.now;
  }

  /** Tries to take or renew the lease now, then every ttl/3. */
  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), Math.floor(this.ttlMs / 3));
    this.timer.unref();
  }

  /** True while this instance holds the lease (with a 10% safety margin). */
  held(): boolean {
    return this.now() < this.validUntil;
  }

  /** Takes the lease when free, renews it when ours. Resolves with `held()`; never rejects. */
  async tick(): Promise<boolean> {
    const sentAt = this.now();
    try {
      const ok = (await ACQUIRE.run(this.options.client, [this.key], [this.token, this.ttlMs])) === 1;
      this.validUntil = ok ? sentAt + Math.floor(this.ttlMs * 0.9) : 0;
    } catch {
      this.options.onError?.('lease');
      // Unknown: keep the local deadline (it was computed conservatively); it lapses on its own.
    }
    this.notify();
    return this.held();
  }

  /** Stops renewing and gives the lease up so another instance takes over at once. Never rejects. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const had = this.held();
    this.validUntil = 0;
    this.wasHeld = false;
    if (had) {
      await RELEASE.run(this.options.client, [this.key], [this.token]).catch(() => undefined);
      this.options.logger.info('leader lease released: another instance takes over');
    }
  }

  private notify(): void {
    const held = this.held();
    if (held === this.wasHeld) {
      return;
    }
    this.wasHeld = held;
    this.options.logger.log(
      held ? 'info' : 'warn',
      held
        ? 'this instance now leads: it reads the sheet for all instances and writes usage back'
        : 'this instance no longer leads: another instance reads the sheet and writes usage back',
    );
  }
}
