import type { LimitDecision } from './limiter';

/** One key's window: when it started and the requests counted in it. */
interface Window {
  startedAt: number;
  used: number;
}

/** Per-key fixed windows in this process: what the limiter counts in memory (see {@link createWindowCounter}). */
export interface WindowCounter {
  /** Counts one request of `keyId`, whose budget is `limit` requests per window, and decides it. */
  consume(keyId: string, limit: number): LimitDecision;
  /** Windows held: every key's that has not ended, and those that ended less than a window before the last sweep. */
  size(): number;
  /** Stops the sweep and forgets every window. */
  close(): void;
}

/**
 * Fixed windows counted as rate-limiter-flexible's `RateLimiterMemory` counts them: a key's window starts at its first
 * request and lasts `windowMs`; a request past `limit` in it is refused, and the answer says how long until the window
 * ends. Each limit value counts apart (a key whose `rate_limit` changes starts a new window), as one rlf limiter per
 * limit did. Unlike `RateLimiterMemory`, which makes a record, a result and a `setTimeout` per key for every window,
 * a key has one entry, reused when its window ends, and one sweep per window forgets the keys whose window ended a
 * whole window ago, so that a key used at least once every two windows keeps its entry: with 100,000 keys, rlf's
 * per-window objects survived into every young-generation collection and made each one dearer.
 * A request is counted and decided in one synchronous step, so concurrent requests never pass the limit.
 */
export function createWindowCounter(windowMs: number, now: () => number = Date.now): WindowCounter {
  const byLimit = new Map<number, Map<string, Window>>();
  const sweep = setInterval(() => {
    const at = now();
    for (const windows of byLimit.values()) {
      for (const [keyId, window] of windows) {
        if (at - window.startedAt >= 2 * windowMs) {
          windows.delete(keyId);
        }
      }
    }
  }, windowMs);
  sweep.unref();

  return {
    consume(keyId, limit) {
      let windows = byLimit.get(limit);
      if (windows === undefined) {
        windows = new Map();
        byLimit.set(limit, windows);
      }
      const at = now();
      let window = windows.get(keyId);
      if (window === undefined) {
        window = { startedAt: at, used: 0 };
        windows.set(keyId, window);
      } else if (at - window.startedAt >= windowMs) {
        window.startedAt = at;
        window.used = 0;
      }
      window.used += 1;
      const resetMs = window.startedAt + windowMs - at;
      const allowed = window.used <= limit;
      return { allowed, limit, remaining: allowed ? limit - window.used : 0, resetMs };
    },
    size() {
      let n = 0;
      for (const windows of byLimit.values()) {
        n += windows.size;
      }
      return n;
    },
    close() {
      clearInterval(sweep);
      byLimit.clear();
    },
  };
}
