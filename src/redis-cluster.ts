import type { RefreshTrigger } from './http/refresh-route';
import type { ReloadSlot } from './keys/reload-gate';
import type { SheetSource } from './keys/sheet-source';
import { RedisQuotaCounter } from './limits/redis-quota-counter';
import { createRlfLimiter } from './limits/rlf-limiter';
import type { RlfLimiter } from './limits/rlf-limiter';
import type { Logger } from './log';
import { connectRedis } from './redis/connection';
import type { RedisLink } from './redis/connection';
import { Lease } from './redis/lease';
import { RefreshBus } from './redis/refresh-bus';
import type { Refreshable } from './redis/refresh-bus';
import { RedisReloadSlot } from './redis/reload-slot';
import { SharedSource } from './redis/shared-source';
import { redisStatusSection } from './redis/status-section';
import { RedisUsageLedger } from './usage/redis-ledger';

export interface RedisClusterOptions {
  /** `REDIS_URL`. */
  readonly url: string;
  /** Keys of one deployment: `redisNamespace` of its sheet (src/redis/namespace.ts). */
  readonly namespace: string;
  readonly logger: Logger;
  /** The Google adapter as the key store would read it alone: only the leader reads it, the others read Redis. */
  readonly sheet: SheetSource;
  /** `API_KEY_CACHE_DURATION` in ms: a table older than this in Redis is not used. */
  readonly maxAgeMs: number;
  /** Leader lease lifetime. Defaults to `30000` ms; keep it ≥ 2 × the Sheets call timeout (10 s). */
  readonly leaseTtlMs?: number;
  /** Rate-limit key prefix. Defaults to the deployment's namespace + `:rl`, so deployments sharing a Redis never share counters. */
  readonly limiterPrefix?: string;
  /** How often local usage deltas go to Redis. Defaults to `2000` ms. */
  readonly pushIntervalMs?: number;
  /** `Metrics.redisError`: every failed Redis command, by operation. */
  readonly onRedisError?: (operation: string) => void;
  /** `REFRESH_MIN_INTERVAL` in ms: the leader's forced reads are never closer together. Defaults to `10000` ms. */
  readonly refreshMinIntervalMs?: number;
}

/** Everything an instance shares with the others through one Redis: limits, quotas, usage and the key table. */
export interface RedisCluster {
  readonly link: RedisLink;
  readonly lease: Lease;
  /** Redis rate limiter (by key id) with the in-memory insurance limiter. */
  readonly limiter: RlfLimiter;
  /** Day/month quota counters shared by every instance (`<namespace>:quota:<keyId>:<period>`), memory insurance. */
  readonly quotas: RedisQuotaCounter;
  /** The key store's source: the leader reads Google, the others read its table from Redis. */
  readonly source: SharedSource;
  /** Usage pooled in Redis, written back to the sheet by the leader only: the usage flusher's ledger. */
  readonly ledger: RedisUsageLedger;
  /** Reloads `store` whenever the leader announces a new table. */
  follow(store: Refreshable): void;
  /** Every instance reloads now: the reload of a `ReloadGate` (which the refresh route and change detection use). */
  readonly refresh: RefreshTrigger;
  /** The deployment's reload slot, so that the gate's bound holds for all instances together. */
  readonly reloadSlot: ReloadSlot;
  /** The `redis` section of `/auth/status`. */
  readonly status: () => Record<string, unknown>;
  /** Releases the lease (so another instance takes over at once), unsubscribes, disconnects. Call after the flusher stopped. */
  close(): Promise<void>;
}

/**
 * Connects to Redis and builds the shared pieces around one connection and one leader lease, all at once. The lease
 * is contended at once; the instance that holds it reads the sheet and writes usage back for all.
 */
export function startRedisCluster(options: RedisClusterOptions): RedisCluster {
  const { logger, namespace, onRedisError } = options;
  const onError = onRedisError === undefined ? {} : { onError: onRedisError };
  const link = connectRedis(options.url, { logger, ...onError });
  const lease = new Lease({
    client: link.client,
    key: `${namespace}:leader`,
    logger,
    ...(options.leaseTtlMs === undefined ? {} : { ttlMs: options.leaseTtlMs }),
    ...onError,
  });
  lease.start();
  const limiter = createRlfLimiter({
    redis: link.client,
    logger,
    prefix: options.limiterPrefix ?? `${namespace}:rl`,
    ...(onRedisError === undefined ? {} : { onRedisError }),
  });
  const quotas = new RedisQuotaCounter({
    redis: link.client,
    prefix: `${namespace}:quota`,
    logger,
    ...(onRedisError === undefined ? {} : { onRedisError }),
  });
  const source = new SharedSource({
    inner: options.sheet,
    client: link.client,
    namespace,
    lease,
    maxAgeMs: options.maxAgeMs,
    logger,
    ...(onRedisError === undefined ? {} : { onRedisError }),
  });
  const ledger = new RedisUsageLedger(link.client, namespace, lease, {
    logger,
    ...(options.pushIntervalMs === undefined ? {} : { pushIntervalMs: options.pushIntervalMs }),
    ...onError,
  });
  const bus = new RefreshBus({
    client: link.client,
    subscriber: link.subscriber(),
    source,
    lease,
    logger,
    // The gate spaces reloads by the whole interval; the leader's own bound only stops stray publishes.
    minForcedIntervalMs: Math.min(5000, options.refreshMinIntervalMs ?? 10_000),
  });
  return {
    link,
    lease,
    limiter,
    quotas,
    source,
    ledger,
    follow: (store) => {
      bus.follow(store);
    },
    refresh: () => bus.request(),
    reloadSlot: new RedisReloadSlot(link.client, namespace),
    status: redisStatusSection({ link, limiter, lease, usage: ledger, source }),
    async close() {
      bus.close();
      await lease.release();
      await limiter.close();
      await quotas.close();
      await link.close();
    },
  };
}
