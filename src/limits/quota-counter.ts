/**
 * Day/month quota counters: the port the auth middleware charges, and its in-process implementation. A counter is
 * per key id and period id (`2026-12-05`, `2026-12`); it starts from the sheet's `quota_used` for that period (the
 * seed), so consumption survives a restart, and a new period starts from 0.
 */

/** Result of charging one request to a key's quota. */
export interface QuotaDecision {
  readonly allowed: boolean;
  readonly limit: number;
  /** Requests counted in the period, this one included when allowed. */
  readonly used: number;
  readonly remaining: number;
}

/** What one charge needs to know. */
export interface QuotaCharge {
  readonly keyId: string;
  /** `2026-12-05` or `2026-12`. */
  readonly period: string;
  readonly limit: number;
  /** The count to start from when this process (or Redis) has no counter for the period yet. */
  readonly seed: number;
  /** Epoch ms at which the period ends: the counter is not needed after it. */
  readonly endsAt: number;
}

/** Per-key quota counters (memory, or Redis shared by every instance). Keyed by key id, never by the key. */
export interface QuotaCounter {
  /**
   * Counts one request when the period's count is below `limit`; otherwise refuses without counting (a refused
   * request is not usage). Check and count are one atomic step, so concurrent requests never pass the limit.
   */
  consume(charge: QuotaCharge): Promise<QuotaDecision>;
  /**
   * Moves the period's counter by `delta` (never below 0) when it exists: an admin changed `quota_used` by hand.
   * A counter that does not exist is seeded from the sheet at its next use anyway.
   */
  adjust(keyId: string, period: string, delta: number): Promise<void>;
  close(): Promise<void>;
}

interface Count {
  readonly period: string;
  used: number;
}

/**
 * Counters in this process: exact under any concurrency, since a charge is one synchronous step of the event loop.
 * One entry per key (the current period's); a key's entry is replaced when its period changes, so memory stays at
 * one number per key with a quota.
 */
export class MemoryQuotaCounter implements QuotaCounter {
  private readonly counts = new Map<string, Count>();

  consume(charge: QuotaCharge): Promise<QuotaDecision> {
    return Promise.resolve(this.consumeNow(charge));
  }

  /** {@link consume} without the promise, for the Redis counter's insurance. */
  consumeNow(charge: QuotaCharge): QuotaDecision {
    const { keyId, period, limit } = charge;
    let count = this.counts.get(keyId);
    if (count?.period !== period) {
      count = { period, used: Math.max(0, charge.seed) };
      this.counts.set(keyId, count);
    }
    if (count.used >= limit) {
      return { allowed: false, limit, used: count.used, remaining: 0 };
    }
    count.used += 1;
    return { allowed: true, limit, used: count.used, remaining: limit - count.used };
  }

  adjust(keyId: string, period: string, delta: number): Promise<void> {
    const count = this.counts.get(keyId);
    if (count?.period === period) {
      count.used = Math.max(0, count.used + delta);
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.counts.clear();
    return Promise.resolve();
  }
}
