import { Redis } from 'ioredis';
import type { Logger } from '../log';

/** What `/auth/status` shows about Redis. */
export interface RedisStatus {
  readonly connected: boolean;
  /** While disconnected, limits are enforced per instance by the in-memory insurance limiter (DESIGN §4). */
  readonly limits: 'shared' | 'per-instance';
}

export interface RedisHandle {
  readonly client: Redis;
  status(): RedisStatus;
  close(): Promise<void>;
}

/**
 * Connects to `REDIS_URL` so that a dead Redis fails fast instead of holding requests: no offline queue (a command
 * while disconnected rejects at once, and rate-limiter-flexible falls back to its insurance limiter), one retry per
 * command, a 2 s connect timeout, and reconnection with backoff up to 5 s. Connection changes are logged once each,
 * not per request.
 */
export function connectRedis(url: string, logger: Logger, onError?: () => void): RedisHandle {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 5000),
  });
  let down = false;
  client.on('ready', () => {
    if (down) {
      logger.info('Redis reconnected: rate limits are shared again');
    }
    down = false;
  });
  client.on('error', (err: Error) => {
    onError?.();
    if (!down) {
      logger.warn(`Redis unavailable (${err.message}): rate limits fall back to per-instance memory until it returns`);
    }
    down = true;
  });
  return {
    client,
    status: () => {
      const connected = client.status === 'ready';
      return { connected, limits: connected ? 'shared' : 'per-instance' };
    },
    close: async () => {
      if (client.status === 'ready') {
        await client.quit();
      } else {
        client.disconnect();
      }
    },
  };
}
