/**
 * Issue 6, Redis down: the service keeps serving with per-instance limits, `/ready` stays 200, `/auth/status` says
 * so, usage deltas wait in each instance and reach the sheet once Redis is back. Redis is "stopped" with a closed
 * port, or with a TCP proxy this test cuts and restores (the shared Redis itself is never touched).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmulator } from '../../emulator/server';
import type { Emulator } from '../../emulator/server';
import { makeCredentials } from '../../emulator/credentials';
import {
  deleteKeys,
  hit,
  REDIS_URL,
  RedisProxy,
  redisReachable,
  startInstance,
  testPrefix,
  usageSettled,
  waitFor,
} from './harness';
import type { Instance } from './harness';

const TAB = 'API_Keys';
const HEADER = ['api_key', 'client_name', 'is_active', 'rate_limit', 'usage_count'];

jest.setTimeout(60_000);

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 1;
}

describe('Redis down', () => {
  let reachable = false;
  let emulator: Emulator;
  const { credentials, path } = makeCredentials();
  const instances: Instance[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    reachable = await redisReachable('test/redis/outage.test.ts');
    emulator = await startEmulator();
    emulator.trust(credentials);
  });

  afterEach(async () => {
    for (const instance of instances.splice(0)) {
      instance.child.kill('SIGKILL');
      await instance.exited;
    }
    for (const cleanup of cleanups.splice(0)) {
      await cleanup();
    }
  });

  afterAll(async () => {
    await emulator.close();
  });

  async function start(redisUrl: string, sheetId: string, prefix = testPrefix()): Promise<Instance> {
    const instance = await startInstance({
      REDIS_URL: redisUrl,
      GOOGLE_CREDENTIALS_PATH: path,
      GOOGLE_SHEET_ID: sheetId,
      GOOGLE_SHEETS_ROOT_URL: emulator.url,
      USAGE_FLUSH_INTERVAL: '1',
      SHEETGATE_TEST_NAMESPACE: prefix.namespace,
      SHEETGATE_TEST_RL_PREFIX: prefix.rl,
      SHEETGATE_TEST_PUSH_MS: '200',
    });
    instances.push(instance);
    await waitFor('ready', async () => (await fetch(`${instance.base}/ready`)).status === 200);
    return instance;
  }

  it('Redis on a closed port: ready, serving, limits per instance, the state in /auth/status, logged once', async () => {
    const key = `sk-convergence-${randomUUID()}`;
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: [HEADER, [key, 'Acme', true, 5, 0]] } });
    const instance = await start(`redis://127.0.0.1:${await closedPort()}`, id);

    const statuses = await Promise.all(Array.from({ length: 8 }, () => hit(instance.base, key)));

    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    expect((await fetch(`${instance.base}/ready`)).status).toBe(200);
    const status = await instance.status();
    expect(status.redis).toMatchObject({ connected: false, insurance: true, pendingLocal: 5, leader: false });
    expect(status.redis.table).toMatchObject({ from: 'google' });
    expect(instance.output().match(/Redis unavailable/g)).toHaveLength(1);
    expect(emulator.stats.writes).toBe(0); // nobody may write usage without the lease: the deltas wait here
  });

  it('Redis cut and restored: served throughout (limits per instance meanwhile); every request counted once', async () => {
    if (!reachable) {
      return;
    }
    const url = new URL(REDIS_URL);
    const proxy = new RedisProxy({ host: url.hostname, port: Number(url.port || 6379) });
    await proxy.up();
    const prefix = testPrefix();
    cleanups.push(
      () => proxy.down(),
      () => deleteKeys(prefix.all),
    );
    const key = `sk-convergence-${randomUUID()}`;
    const small = `sk-convergence-${randomUUID()}`;
    const id = emulator.createSpreadsheet({
      tabs: { [TAB]: [HEADER, [key, 'Acme', true, 10_000, 0], [small, 'Small', true, 5, 0]] },
    });
    const group = [await start(proxy.url, id, prefix), await start(proxy.url, id, prefix)];
    const spread = (n: number, k: string) =>
      Promise.all(Array.from({ length: n }, (_, i) => hit((group[i % 2] as Instance).base, k)));

    expect((await spread(40, key)).every((s) => s === 200)).toBe(true);
    await waitFor('usage before the cut', () => emulator.getValues(id, TAB)[1]?.[4] === 40);

    await proxy.down();
    await waitFor('both instances see Redis down', async () => {
      const statuses = await Promise.all(group.map((g) => g.status()));
      return statuses.every((s) => !s.redis.connected);
    });
    expect((await spread(40, key)).every((s) => s === 200)).toBe(true);
    // Limits hold per instance while Redis is away: 2 instances × 5.
    expect((await spread(20, small)).filter((s) => s === 200)).toHaveLength(10);
    const during = await Promise.all(group.map((g) => g.status()));
    expect(during.map((s) => s.redis.insurance)).toEqual([true, true]);
    expect(during.reduce((sum, s) => sum + s.redis.pendingLocal, 0)).toBe(50);
    expect((await fetch(`${(group[0] as Instance).base}/ready`)).status).toBe(200);

    await proxy.up();
    await waitFor('usage after Redis returns', () => emulator.getValues(id, TAB)[1]?.[4] === 80, 30_000);
    await waitFor('small key usage', () => emulator.getValues(id, TAB)[2]?.[4] === 10, 10_000);
    await usageSettled(prefix.namespace, group);
    expect(emulator.getValues(id, TAB)[1]?.[4]).toBe(80);
    expect(emulator.getValues(id, TAB)[2]?.[4]).toBe(10);
    expect((await spread(2, key)).every((s) => s === 200)).toBe(true); // the limiter answers from Redis again
    const after = await Promise.all(group.map((g) => g.status()));
    expect(after.map((s) => [s.redis.connected, s.redis.insurance])).toEqual([
      [true, false],
      [true, false],
    ]);
    for (const instance of group) {
      expect(instance.output().match(/rate limits fall back to per-instance memory/g)).toHaveLength(1);
      expect(instance.output()).toMatch(/rate limits are shared through Redis again/);
    }
  });
});
