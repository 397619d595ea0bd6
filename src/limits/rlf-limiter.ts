import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '../log';
import type { LimitDecision, Limiter } from './limiter';

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

interface Pair {
  readonly shared: RateLimiterAbstract | undefined;
  readonly memory: RateLimiterMemory;
}

/**
 * rate-limiter-flexible behind the {@link Limiter} port: `limit` points per 60 s per key id.
 * rlf limiters have a fixed number of points, so one limiter is built per distinct limit value (a sheet holds a
 * handful) and cached. With Redis each one has an in-memory insurance limiter that answers while Redis
 * fails: the same role as rlf's `insuranceLimiter` option, done here so that the switch is observable — logged once
 * when it starts and once when Redis answers again, and counted per failed command. While insured, limits hold per
 * instance (N instances allow up to N × limit); docs/scaling.md explains the choice.
 */
export function createRlfLimiter(options: RlfLimiterOptions = {}): RlfLimiter {
  const prefix = options.prefix ?? 'sheetgate:rl';
  const byLimit = new Map<number, Pair>();
  let insured = false;

  function pairFor(limit: number): Pair {
    let pair = byLimit.get(limit);
    if (pair === undefined) {
      const common = { points: limit, duration: WINDOW_SEC, keyPrefix: `${prefix}:${limit}` };
      pair = {
        // Each limit has a store of its own, so in memory the key id alone is the key: no prefix joined to it on every
        // request, and the same string every time, whose hash V8 keeps.
        memory: new RateLimiterMemory({ ...common, keyPrefix: '' }),
        shared:
          options.redis === undefined
            ? undefined
            : // Not ready → reject at once (insurance) rather than wait on a connection that is not there.
              new RateLimiterRedis({ ...common, storeClient: options.redis, rejectIfRedisNotReady: true }),
      };
      byLimit.set(limit, pair);
    }
    return pair;
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

  function consumeIn(pair: Pair, keyId: string): Promise<RateLimiterRes> {
    return pair.shared === undefined ? pair.memory.consume(keyId) : consumeShared(pair, pair.shared, keyId);
  }

  async function consumeShared(pair: Pair, shared: RateLimiterAbstract, keyId: string): Promise<RateLimiterRes> {
    try {
      const res = await shared.consume(keyId);
      switchTo(false);
      return res;
    } catch (err: unknown) {
      if (err instanceof RateLimiterRes) {
        switchTo(false);
        throw err;
      }
      options.onRedisError?.('limiter');
      switchTo(true, err);
      return pair.memory.consume(keyId);
    }
  }

  function consumeInto(
    keyId: string,
    limit: number,
    decided: (decision: LimitDecision) => void,
    failed: (err: unknown) => void,
  ): void {
    // The caller's callbacks run in the reaction to rlf's own promise: no promise of ours in between, on every
    // accepted request.
    consumeIn(pairFor(limit), keyId).then(
      (res) => {
        decided({ allowed: true, limit, remaining: res.remainingPoints, resetMs: res.msBeforeNext });
      },
      (err: unknown) => {
        // rlf rejects with a RateLimiterRes (not an Error) when the budget is spent.
        if (err instanceof RateLimiterRes) {
          decided({ allowed: false, limit, remaining: 0, resetMs: err.msBeforeNext });
        } else {
          failed(err);
        }
      },
    );
  }

  return {
    consume: (keyId, limit) =>
      new Promise((resolve, reject) => {
        consumeInto(keyId, limit, resolve, reject);
      }),
    consumeInto,
    insurance: () => insured,
    async close(): Promise<void> {
      byLimit.clear();
      return Promise.resolve();
    },
  };
}
