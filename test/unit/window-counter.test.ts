import fc from 'fast-check';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { KeyDecider } from '../../src/limits/limiter';
import { createWindowCounter } from '../../src/limits/window-counter';

const WINDOW_MS = 60_000;

describe('createWindowCounter', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: Date.parse('2026-12-05T12:00:00Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('allows `limit` requests per window from a key’s first one, then refuses until the window ends', () => {
    const counter = createWindowCounter(WINDOW_MS);
    expect(counter.consume('k1', 2)).toEqual({ allowed: true, limit: 2, remaining: 1, resetMs: 60_000 });
    jest.advanceTimersByTime(10_000);
    expect(counter.consume('k1', 2)).toEqual({ allowed: true, limit: 2, remaining: 0, resetMs: 50_000 });
    expect(counter.consume('k1', 2)).toEqual({ allowed: false, limit: 2, remaining: 0, resetMs: 50_000 });
    expect(counter.consume('k2', 2)).toMatchObject({ allowed: true, remaining: 1 });
    // Another limit for the same key counts apart, as one rate-limiter-flexible limiter per limit did.
    expect(counter.consume('k1', 5)).toMatchObject({ allowed: true, remaining: 4 });
    jest.advanceTimersByTime(50_000);
    expect(counter.consume('k1', 2)).toEqual({ allowed: true, limit: 2, remaining: 1, resetMs: 60_000 });
    counter.close();
  });

  it('forgets, once per window, the windows that ended a whole window ago, and nothing else', () => {
    const counter = createWindowCounter(WINDOW_MS);
    counter.consume('old', 10);
    jest.advanceTimersByTime(30_000);
    counter.consume('new', 10);
    expect(counter.size()).toBe(2);
    jest.advanceTimersByTime(30_000); // the first sweep: `old` has just ended, `new` has 30 s left
    expect(counter.size()).toBe(2);
    jest.advanceTimersByTime(60_000); // `old` ended a window ago, `new` 30 s ago
    expect(counter.size()).toBe(1);
    // A key back within two windows starts a new window in its kept entry.
    expect(counter.consume('new', 10)).toEqual({ allowed: true, limit: 10, remaining: 9, resetMs: 60_000 });
    jest.advanceTimersByTime(60_000);
    expect(counter.size()).toBe(1);
    jest.advanceTimersByTime(60_000);
    expect(counter.size()).toBe(0);
    counter.consume('new', 10);
    counter.close();
    expect(counter.size()).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('counts a kept window and `consume` in one window, across the sweep', () => {
    const counter = createWindowCounter(WINDOW_MS);
    const kept = counter.windowFor('k', 3);
    expect(counter.size()).toBe(1);
    expect(kept.decide()).toEqual({ allowed: true, limit: 3, remaining: 2, resetMs: 60_000 });
    expect(counter.consume('k', 3)).toMatchObject({ allowed: true, remaining: 1 });
    // Idle for three windows: the sweep forgets the window; `consume` then makes the key a new one, and the kept
    // window counts in it.
    jest.advanceTimersByTime(180_000);
    expect(counter.size()).toBe(0);
    expect(counter.consume('k', 3)).toMatchObject({ allowed: true, remaining: 2 });
    expect(kept.decide()).toMatchObject({ allowed: true, remaining: 1 });
    expect(counter.consume('k', 3)).toMatchObject({ allowed: true, remaining: 0 });
    expect(kept.decide()).toMatchObject({ allowed: false, remaining: 0 });
    counter.close();
  });

  it('puts a kept window forgotten by the sweep back on its next request', () => {
    const counter = createWindowCounter(WINDOW_MS);
    const kept = counter.windowFor('k', 2);
    kept.decide();
    jest.advanceTimersByTime(180_000);
    expect(counter.size()).toBe(0);
    expect(kept.decide()).toMatchObject({ allowed: true, remaining: 1 });
    expect(counter.size()).toBe(1);
    expect(counter.consume('k', 2)).toMatchObject({ allowed: true, remaining: 0 });
    expect(kept.decide()).toMatchObject({ allowed: false, remaining: 0 });
    counter.close();
  });

  it('decides every request as rate-limiter-flexible’s RateLimiterMemory does, through `consume` or a kept window', async () => {
    const step = fc.record({
      key: fc.constantFrom('a', 'b', 'c'),
      limit: fc.constantFrom(1, 2, 3),
      // Window ends exactly, a millisecond either side, anywhere, and idle long enough for the sweep to forget.
      waitMs: fc.oneof(
        fc.constantFrom(0, 1, 30_000, 59_999, 60_000, 120_000, 180_000),
        fc.integer({ min: 0, max: 70_000 }),
      ),
      kept: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 60 }), async (steps) => {
        const counter = createWindowCounter(WINDOW_MS);
        const theirs = new Map<number, RateLimiterMemory>();
        const keptWindows = new Map<string, KeyDecider>();
        try {
          for (const { key, limit, waitMs, kept } of steps) {
            jest.advanceTimersByTime(waitMs);
            let rlf = theirs.get(limit);
            if (rlf === undefined) {
              rlf = new RateLimiterMemory({ points: limit, duration: WINDOW_MS / 1000 });
              theirs.set(limit, rlf);
            }
            const expected = await rlf.consume(key).then(
              (res) => ({ allowed: true, remaining: res.remainingPoints, resetMs: res.msBeforeNext }),
              (res: unknown) => {
                if (!(res instanceof RateLimiterRes)) {
                  throw res;
                }
                return { allowed: false, remaining: 0, resetMs: res.msBeforeNext };
              },
            );
            let window = keptWindows.get(`${key}/${limit}`);
            if (kept && window === undefined) {
              window = counter.windowFor(key, limit);
              keptWindows.set(`${key}/${limit}`, window);
            }
            const decision = kept && window !== undefined ? window.decide() : counter.consume(key, limit);
            expect(decision).toEqual({ ...expected, limit });
          }
        } finally {
          counter.close();
          jest.clearAllTimers();
        }
      }),
      { numRuns: 1000 },
    );
  });
});
