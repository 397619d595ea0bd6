/**
 * The auth middleware's side of quotas: which calendar period a request falls in, what the counter starts from, and
 * the `RateLimit-Policy` entry. Periods are cached per kind and zone until they end, so a request computes no dates.
 */
import type { KeyRecord } from '../keys/types';
import { quotaWindow } from '../keys/quota';
import type { Quota, QuotaPeriod, QuotaWindow } from '../keys/quota';
import type { QuotaCounter, QuotaDecision } from '../limits/quota-counter';

export interface QuotaAnswer {
  readonly decision: QuotaDecision;
  /** Epoch ms at which the period ends. */
  readonly endsAt: number;
  /** `10000;w=86400`: the quota as a `RateLimit-Policy` entry (the window is this period's length in seconds). */
  readonly policy: string;
}

export interface QuotaGate {
  /** Charges one request of `key` to its `quota` at `at`, in periods of the sheet's zone. */
  consume(key: KeyRecord, quota: Quota, timeZone: string, at: number): Promise<QuotaAnswer>;
}

export function quotaGate(counter: QuotaCounter): QuotaGate {
  const windows = new Map<string, QuotaWindow>();
  const windowOf = (period: QuotaPeriod, timeZone: string, at: number): QuotaWindow => {
    const cacheKey = `${period} ${timeZone}`;
    let window = windows.get(cacheKey);
    if (window === undefined || at < window.startsAt || at >= window.endsAt) {
      window = quotaWindow(period, at, timeZone);
      windows.set(cacheKey, window);
    }
    return window;
  };
  return {
    async consume(key, quota, timeZone, at) {
      const window = windowOf(quota.period, timeZone, at);
      const decision = await counter.consume({
        keyId: key.keyId,
        period: window.id,
        limit: quota.limit,
        // The sheet's count belongs to this period only when `quota_period` says so: a new period starts from 0.
        seed: key.quotaPeriod === window.id ? key.quotaUsed : 0,
        endsAt: window.endsAt,
      });
      const seconds = Math.round((window.endsAt - window.startsAt) / 1000);
      return { decision, endsAt: window.endsAt, policy: `${quota.limit};w=${seconds}` };
    },
  };
}
