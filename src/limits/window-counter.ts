import type { KeyDecider, LimitDecision } from './limiter';

/** Per-key fixed windows in this process: what the limiter counts in memory (see {@link createWindowCounter}). */
export interface WindowCounter {
  /** Counts one request of `keyId`, whose budget is `limit` requests per window, and decides it. */
  consume(keyId: string, limit: number): LimitDecision;
  /**
   * The window `consume(keyId, limit)` counts in, to keep beside the key: its `decide()` counts in the same window as
   * `consume` does, whichever of the two a request goes through.
   */
  windowFor(keyId: string, limit: number): KeyDecider;
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
 *
 * An entry handed out by `windowFor` and later forgotten by the sweep goes back in place on its next request, unless
 * `consume` has made the key a new entry meanwhile, which it then counts in: a key's requests never count in two
 * windows at once.
 */
export function createWindowCounter(windowMs: number, now: () => number = Date.now): WindowCounter {
  const byLimit = new Map<number, Map<string, Window>>();

  class Window implements KeyDecider {
    /** -Infinity until the first request: the window starts there. */
    startedAt = -Infinity;
    used = 0;
    /** Set when the sweep (or `close`) drops this entry. */
    forgotten = false;

    constructor(
      readonly keyId: string,
      readonly limit: number,
    ) {}

    decide(): LimitDecision {
      if (this.forgotten) {
        return this.rejoin().count();
      }
      return this.count();
    }

    /** The entry this key counts in now: this one put back, or the one `consume` made after the sweep. */
    private rejoin(): Window {
      const windows = windowsOf(this.limit);
      const current = windows.get(this.keyId);
      if (current !== undefined) {
        return current;
      }
      this.forgotten = false;
      windows.set(this.keyId, this);
      return this;
    }

    count(): LimitDecision {
      const at = now();
      if (at - this.startedAt >= windowMs) {
        this.startedAt = at;
        this.used = 0;
      }
      this.used += 1;
      const { limit } = this;
      const resetMs = this.startedAt + windowMs - at;
      const allowed = this.used <= limit;
      return { allowed, limit, remaining: allowed ? limit - this.used : 0, resetMs };
    }
  }

  function windowsOf(limit: number): Map<string, Window> {
    let windows = byLimit.get(limit);
    if (windows === undefined) {
      windows = new Map();
      byLimit.set(limit, windows);
    }
    return windows;
  }

  function entryOf(keyId: string, limit: number): Window {
    const windows = windowsOf(limit);
    let window = windows.get(keyId);
    if (window === undefined) {
      window = new Window(keyId, limit);
      windows.set(keyId, window);
    }
    return window;
  }

  const sweep = setInterval(() => {
    const at = now();
    for (const windows of byLimit.values()) {
      for (const [keyId, window] of windows) {
        if (at - window.startedAt >= 2 * windowMs) {
          window.forgotten = true;
          windows.delete(keyId);
        }
      }
    }
  }, windowMs);
  sweep.unref();

  return {
    consume: (keyId, limit) => entryOf(keyId, limit).count(),
    windowFor: entryOf,
    size() {
      let n = 0;
      for (const windows of byLimit.values()) {
        n += windows.size;
      }
      return n;
    },
    close() {
      clearInterval(sweep);
      for (const windows of byLimit.values()) {
        for (const window of windows.values()) {
          window.forgotten = true;
        }
      }
      byLimit.clear();
    },
  };
}
