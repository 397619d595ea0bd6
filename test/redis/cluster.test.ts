/**
 * Issue 6 on real processes: three sheetgate instances (test/redis/instance.ts through tsx) sharing the real Redis,
 * the Sheets emulator in this process, the real googleapis client in between.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmulator } from '../../emulator/server';
import type { Emulator, Fault } from '../../emulator/server';
import { makeCredentials } from '../../emulator/credentials';
import {
  deleteKeys,
  hit,
  REDIS_URL,
  redisReachable,
  startInstance,
  testPrefix,
  usageSettled,
  waitFor,
} from './harness';
import type { Instance } from './harness';

const TAB = 'API_Keys';
const HEADER = ['api_key', 'client_name', 'is_active', 'rate_limit', 'scopes', 'usage_count'];

jest.setTimeout(90_000);

describe('instances share limits, usage and the key table through Redis', () => {
  let reachable = false;
  let emulator: Emulator;
  const { credentials, path } = makeCredentials();
  const instances: Instance[] = [];
  const prefixes: string[] = [];
  /** The Redis namespace of the last cluster started. */
  let namespace = '';

  beforeAll(async () => {
    reachable = await redisReachable('test/redis/cluster.test.ts');
    emulator = await startEmulator();
    emulator.trust(credentials);
  });

  afterEach(async () => {
    for (const instance of instances.splice(0)) {
      instance.child.kill('SIGKILL');
      await instance.exited;
    }
    emulator.clearFaults();
    for (const pattern of prefixes.splice(0)) {
      await deleteKeys(pattern);
    }
  });

  afterAll(async () => {
    await emulator.close();
  });

  async function cluster(n: number, sheetId: string, env: Record<string, string> = {}): Promise<Instance[]> {
    const prefix = testPrefix();
    prefixes.push(prefix.all);
    namespace = prefix.namespace;
    const started = await Promise.all(
      Array.from({ length: n }, () =>
        startInstance({
          REDIS_URL,
          GOOGLE_CREDENTIALS_PATH: path,
          GOOGLE_SHEET_ID: sheetId,
          GOOGLE_SHEETS_ROOT_URL: emulator.url,
          USAGE_FLUSH_INTERVAL: '1',
          SHEETGATE_TEST_NAMESPACE: prefix.namespace,
          SHEETGATE_TEST_RL_PREFIX: prefix.rl,
          SHEETGATE_TEST_PUSH_MS: '200',
          CHANGE_POLL_INTERVAL: '0', // the tests of change detection turn it on
          ...env,
        }),
      ),
    );
    instances.push(...started);
    for (const instance of started) {
      await waitFor('ready', async () => (await fetch(`${instance.base}/ready`)).status === 200);
    }
    return started;
  }

  const usageOf = (id: string, row: number): unknown => emulator.getValues(id, TAB)[row]?.[5];

  async function leaderOf(group: readonly Instance[]): Promise<Instance> {
    let leader: Instance | undefined;
    await waitFor('a leader', async () => {
      for (const instance of group) {
        if ((await instance.status()).redis.leader) {
          leader = instance;
        }
      }
      return leader !== undefined;
    });
    return leader as Instance;
  }

  it('120 concurrent requests spread over 3 processes, rate_limit 30 → exactly 30 succeed; the sheet counts 30, once', async () => {
    if (!reachable) {
      return;
    }
    emulator.resetStats();
    const key = `sk-convergence-${randomUUID()}`;
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: [HEADER, [key, 'Acme', true, 30, '', 0]] } });
    const group = await cluster(3, id);

    const statuses = await Promise.all(
      Array.from({ length: 120 }, (_, i) => hit((group[i % 3] as Instance).base, key)),
    );

    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    expect(statuses.filter((s) => s === 429)).toHaveLength(90);
    await waitFor('usage in the sheet', () => usageOf(id, 1) === 30);
    await usageSettled(namespace, group);
    expect(usageOf(id, 1)).toBe(30);
    // One instance read the tab from Google at startup; the other two took its table from Redis.
    expect(emulator.stats.byMethod['spreadsheets.get']).toBe(1);
    for (const instance of group) {
      expect(instance.output()).not.toContain(key);
    }
  });

  it('usage of several keys sent to every instance is in the sheet exactly once, in few writes', async () => {
    if (!reachable) {
      return;
    }
    const keys = [randomUUID(), randomUUID(), randomUUID()].map((u) => `sk-convergence-${u}`);
    const id = emulator.createSpreadsheet({
      tabs: { [TAB]: [HEADER, ...keys.map((k, i) => [k, `Client ${i}`, true, 10_000, '', 7])] },
    });
    const group = await cluster(3, id);
    emulator.resetStats();
    const started = Date.now();

    let sent = 0;
    for (let round = 0; round < 5; round++) {
      const statuses = await Promise.all(
        Array.from({ length: 60 }, (_, i) => hit((group[i % 3] as Instance).base, keys[i % 3] as string)),
      );
      sent += statuses.filter((s) => s === 200).length;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }

    expect(sent).toBe(300);
    await waitFor('usage in the sheet', () => [1, 2, 3].every((row) => usageOf(id, row) === 7 + 100));
    await usageSettled(namespace, group);
    expect([1, 2, 3].map((row) => usageOf(id, row))).toEqual([107, 107, 107]);
    // One writer for the cluster: at most one batch per flush interval (1 s), not one per instance; with the usage
    // history (on by default), at most one more write per interval (its new rows, or its tab's creation).
    const seconds = (Date.now() - started) / 1000;
    expect(emulator.stats.byMethod['values.batchUpdate']).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    expect(emulator.stats.writes).toBeLessThanOrEqual(2 * (Math.ceil(seconds) + 1));
  });

  it('the usage history of three instances pooling usage: one row per key per day, with the exact total', async () => {
    if (!reachable) {
      return;
    }
    const keys = [randomUUID(), randomUUID(), randomUUID()].map((u) => `sk-convergence-${u}`);
    const id = emulator.createSpreadsheet({
      timeZone: 'America/Los_Angeles',
      tabs: { [TAB]: [HEADER, ...keys.map((k, i) => [k, `Client ${i}`, true, 10_000, '', 0])] },
    });
    const group = await cluster(3, id, { USAGE_HISTORY_TAB: 'API_Usage' });
    for (let round = 0; round < 5; round++) {
      const statuses = await Promise.all(
        Array.from({ length: 60 }, (_, i) => hit((group[i % 3] as Instance).base, keys[i % 3] as string)),
      );
      expect(statuses.every((s) => s === 200)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const history = (): unknown[][] => {
      try {
        return emulator.getValues(id, 'API_Usage').slice(1);
      } catch {
        return []; // not created yet
      }
    };
    await waitFor('the history rows', () => history().reduce((n, r) => n + Number(r[3] ?? 0), 0) === 300);
    await usageSettled(namespace, group);
    const rows = history();
    expect(new Set(rows.map((r) => `${String(r[0])}|${String(r[1])}`)).size).toBe(rows.length);
    const totals = new Map<string, number>();
    for (const r of rows) {
      totals.set(String(r[2]), (totals.get(String(r[2])) ?? 0) + Number(r[3]));
    }
    expect(totals).toEqual(new Map([0, 1, 2].map((i) => [`Client ${i}`, 100])));
    expect([1, 2, 3].map((row) => usageOf(id, row))).toEqual([100, 100, 100]);
  });

  it.each<[string, Fault]>([
    ['applied, its answer never received', { applyThenDelayMs: 5000 }],
    ['not applied', { latencyMs: 5000 }],
  ])(
    'SIGKILL of the leader while its write is in flight (%s): the next leader settles it, totals stay exact',
    async (_name, fault) => {
      if (!reachable) {
        return;
      }
      const key = `sk-convergence-${randomUUID()}`;
      const id = emulator.createSpreadsheet({ tabs: { [TAB]: [HEADER, [key, 'Acme', true, 10_000, '', 0]] } });
      const group = await cluster(3, id, {
        SHEETGATE_TEST_LEASE_TTL_MS: '3000',
        SHEETGATE_TEST_SHEETS_TIMEOUT_MS: '1000',
        USAGE_FLUSH_INTERVAL: '2',
      });
      const leader = await leaderOf(group);
      const writesBefore = emulator.stats.byMethod['values.batchUpdate'] ?? 0;
      emulator.fault({ method: 'values.batchUpdate', ...fault });

      const first = await Promise.all(Array.from({ length: 90 }, (_, i) => hit((group[i % 3] as Instance).base, key)));
      expect(first.every((s) => s === 200)).toBe(true);
      await waitFor('every instance pushed', async () => {
        const statuses = await Promise.all(group.map((g) => g.status()));
        return statuses.every((s) => s.redis.pendingLocal === 0);
      });
      await waitFor(
        'the leader sends its write',
        () => (emulator.stats.byMethod['values.batchUpdate'] ?? 0) > writesBefore,
      );
      leader.child.kill('SIGKILL');
      await leader.exited;

      const survivors = group.filter((g) => g !== leader);
      const second = await Promise.all(
        Array.from({ length: 30 }, (_, i) => hit((survivors[i % 2] as Instance).base, key)),
      );
      expect(second.every((s) => s === 200)).toBe(true);

      await leaderOf(survivors);
      await waitFor('usage in the sheet', () => usageOf(id, 1) === 120, 20_000);
      await usageSettled(namespace, survivors);
      expect(usageOf(id, 1)).toBe(120);
    },
  );

  it('POST /auth/refresh with a sheetgate:admin key reloads every instance with one Google read', async () => {
    if (!reachable) {
      return;
    }
    const admin = `sk-convergence-${randomUUID()}`;
    const reader = `sk-convergence-${randomUUID()}`;
    const added = `sk-convergence-${randomUUID()}`;
    const rows = [HEADER, [admin, 'Ops', true, 100, 'sheetgate:admin', 0], [reader, 'Reader', true, 100, 'read', 0]];
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: rows } });
    const group = await cluster(3, id, { API_KEY_CACHE_DURATION: '3600' });
    emulator.setValues(id, TAB, [...rows, [added, 'New', true, 100, '', 0]]);
    for (const instance of group) {
      expect(await hit(instance.base, added)).toBe(401);
    }
    emulator.resetStats();

    const refused = await fetch(`${(group[0] as Instance).base}/auth/refresh`, {
      method: 'POST',
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(refused.status).toBe(403);
    const res = await fetch(`${(group[1] as Instance).base}/auth/refresh`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ refresh: 'requested', scope: 'cluster', receivers: 3 });

    await waitFor('every instance knows the new key', async () => {
      const statuses = await Promise.all(group.map((g) => hit(g.base, added)));
      return statuses.every((s) => s === 200);
    });
    expect(emulator.stats.byMethod['spreadsheets.get']).toBe(1);
  });

  it('change detection: only the leader polls Drive, and one Google read brings an edit to every instance', async () => {
    if (!reachable) {
      return;
    }
    const key = `sk-convergence-${randomUUID()}`;
    const added = `sk-convergence-${randomUUID()}`;
    const rows = [HEADER, [key, 'Acme', true, 100, '', 0]];
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: rows } });
    const group = await cluster(3, id, {
      API_KEY_CACHE_DURATION: '3600',
      CHANGE_POLL_INTERVAL: '1',
      REFRESH_MIN_INTERVAL: '1',
    });
    await leaderOf(group);
    emulator.resetStats();
    const started = Date.now();
    await waitFor('six polls', () => emulator.stats.drive >= 6);
    // Three pollers would make three calls a second; one makes one (plus one in flight).
    expect(emulator.stats.drive).toBeLessThanOrEqual((Date.now() - started) / 1000 + 2);
    expect(emulator.stats.reads).toBe(0);

    emulator.setValues(id, TAB, [HEADER, [key, 'Acme', false, 100, '', 0], [added, 'New', true, 100, '', 0]]);
    await waitFor('every instance sees the edit', async () => {
      const statuses = await Promise.all(group.flatMap((g) => [hit(g.base, key), hit(g.base, added)]));
      return statuses.join() === '401,200,401,200,401,200';
    });
    expect(emulator.stats.byMethod['spreadsheets.get']).toBe(1);
  });
});
