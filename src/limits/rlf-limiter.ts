import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { LimitDecision, Limiter } from './limiter';

const WINDOW_SEC = 60;

export interface RlfLimiterOptions {
  /** Shared Redis client; undefined = in-memory (per process). */
  readonly redis?: Redis;
  /** Redis key prefix, so several deployments can share one Redis. Defaults to `sheetgate:rl`. */
  readonly prefix?: string;
}

/**
 * rate-limiter-flexible behind the {@link Limiter} port: `limit` points per 60 s per key id.
 * rlf limiters have a fixed number of points, so one limiter is built per distinct limit value (a sheet holds a
 * handful) and cached. With Redis, each one is insured by an in-memory limiter that takes over while Redis fails
 * (DESIGN §4): limits then hold per instance instead of globally.
 */
export function createRlfLimiter(options: RlfLimiterOptions = {}): Limiter {
  const prefix = options.prefix ?? 'sheetgate:rl';
  const byLimit = new Map<number, RateLimiterAbstract>();

  function limiterFor(limit: number): RateLimiterAbstract {
    let limiter = byLimit.get(limit);
    if (limiter === undefined) {
      const common = { points: limit, duration: WINDOW_SEC, keyPrefix: `${prefix}:${limit}` };
      limiter =
        options.redis === undefined
          ? new RateLimiterMemory(common)
          : new RateLimiterRedis({
              ...common,
              storeClient: options.redis,
              insuranceLimiter: new RateLimiterMemory(common),
            });
      byLimit.set(limit, limiter);
    }
    return limiter;
  }

  return {
    async consume(keyId: string, limit: number): Promise<LimitDecision> {
      try {
        const res = await limiterFor(limit).consume(keyId);
        return { allowed: true, limit, remaining: res.remainingPoints, resetMs: res.msBeforeNext };
      } catch (err: unknown) {
        // rlf rejects with a RateLimiterRes (not an Error) when the budget is spent (STYLE.md trap).
        if (err instanceof RateLimiterRes) {
          return { allowed: false, limit, remaining: 0, resetMs: err.msBeforeNext };
        }
        throw err;
      }
    },
    async close(): Promise<void> {
      byLimit.clear();
      return Promise.resolve();
    },
  };
}
