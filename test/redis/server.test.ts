import { Redis } from 'ioredis';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { hashKey, keyIdOf } from '../../src/keys/key-id';
import { redisNamespace } from '../../src/redis/namespace';
import { startServer } from '../../src/server';
import { startEmulator } from '../../emulator/server';
import { makeCredentials } from '../../emulator/credentials';
import { captureLogger } from '../helpers/log-capture';

const ADMIN = 'sk-convergence-adadadad-0000-4000-8000-0000000000ad';
const USER = 'sk-convergence-u0u0u0u0-0000-4000-8000-00000000000u';
const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

async function reachable(): Promise<boolean> {
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

/** src/server.ts itself with REDIS_URL: the composition operators run, not a test-only one. */
describe('server.ts with REDIS_URL', () => {
  it('serves, shows Redis in /auth/status, and lets an admin key refresh every instance', async () => {
    if (!(await reachable())) {
      console.warn(`Redis test skipped: no Redis at ${REDIS_URL}`);
      return;
    }
    const { path, credentials } = makeCredentials();
    const emulator = await startEmulator();
    emulator.trust(credentials);
    const header = ['api_key', 'client_name', 'is_active', 'scopes'];
    const id = emulator.createSpreadsheet({
      tabs: { API_Keys: [header, [ADMIN, 'Ops', true, 'sheetgate:admin'], [USER, 'User', true, 'read']] },
    });
    const { logger } = captureLogger();
    const running = await startServer(
      loadConfig({
        PORT: '0',
        GOOGLE_CREDENTIALS_PATH: path,
        GOOGLE_SHEET_ID: id,
        GOOGLE_SHEETS_ROOT_URL: emulator.url,
        REDIS_URL,
      }),
      logger,
    );
    try {
      for (let i = 0; i < 60 && (await request(running.server).get('/ready')).status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await request(running.server).get('/api/hello').set('X-API-Key', USER).expect(200);
      const status = await request(running.server).get('/auth/status').expect(200);
      expect(status.body.redis).toBeDefined();
      expect(JSON.stringify(status.body)).not.toContain(USER);
      // The key's rate-limit counter lives inside this deployment's namespace, keyed by key id, never by the key.
      const redis = new Redis(REDIS_URL);
      const namespace = redisNamespace({ spreadsheetId: id, sheetName: 'API_Keys' });
      const counters = await redis.keys(`*:rl:*${keyIdOf(hashKey(USER))}*`);
      redis.disconnect();
      expect(counters).toContain(`${namespace}:rl:60:${keyIdOf(hashKey(USER))}`);
      expect(counters.join(' ')).not.toContain(USER);
      await request(running.server).post('/auth/refresh').set('X-API-Key', USER).expect(403);
      const refresh = await request(running.server).post('/auth/refresh').set('X-API-Key', ADMIN);
      expect([200, 202]).toContain(refresh.status);
      expect(refresh.body).toMatchObject({ refresh: 'requested' });
    } finally {
      await running.shutdown('test');
      await emulator.close();
    }
  });
});
