import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createApp } from '../../src/app';
import { connectRedis } from '../../src/limits/redis-client';
import type { RedisHandle } from '../../src/limits/redis-client';
import { createRlfLimiter } from '../../src/limits/rlf-limiter';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { captureLogger } from '../helpers/log-capture';
import { FixedSource, HEADER } from '../helpers/fixed-source';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const KEY = 'sk-convergence-abababab-0000-4000-8000-000000000001';

async function redisReachable(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** Several sheetgate instances (each its own gate, limiter and app) sharing one Redis, as behind a load balancer. */
describe('rate limits shared through Redis (issue 6)', () => {
  let reachable = false;
  const handles: RedisHandle[] = [];
  const gates: Sheetgate[] = [];
  const { logger, capture } = captureLogger();

  beforeAll(async () => {
    reachable = await redisReachable();
    if (!reachable) {
      console.warn(
        `Redis tests skipped: no Redis at ${REDIS_URL} (start one: redis-server --daemonize yes --port 6379)`,
      );
    }
  });

  afterEach(async () => {
    await Promise.all(gates.splice(0).map((g) => g.close()));
    await Promise.all(handles.splice(0).map((h) => h.close()));
  });

  async function instances(n: number, url: string, prefix: string) {
    const apps = [];
    for (let i = 0; i < n; i++) {
      const handle = connectRedis(url, logger);
      handles.push(handle);
      const gate = sheetgate({
        source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, 30]]),
        logger,
        limiter: createRlfLimiter({ redis: handle.client, prefix }),
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
    await new Promise((r) => setTimeout(r, 200)); // let the clients connect
    try {
      const statuses = await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          request(servers[i % 3])
            .get('/api/hello')
            .set('X-API-Key', KEY)
            .then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(30);
      expect(statuses.filter((s) => s === 429)).toHaveLength(90);
    } finally {
      servers.forEach((s) => s.close());
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
          request(servers[0])
            .get('/api/hello')
            .set('X-API-Key', KEY)
            .then((r) => r.status),
        ),
      );
      // The in-memory insurance limiter still enforces the limit on this instance.
      expect(statuses.filter((s) => s === 200)).toHaveLength(30);
      expect(handles[0]?.status()).toEqual({ connected: false, limits: 'per-instance' });
      expect(capture.text()).toMatch(/Redis unavailable .*per-instance/);
    } finally {
      servers.forEach((s) => s.close());
    }
  });
});
