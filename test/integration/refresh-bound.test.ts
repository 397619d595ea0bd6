/**
 * POST /auth/refresh is bounded: at most one reload per REFRESH_MIN_INTERVAL, per instance without Redis and for the
 * whole deployment with it. The service as server.ts wires it, the emulator counting the Sheets reads.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { redisNamespace } from '../../src/redis/namespace';
import { startServer } from '../../src/server';
import type { Running } from '../../src/server';
import { startEmulator } from '../../emulator/server';
import type { Emulator } from '../../emulator/server';
import { makeCredentials } from '../../emulator/credentials';
import { captureLogger } from '../helpers/log-capture';
import { deleteKeys, REDIS_URL, redisReachable, waitFor } from '../redis/harness';

const ADMIN = 'sk-convergence-adadadad-0000-4000-8000-0000000000ad';
const TAB = 'API_Keys';
const HEADER = ['api_key', 'client_name', 'is_active', 'scopes'];

jest.setTimeout(30_000);

describe('POST /auth/refresh: a burst of 30 admin refreshes costs at most two reloads', () => {
  let emulator: Emulator;
  const { path, credentials } = makeCredentials();
  const { logger } = captureLogger();

  beforeAll(async () => {
    emulator = await startEmulator();
    emulator.trust(credentials);
  });
  afterAll(async () => {
    await emulator.close();
  });

  async function start(id: string, env: Record<string, string> = {}): Promise<Running> {
    const running = await startServer(
      loadConfig({
        PORT: '0',
        GOOGLE_CREDENTIALS_PATH: path,
        GOOGLE_SHEET_ID: id,
        GOOGLE_SHEETS_ROOT_URL: emulator.url,
        REFRESH_MIN_INTERVAL: '2',
        CHANGE_POLL_INTERVAL: '0',
        USAGE_FLUSH_INTERVAL: '3600',
        ...env,
      }),
      logger,
    );
    await waitFor('ready', async () => (await request(running.server).get('/ready')).status === 200);
    return running;
  }

  async function burst(servers: readonly Running[]): Promise<{ status: number; body: Record<string, unknown> }[]> {
    const answers = [];
    for (let i = 0; i < 30; i++) {
      const res = await request((servers[i % servers.length] as Running).server)
        .post('/auth/refresh')
        .set('X-API-Key', ADMIN);
      answers.push({ status: res.status, body: res.body as Record<string, unknown> });
    }
    return answers;
  }

  /** Waits past the scheduled reload and one more interval, so that a third reload would have shown. */
  async function settle(at: string): Promise<void> {
    await waitFor('the scheduled reload', () => (emulator.stats.byMethod['values.get'] ?? 0) >= 2);
    const quiet = Date.parse(at) + 2500 - Date.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, quiet)));
  }

  it('without Redis: the first reloads now (200), the other 29 get 202 with the one time the next reload runs', async () => {
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: [HEADER, [ADMIN, 'Ops', true, 'sheetgate:admin']] } });
    const running = await start(id);
    try {
      emulator.resetStats();
      const [first, ...rest] = await burst([running]);
      expect(first).toMatchObject({ status: 200, body: { refresh: 'requested', scope: 'instance' } });
      const ats = new Set(rest.map((r) => r.body['at']));
      expect(ats.size).toBe(1);
      const at = String([...ats][0]);
      expect(rest.every((r) => r.status === 202 && r.body['refresh'] === 'scheduled')).toBe(true);
      expect(Date.parse(at) - Date.parse(String(first?.body['at']))).toBe(2000);
      await settle(at);
      expect(emulator.stats.byMethod['values.get']).toBe(2);
      expect(emulator.stats.byMethod['spreadsheets.get']).toBe(2);
    } finally {
      await running.shutdown('test');
    }
  });

  it('with Redis: two instances share one bound, so the burst spread over both still costs two reloads', async () => {
    if (!(await redisReachable('test/integration/refresh-bound.test.ts'))) {
      return;
    }
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: [HEADER, [ADMIN, 'Ops', true, 'sheetgate:admin']] } });
    const namespace = redisNamespace({ spreadsheetId: id, sheetName: TAB });
    const servers = [await start(id, { REDIS_URL }), await start(id, { REDIS_URL })];
    try {
      await waitFor('the second instance to follow the leader', async () => {
        const status = (await request((servers[1] as Running).server).get('/auth/status')).body as {
          redis: { table: { version: number } };
        };
        return status.redis.table.version > 0;
      });
      emulator.resetStats();
      const answers = await burst(servers);
      expect(answers.filter((a) => a.body['refresh'] === 'requested')).toHaveLength(1);
      const scheduled = answers.filter((a) => a.body['refresh'] === 'scheduled');
      expect(scheduled).toHaveLength(29);
      expect(scheduled.every((a) => a.status === 202)).toBe(true);
      const ats = new Set(scheduled.map((a) => a.body['at']));
      expect(ats.size).toBe(1);
      await settle([...(ats as Set<string>)][0] ?? '');
      expect(emulator.stats.byMethod['values.get']).toBe(2);
    } finally {
      for (const running of servers) {
        await running.shutdown('test');
      }
      await deleteKeys(`${namespace}*`);
    }
  });
});
