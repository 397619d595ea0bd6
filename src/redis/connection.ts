import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { Logger } from '../log';
import { maskUrlCredentials } from '../mask-url';

export interface RedisLinkOptions {
  readonly logger: Logger;
  /** Called for every connection error (metrics: `sheetgate_redis_errors_total{operation="connection"}`). */
  readonly onError?: (operation: string) => void;
  /** Per-command timeout. Defaults to `1000` ms. */
  readonly commandTimeoutMs?: number;
}

/** The shared Redis connection of one instance, with its up/down state. */
export interface RedisLink {
  /** Commands (limiter, usage, lease, table). Fails fast while disconnected: no offline queue. */
  readonly client: Redis;
  /** `REDIS_URL` with its password masked, for logs and status. */
  readonly where: string;
  connected(): boolean;
  /** A second connection for SUBSCRIBE (a subscribed connection can run no other command); made on first use. */
  subscriber(): Redis;
  close(): Promise<void>;
}

/** Reconnect after 100 ms, 200 ms, ... capped at 5 s: a dead Redis costs a connect attempt every 5 s, no more. */
export function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 100, 5000);
}

/**
 * Connects to `REDIS_URL` so that a dead or stalled Redis fails fast instead of holding requests: no offline
 * queue (a command while disconnected rejects at once, and the caller falls back: insurance limiter, local usage
 * deltas, Google), one retry per command, a 2 s connect timeout, a 1 s command timeout (a partition that drops packets
 * without a reset would otherwise leave commands pending until TCP gives up) and reconnection with backoff up to 5 s.
 * Connection changes are logged once each, never per request or per reconnect attempt.
 */
export function connectRedis(url: string, options: RedisLinkOptions): RedisLink {
  const { logger, onError } = options;
  const where = maskUrlCredentials(url);
  const common: RedisOptions = {
    connectTimeout: 2000,
    retryStrategy: reconnectDelay,
    // Our scripts are idempotent (push ids, flush ids) so a resend after a reconnect never counts twice.
    autoResendUnfulfilledCommands: true,
  };
  const client = new Redis(url, {
    ...common,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? 1000,
  });
  let sub: Redis | undefined;
  let state: 'connecting' | 'up' | 'down' | 'closed' = 'connecting';

  client.on('ready', () => {
    if (state === 'down') {
      logger.info(`Redis at ${where} is back: limits, usage and the key table are shared again`);
    } else {
      logger.info(`Redis connected at ${where}: limits, usage and the key table are shared`);
    }
    state = 'up';
  });
  client.on('error', (err: Error) => {
    onError?.('connection');
    if (state === 'connecting' || state === 'up') {
      logger.warn(
        `Redis unavailable at ${where} (${maskUrlCredentials(err.message)}): serving with per-instance limits, usage deltas kept locally until it returns`,
      );
      state = 'down';
    }
  });
  client.on('close', () => {
    if (state === 'up') {
      logger.warn(`Redis connection to ${where} closed: per-instance limits until it returns`);
      state = 'down';
    }
  });

  return {
    client,
    where,
    connected: () => client.status === 'ready',
    subscriber: () => {
      // Offline queue on, and no retry limit: SUBSCRIBE waits for the connection and is renewed after each reconnect.
      if (sub === undefined) {
        sub = new Redis(url, { ...common, enableOfflineQueue: true, maxRetriesPerRequest: null });
        sub.on('error', () => undefined); // the command connection already logs and counts the outage
      }
      return sub;
    },
    close: async () => {
      state = 'closed'; // our own quit is not an outage
      await Promise.all(
        [client, sub].map(async (c) => {
          if (c === undefined) {
            return;
          }
          if (c.status === 'ready') {
            await c.quit().catch(() => c.disconnect());
          } else {
            c.disconnect();
          }
        }),
      );
    },
  };
}
