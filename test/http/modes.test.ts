import express from 'express';
import request from 'supertest';
import { createApp } from '../../src/app';
import { requireScope } from '../../src/auth/middleware';
import { sheetgate } from '../../src/sheetgate';
import { localRefresh, refreshRoutes } from '../../src/http/refresh-route';
import { ReloadGate } from '../../src/keys/reload-gate';
import { captureLogger } from '../helpers/log-capture';
import { FixedSource, HEADER, unavailable } from '../helpers/fixed-source';

const KEY = 'sk-convergence-aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const SCOPED = 'sk-convergence-bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';

describe('fail closed until the first load (503 auth_unavailable)', () => {
  it('answers 503 while no snapshot has loaded, then recovers without a restart', async () => {
    const { logger } = captureLogger();
    const source = new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]);
    source.failWith = unavailable();
    const gate = sheetgate({ source, logger });
    await gate.ready();
    const app = createApp({ gate, logger });

    const res = await request(app).get('/api/hello').set('X-API-Key', KEY).expect(503);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'auth_unavailable' });
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await request(app).get('/ready').expect(503);
    const status = await request(app).get('/auth/status').expect(200);
    expect(status.body).toMatchObject({ enabled: true, loaded: false, lastError: { code: 'unavailable' } });

    source.failWith = undefined;
    await gate.store?.refresh();
    await request(app).get('/api/hello').set('X-API-Key', KEY).expect(200);
    await request(app).get('/ready').expect(200);
    await gate.close();
  });
});

describe.each([
  ['degraded', { kind: 'degraded', reason: 'GOOGLE_CREDENTIALS_PATH not set' } as const, /degraded/],
  ['disabled', { kind: 'disabled' } as const, /AUTH_ENABLED=false/],
])('%s mode', (_name, mode, reason) => {
  it('allows every request and says so in /auth/status', async () => {
    const { logger } = captureLogger();
    const gate = sheetgate({ mode, logger });
    const app = createApp({ gate, logger });
    await request(app).get('/api/hello').expect(200, { message: 'hello, anonymous' });
    await request(app).get('/api/hello').set('Authorization', 'Bearer whatever').expect(200);
    await request(app).get('/ready').expect(200);
    const status = await request(app).get('/auth/status').expect(200);
    expect(status.body).toMatchObject({ enabled: false, mode: mode.kind });
    expect(status.body.reason).toMatch(reason);
    await gate.close();
  });
});

describe('requireScope (403 insufficient_scope)', () => {
  it('403s a key that lacks the scope, allows one that has it, and keys without scopes keep full access', async () => {
    const { logger } = captureLogger();
    const source = new FixedSource([
      [...HEADER, 'scopes'],
      [KEY, 'Unscoped', '', '', true, '', ''],
      [SCOPED, 'Scoped', '', '', true, '', 'read, audio:generate'],
    ]);
    const gate = sheetgate({ source, logger });
    await gate.ready();
    const router = express.Router();
    router.post('/generate', requireScope('audio:generate'), (_req, res) => {
      res.json({ ok: true });
    });
    router.post('/admin', requireScope('admin'), (_req, res) => {
      res.json({ ok: true });
    });
    const app = createApp({ gate, logger, protectedRoutes: [router] });

    await request(app).post('/generate').set('X-API-Key', SCOPED).expect(200);
    await request(app).post('/generate').set('X-API-Key', KEY).expect(200);
    await request(app).post('/admin').set('X-API-Key', KEY).expect(200);
    const res = await request(app).post('/admin').set('X-API-Key', SCOPED).expect(403);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'insufficient_scope', scope: 'admin' });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="sheetgate", error="insufficient_scope", scope="admin"');
    await gate.close();
  });
});

describe('reserved sheetgate: scopes are never implied', () => {
  const ADMIN = 'sk-convergence-cccccccc-cccc-4ccc-8ccc-cccccccccccc';

  it('POST /auth/refresh: 403 for a key with an empty scopes cell, 200 only for one listing sheetgate:admin', async () => {
    const { logger } = captureLogger();
    const source = new FixedSource([
      [...HEADER, 'scopes'],
      [KEY, 'Unscoped', '', '', true, '', ''],
      [SCOPED, 'Scoped', '', '', true, '', 'read'],
      [ADMIN, 'Ops', '', '', true, '', 'read sheetgate:admin'],
    ]);
    const gate = sheetgate({ source, logger });
    await gate.ready();
    const store = gate.store;
    if (store === undefined) {
      throw new Error('enforce mode has a store');
    }
    const reloads = new ReloadGate({ reload: localRefresh(store), intervalMs: 10_000, logger });
    const app = createApp({ gate, logger, protectedRoutes: [refreshRoutes(() => reloads.request())] });
    const readsBefore = source.reads;

    for (const key of [KEY, SCOPED]) {
      const res = await request(app).post('/auth/refresh').set('X-API-Key', key).expect(403);
      expect(JSON.parse(res.text)).toMatchObject({ code: 'insufficient_scope', scope: 'sheetgate:admin' });
    }
    expect(source.reads).toBe(readsBefore);
    // An empty scopes cell still opens every application route.
    await request(app).get('/api/hello').set('X-API-Key', KEY).expect(200);

    await request(app).post('/auth/refresh').set('X-API-Key', ADMIN).expect(200);
    expect(source.reads).toBe(readsBefore + 1);
    await gate.close();
  });
});
