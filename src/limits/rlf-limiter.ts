import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../log';
import type { LimitDecision, Limiter } from './limiter';
import { createWindowCounter } from './window-counter';

const WINDOW_SEC = 60;

export interface RlfLimiterOptions {
  /** Shared Redis client; undefined = in-memory (per process). */
  readonly redis?: Redis;
  /** Redis key prefix, so several deployments can share one Redis. Defaults to `sheetgate:rl`. */
  readonly prefix?: string;
  /** Logs the switch to the insurance limiter and back, once per transition (never per request). */
  readonly logger?: Logger;
  /** Called for every Redis command that failed and was answered by the insurance limiter (metrics). */
  readonly onRedisError?: (operation: 'limiter') => void;
}

/** The limiter plus what `/auth/status` shows about it. */
export interface RlfLimiter extends Limiter {
  /** True while the last Redis consume failed: limits hold per instance, not across instances. */
  insurance(): boolean;
}

/**
 * The {@link Limiter} behind sheetgate's per-minute limits: `limit` points per 60 s per key id.
 * In memory (no Redis), a {@link createWindowCounter} counts and decides each request synchronously. With Redis,
 * rate-limiter-flexible's `RateLimiterRedis` shares the count between instances (one per distinct limit value: rlf
 * limiters have a fixed number of points, and a sheet holds a handful), and the in-memory counter is the insurance that
 * answers while Redis fails: the same role as rlf's `insuranceLimiter` option, done here so that the switch is
 * observable — logged once when it starts and once when Redis answers again, and counted per failed command. While
 * insured, limits hold per instance (N instances allow up to N × limit); docs/scaling.md explains the choice.
 */
export function createRlfLimiter(options: RlfLimiterOptions = {}): RlfLimiter {
  const prefix = options.prefix ?? 'sheetgate:rl';
  const memory = createWindowCounter(WINDOW_SEC * 1000);
  const { redis } = options;
  const shared = new Map<number, RateLimiterRedis>();
  let insured = false;

  function sharedFor(client: Redis, limit: number): RateLimiterRedis {
    let limiter = shared.get(limit);
    if (limiter === undefined) {
      limiter = new RateLimiterRedis({
        points: limit,
        duration: WINDOW_SEC,
        keyPrefix: `${prefix}:${limit}`,
        storeClient: client,
        // Not ready → reject at once (insurance) rather than wait on a connection that is not there.
        rejectIfRedisNotReady: true,
      });
      shared.set(limit, limiter);
    }
    return limiter;
  }

  function switchTo(next: boolean, err?: unknown): void {
    if (next === insured) {
      return;
    }
    insured = next;
    if (next) {
      const why = err instanceof Error ? err.message : String(err);
      options.logger?.warn(`rate limits fall back to per-instance memory: Redis failed (${why})`);
    } else {
      options.logger?.info('rate limits are shared through Redis again');
    }
  }

  function consumeInto(keyId: string, limit: number, decided: (decision: LimitDecision) => void): void {
    // Never `failed`: memory counting cannot fail, and a Redis failure is answered by the insurance counter.
    if (redis === undefined) {
      decided(memory.consume(keyId, limit));
      return;
    }
    sharedFor(redis, limit)
      .consume(keyId)
      .then(
        (res) => {
          switchTo(false);
          decided({ allowed: true, limit, remaining: res.remainingPoints, resetMs: res.msBeforeNext });
        },
        (err: unknown) => {
          // rlf rejects with a RateLimiterRes (not an Error) when the budget is spent.
          if (err instanceof RateLimiterRes) {
            switchTo(false);
            decided({ allowed: false, limit, remaining: 0, resetMs: err.msBeforeNext });
            return;
          }
          options.onRedisError?.('limiter');
          switchTo(true, err);
          decided(memory.consume(keyId, limit));
        },
      );
  }

  return {
    consume: (keyId, limit) =>
      new Promise((resolve) => {
        consumeInto(keyId, limit, resolve);
      }),
    consumeInto,
    // In memory a key's window is handed out to be kept beside the key; with Redis every request asks the shared count.
    deciderFor: (keyId, limit) => (redis === undefined ? memory.windowFor(keyId, limit) : undefined),
    insurance: () => insured,
    async close(): Promise<void> {
      memory.close();
      shared.clear();
      return Promise.resolve();
    },
  };
}
