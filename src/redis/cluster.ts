import { createHash } from 'node:crypto';
import type { StatusSection } from '../http/status';
import { SharedSource } from './shared-source';
import type { SheetSource } from '../keys/sheet-source';
import type { SheetsTarget } from '../keys/sheets-error';
import { RedisQuotaCounter } from '../limits/redis-quota-counter';
import { createRlfLimiter } from '../limits/rlf-limiter';
import type { RlfLimiter } from '../limits/rlf-limiter';
import type { Logger } from '../log';
import { UsageFlusher } from '../usage/flusher';
import type { UsageFlusherOptions } from '../usage/flusher';
import { RedisUsageLedger } from '../usage/redis-ledger';
import { connectRedis } from './connection';
import type { RedisLink } from './connection';
import { Lease } from './lease';
import { RefreshBus } from './refresh-bus';
import type { Refreshable } from './refresh-bus';
import type { RefreshTrigger } from './refresh-route';
import { RedisReloadSlot } from './reload-slot';
import type { ReloadSlot } from '../keys/reload-gate';
import { redisStatusSection } from './status-section';

export interface RedisClusterOptions {
  /** `REDIS_URL`. */
  readonly url: string;
  /** Keys of one deployment: {@link redisNamespace} of its sheet. */
  readonly namespace: string;
  readonly logger: Logger;
  /** Leader lease lifetime. Defaults to `30000` ms; keep it ≥ 2 × the Sheets call timeout (10 s). */
  readonly leaseTtlMs?: number;
  /** Rate-limit key prefix. Defaults to `sheetgate:rl`. */
  readonly limiterPrefix?: string;
  /** `Metrics.redisError`: every failed Redis command, by operation. */
  readonly onRedisError?: (operation: string) => void;
  /** `REFRESH_MIN_INTERVAL` in ms: the leader's forced reads are never closer together. Defaults to `10000` ms. */
  readonly refreshMinIntervalMs?: number;
}

export type ClusterFlusherOptions = Omit<UsageFlusherOptions, 'ledger'> & {
  /** How often local deltas go to Redis. Defaults to `2000` ms. */
  readonly pushIntervalMs?: number;
};

/** Everything an instance needs to share limits, usage and the key table through one Redis (issue 6). */
export interface RedisCluster {
  readonly link: RedisLink;
  readonly lease: Lease;
  /** Redis rate limiter (by key id) with the in-memory insurance limiter. */
  readonly limiter: RlfLimiter;
  /** Day/month quota counters shared by every instance (`<namespace>:quota:<keyId>:<period>`), memory insurance. */
  readonly quotas: RedisQuotaCounter;
  /** Wraps the Google adapter: only the leader reads Google, the others read its table from Redis. */
  sharedSource(inner: SheetSource, maxAgeMs: number): SharedSource;
  /** Usage pooled in Redis, written back by the leader only. */
  usageFlusher(options: ClusterFlusherOptions): UsageFlusher;
  /** Reloads `store` whenever the leader announces a new table (call once the gate exists). */
  follow(store: Refreshable): void;
  /** Every instance reloads now: the reload of a `ReloadGate` (which `refreshRoutes` and change detection go through). */
  readonly refresh: RefreshTrigger;
  /** The deployment's reload slot, so that the gate's bound holds for all instances together. */
  readonly reloadSlot: ReloadSlot;
  /** The `redis` section of `/auth/status`. */
  readonly status: StatusSection;
  /** Releases the lease (so another instance takes over at once), unsubscribes, disconnects. Call after the flusher stopped. */
  close(): Promise<void>;
}

/**
 * The Redis keys of one deployment: `sheetgate:{<12 hex of sha256(sheet id, tab)>}`. Deployments of different sheets
 * can share a Redis; the braces make every key of one deployment one Redis Cluster hash slot, which the multi-key Lua
 * scripts need.
 */
export function redisNamespace(target: Pick<SheetsTarget, 'spreadsheetId' | 'sheetName'>): string {
  const digest = createHash('sha256').update(`${target.spreadsheetId}\n${target.sheetName}`).digest('hex');
  return `sheetgate:{${digest.slice(0, 12)}}`;
}

/**
 * Connects to Redis and builds the shared pieces around one connection and one leader lease (issue 6). The lease is
 * contended at once; the instance that holds it reads the sheet and writes usage back for all.
 */
export function startRedisCluster(options: RedisClusterOptions): RedisCluster {
  const { logger, namespace, onRedisError } = options;
  const link = connectRedis(options.url, { logger, ...(onRedisError === undefined ? {} : { onError: onRedisError }) });
  const lease = new Lease({
    client: link.client,
    key: `${namespace}:leader`,
    logger,
    ...(options.leaseTtlMs === undefined ? {} : { ttlMs: options.leaseTtlMs }),
    ...(onRedisError === undefined ? {} : { onError: onRedisError }),
  });
  lease.start();
  const limiter = createRlfLimiter({
    redis: link.client,
    logger,
    ...(options.limiterPrefix === undefined ? {} : { prefix: options.limiterPrefix }),
    ...(onRedisError === undefined ? {} : { onRedisError }),
  });
  const quotas = new RedisQuotaCounter({
    redis: link.client,
    prefix: `${namespace}:quota`,
    logger,
    ...(onRedisError === undefined ? {} : { onRedisError }),
  });
  let source: SharedSource | undefined;
  let ledger: RedisUsageLedger | undefined;
  let bus: RefreshBus | undefined;

  return {
    link,
    lease,
    limiter,
    quotas,
    sharedSource(inner, maxAgeMs) {
      source = new SharedSource({
        inner,
        client: link.client,
        namespace,
        lease,
        maxAgeMs,
        logger,
        ...(onRedisError === undefined ? {} : { onRedisError }),
      });
      return source;
    },
    usageFlusher({ pushIntervalMs, ...flusherOptions }) {
      ledger = new RedisUsageLedger(link.client, namespace, lease, {
        logger,
        ...(pushIntervalMs === undefined ? {} : { pushIntervalMs }),
        ...(onRedisError === undefined ? {} : { onError: onRedisError }),
      });
      return new UsageFlusher({ ...flusherOptions, ledger });
    },
    follow(store) {
      if (source === undefined) {
        throw new Error('RedisCluster.follow(): call sharedSource() first');
      }
      bus = new RefreshBus({
        client: link.client,
        subscriber: link.subscriber(),
        source,
        lease,
        logger,
        // The gate spaces reloads by the whole interval; the leader's own bound only stops stray publishes.
        minForcedIntervalMs: Math.min(5000, options.refreshMinIntervalMs ?? 10_000),
      });
      bus.follow(store);
    },
    refresh: async () => {
      if (bus === undefined) {
        throw new Error('RedisCluster.refresh(): call follow() first');
      }
      return bus.request();
    },
    reloadSlot: new RedisReloadSlot(link.client, namespace),
    status: () =>
      redisStatusSection({
        link,
        limiter,
        lease,
        ...(ledger === undefined ? {} : { usage: ledger }),
        ...(source === undefined ? {} : { source }),
      })(),
    async close() {
      bus?.close();
      await lease.release();
      await limiter.close();
      await quotas.close();
      await link.close();
    },
  };
}
