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

/** What a flush read of a key's row says about the current period. */
export interface QuotaSheetCount {
  readonly keyId: string;
  readonly period: string;
  /** `quota_used` as it counts for `period` (0 when `quota_period` names another one). */
  readonly sheetUsed: number;
}

/** A total written to (or sent to) a key's `quota_used`. */
export interface QuotaWritten {
  readonly keyId: string;
  readonly period: string;
  readonly used: number;
}

/**
 * Per-key quota counters (memory, or Redis shared by every instance). Keyed by key id, never by the key.
 *
 * Each counter keeps a reference: the `quota_used` value it was seeded from, then the last one a flush wrote. A
 * flush read that finds another value there sees an admin's edit (typically a reset to 0) and moves the counter by
 * the difference, so that the requests counted since the last write still count on top of the admin's value.
 */
export interface QuotaCounter {
  /**
   * Counts one request when the period's count is below `limit`; otherwise refuses without counting (a refused
   * request is not usage). Check and count are one atomic step, so concurrent requests never pass the limit.
   */
  consume(charge: QuotaCharge): Promise<QuotaDecision>;
  /**
   * Applies what a flush read of the sheet found, and returns each existing counter's total by key id (what the
   * flush writes to `quota_used`). Where `sheetUsed` differs from the counter's reference, the counter moves by the
   * difference (never below 0); with no reference (the last write's outcome was unknown), the sheet's value becomes
   * the reference unchanged. A key with no counter for the period is absent from the answer.
   */
  reconcile(counts: readonly QuotaSheetCount[]): Promise<ReadonlyMap<string, number>>;
  /**
   * Records totals a flush wrote (`sure`: Google confirmed) as the counters' references, or — for a write that got no
   * answer (`sure` false) — clears the references, since the sheet may hold either value.
   */
  written(totals: readonly QuotaWritten[], sure: boolean): Promise<void>;
  close(): Promise<void>;
}

interface Count {
  readonly period: string;
  used: number;
  /** The `quota_used` value last seeded from or written; undefined = unknown. */
  ref: number | undefined;
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
      const seed = Math.max(0, charge.seed);
      count = { period, used: seed, ref: seed };
      this.counts.set(keyId, count);
    }
    if (count.used >= limit) {
      return { allowed: false, limit, used: count.used, remaining: 0 };
    }
    count.used += 1;
    return { allowed: true, limit, used: count.used, remaining: limit - count.used };
  }

  reconcile(counts: readonly QuotaSheetCount[]): Promise<ReadonlyMap<string, number>> {
    return Promise.resolve(this.reconcileNow(counts));
  }

  reconcileNow(counts: readonly QuotaSheetCount[]): ReadonlyMap<string, number> {
    const totals = new Map<string, number>();
    for (const { keyId, period, sheetUsed } of counts) {
      const count = this.counts.get(keyId);
      if (count?.period !== period) {
        continue;
      }
      if (count.ref !== undefined && count.ref !== sheetUsed) {
        count.used = Math.max(0, count.used + sheetUsed - count.ref);
      }
      count.ref = sheetUsed;
      totals.set(keyId, count.used);
    }
    return totals;
  }

  written(totals: readonly QuotaWritten[], sure: boolean): Promise<void> {
    for (const { keyId, period, used } of totals) {
      const count = this.counts.get(keyId);
      if (count?.period === period) {
        count.ref = sure ? used : undefined;
      }
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.counts.clear();
    return Promise.resolve();
  }
}
