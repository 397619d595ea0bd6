import type { Server } from 'node:http';
import request from 'supertest';
import { createApp } from '../../src/app';
import { hashKey, keyIdOf } from '../../src/keys/key-id';
import { quotaWindow } from '../../src/keys/quota';
import { RedisQuotaCounter } from '../../src/limits/redis-quota-counter';
import { connectRedis } from '../../src/redis/connection';
import type { RedisLink } from '../../src/redis/connection';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { captureLogger } from '../helpers/log-capture';
import { FixedSource } from '../helpers/fixed-source';
import { REDIS_URL, redisSuite } from './harness';

const KEY = 'sk-convergence-abababab-0000-4000-8000-0000000000q1';
const HEADER = ['api_key', 'client_name', 'is_active', 'rate_limit', 'quota', 'quota_used', 'quota_period'];
const ZONE = 'Asia/Tokyo';

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Several instances (each its own gate, Redis connection and counter) sharing one Redis, behind a load balancer. */
describe('quotas shared through Redis', () => {
  const redis = redisSuite('test/redis/quota.test.ts');
  const links: RedisLink[] = [];
  const counters: RedisQuotaCounter[] = [];
  const gates: Sheetgate[] = [];
  const servers: Server[] = [];
  const { logger, capture } = captureLogger();

  afterEach(async () => {
    await Promise.all(servers.splice(0).map(closeServer));
    await Promise.all(gates.splice(0).map((g) => g.close()));
    await Promise.all(links.splice(0).map((l) => l.close()));
    counters.length = 0;
  });

  afterAll(() => {
    expect(capture.text()).not.toContain(KEY);
  });

  async function instances(n: number, url: string, quotaUsed: number | '', period: string): Promise<Server[]> {
    for (let i = 0; i < n; i++) {
      const link = connectRedis(url, { logger });
      links.push(link);
      const quotas = new RedisQuotaCounter({ redis: link.client, prefix: `${redis.prefix.namespace}:quota`, logger });
      counters.push(quotas);
      const gate = sheetgate({
        source: new FixedSource([HEADER, [KEY, 'Acme', true, 10_000, '100/day', quotaUsed, period]], ZONE),
        logger,
        quotas,
      });
      gates.push(gate);
      await gate.ready();
      servers.push(createApp({ gate, logger }).listen(0, '127.0.0.1'));
    }
    // Let the clients connect: until then the insurance counters would answer.
    for (let tries = 0; tries < 100 && !links.every((l) => l.connected()); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return servers;
  }

  const spread = (list: Server[], n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        request(list[i % list.length] as Server)
          .get('/api/hello')
          .set('X-API-Key', KEY)
          .then((r) => r.status),
      ),
    );

  it('three instances, 300 concurrent requests, quota 100/day with 40 used today → exactly 60 pass in total', async () => {
    if (!redis.reachable) {
      return;
    }
    const today = quotaWindow('day', Date.now(), ZONE).id;
    const list = await instances(3, REDIS_URL, 40, today);
    const statuses = await spread(list, 300);
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.filter((s) => s === 429)).toHaveLength(240);
    expect(counters.map((c) => c.insuranceActive())).toEqual([false, false, false]);
    const keys = await redis.client.keys(`${redis.prefix.namespace}:quota:*`);
    expect(keys).toEqual([`${redis.prefix.namespace}:quota:${keyIdOf(hashKey(KEY))}:${today}`]);
    expect(await redis.client.hget(keys[0] ?? '', 'u')).toBe('100');
    expect(await redis.client.pttl(keys[0] ?? '')).toBeGreaterThan(86_400_000); // expires a day after the period
  });

  it('a hand reset seen by one instance’s flush read gives every instance the fresh allowance', async () => {
    if (!redis.reachable) {
      return;
    }
    const today = quotaWindow('day', Date.now(), ZONE).id;
    const list = await instances(3, REDIS_URL, 100, today);
    expect(await spread(list, 3)).toEqual([429, 429, 429]);
    // The flush read finds 0 where the counter was seeded from 100: an admin's reset.
    const totals = await counters[0]?.reconcile([{ keyId: keyIdOf(hashKey(KEY)), period: today, sheetUsed: 0 }]);
    expect([...(totals ?? [])]).toEqual([[keyIdOf(hashKey(KEY)), 0]]);
    const statuses = await spread(list, 150);
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
  });

  it('keeps enforcing per instance when Redis is unreachable, and says so once', async () => {
    const logged = capture.lines.length;
    const list = await instances(1, 'redis://127.0.0.1:1', '', '');
    const statuses = await spread(list, 120);
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(counters[0]?.insuranceActive()).toBe(true);
    const lines = capture.lines.slice(logged);
    expect(lines.filter((l) => l.includes('quotas fall back to per-instance memory'))).toHaveLength(1);
  });
});
