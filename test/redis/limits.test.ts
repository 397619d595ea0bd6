import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createApp } from '../../src/app';
import { createRlfLimiter } from '../../src/limits/rlf-limiter';
import type { RlfLimiter } from '../../src/limits/rlf-limiter';
import { connectRedis } from '../../src/redis/connection';
import type { RedisLink } from '../../src/redis/connection';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { captureLogger } from '../helpers/log-capture';
import { FixedSource, HEADER } from '../helpers/fixed-source';

import { REDIS_URL, redisReachable } from './harness';

const KEY = 'sk-convergence-abababab-0000-4000-8000-000000000001';

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Several sheetgate instances (each its own gate, limiter and app) sharing one Redis, as behind a load balancer. */
describe('rate limits shared through Redis', () => {
  let reachable = false;
  const handles: RedisLink[] = [];
  const limiters: RlfLimiter[] = [];
  const gates: Sheetgate[] = [];
  const { logger, capture } = captureLogger();

  beforeAll(async () => {
    reachable = await redisReachable('test/redis/limits.test.ts');
  });

  afterEach(async () => {
    await Promise.all(gates.splice(0).map((g) => g.close()));
    await Promise.all(handles.splice(0).map((h) => h.close()));
    limiters.length = 0;
  });

  async function instances(n: number, url: string, prefix: string): Promise<Server[]> {
    const apps: Server[] = [];
    for (let i = 0; i < n; i++) {
      const handle = connectRedis(url, { logger });
      handles.push(handle);
      const limiter = createRlfLimiter({ redis: handle.client, prefix, logger });
      limiters.push(limiter);
      const gate = sheetgate({
        source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, 30]]),
        logger,
        limiter,
      });
      gates.push(gate);
      await gate.ready();
      apps.push(createApp({ gate, logger }).listen(0, '127.0.0.1'));
    }
    return apps;
  }

  it('three instances, 120 concurrent requests spread across them, limit 30 → exactly 30 succeed in total', async () => {
    if (!reachable) {
      return;
    }
    const prefix = `sheetgate-test:${randomUUID()}`;
    const servers = await instances(3, REDIS_URL, prefix);
    // Every client connected before the burst: a command sent earlier fails over to the per-instance insurance limiter.
    await Promise.all(
      handles.map(({ client }) =>
        client.status === 'ready' ? Promise.resolve() : new Promise((resolve) => client.once('ready', resolve)),
      ),
    );
    try {
      const statuses = await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          request(servers[i % 3] as Server)
            .get('/api/hello')
            .set('X-API-Key', KEY)
            .then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(30);
      expect(statuses.filter((s) => s === 429)).toHaveLength(90);
      expect(limiters.map((l) => l.insurance())).toEqual([false, false, false]);
    } finally {
      await Promise.all(servers.map(closeServer));
      const cleanup = new Redis(REDIS_URL);
      const keys = await cleanup.keys(`${prefix}*`);
      expect(keys.length).toBeGreaterThan(0); // the limit really lived in Redis
      expect(keys.join(' ')).not.toContain(KEY); // keyed by key id, never the key
      await cleanup.del(...keys);
      cleanup.disconnect();
    }
  });

  it('keeps serving with per-instance limits when Redis is unreachable, and says so', async () => {
    const servers = await instances(1, 'redis://127.0.0.1:1', `sheetgate-test:${randomUUID()}`);
    try {
      const statuses = await Promise.all(
        Array.from({ length: 40 }, () =>
          request(servers[0] as Server)
            .get('/api/hello')
            .set('X-API-Key', KEY)
            .then((r) => r.status),
        ),
      );
      // The in-memory insurance limiter still enforces the limit on this instance.
      expect(statuses.filter((s) => s === 200)).toHaveLength(30);
      expect(handles[0]?.connected()).toBe(false);
      expect(limiters[0]?.insurance()).toBe(true);
      // Once per transition, never per request (40 requests above).
      expect(capture.lines.filter((l) => l.includes('rate limits fall back to per-instance memory'))).toHaveLength(1);
      expect(capture.lines.filter((l) => l.includes('Redis unavailable'))).toHaveLength(1);
    } finally {
      await Promise.all(servers.map(closeServer));
    }
  });
});
