import request from 'supertest';
import { createApp } from '../../src/app';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { captureLogger } from '../helpers/log-capture';
import { FixedSource, HEADER } from '../helpers/fixed-source';

const ACTIVE = 'sk-convergence-11111111-1111-4111-8111-111111111111';
const INACTIVE = 'sk-convergence-22222222-2222-4222-8222-222222222222';
const EXPIRED = 'sk-convergence-33333333-3333-4333-8333-333333333333';
const LIMITED = 'sk-convergence-44444444-4444-4444-8444-444444444444';
const UNKNOWN = 'sk-convergence-55555555-5555-4555-8555-555555555555';
const EXPIRES_SOON = 'sk-convergence-66666666-6666-4666-8666-666666666666';
const EVIL_NAME = 'sk-convergence-77777777-7777-4777-8777-777777777777';
const ALL_KEYS = [ACTIVE, INACTIVE, EXPIRED, LIMITED, UNKNOWN, EXPIRES_SOON, EVIL_NAME];

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

function rows() {
  return [
    HEADER,
    [ACTIVE, 'Acme', '2026-01-01', '', true, ''],
    [INACTIVE, 'Gone Inc', '2026-01-01', '', false, ''],
    [EXPIRED, 'Late Ltd', '2025-01-01', '2025-12-31 23:59:59', 'TRUE', ''],
    [LIMITED, 'Small', '2026-01-01', '', 'yes', 3],
    [EXPIRES_SOON, 'Soon', '2026-01-01', '2026-01-15 12:00:30', 'true', ''],
    [EVIL_NAME, 'Evil\r\nSet-Cookie: owned=1 日本', '2026-01-01', '', true, ''],
  ];
}

describe('auth middleware over HTTP: statuses, codes and headers', () => {
  let now: number;
  let gate: Sheetgate;
  let app: ReturnType<typeof createApp>;
  const { logger, capture } = captureLogger();

  beforeEach(async () => {
    now = T0;
    gate = sheetgate({ source: new FixedSource(rows()), logger, now: () => now });
    await gate.ready();
    app = createApp({ gate, logger });
  });

  afterEach(async () => {
    await gate.close();
  });

  afterAll(() => {
    // Every key used in this file, against every line logged at debug level.
    const text = capture.text();
    expect(text.length).toBeGreaterThan(0);
    for (const key of ALL_KEYS) {
      expect(text).not.toContain(key);
    }
  });

  it('accepts an active key: 200, X-Client-Name, RateLimit-*', async () => {
    const res = await request(app).get('/api/hello').set('Authorization', `Bearer ${ACTIVE}`).expect(200);
    expect(res.body).toEqual({ message: 'hello, Acme' });
    expect(res.headers['x-client-name']).toBe('Acme');
    expect(res.headers['ratelimit-limit']).toBe('60');
    expect(res.headers['ratelimit-remaining']).toBe('59');
    expect(Number(res.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['ApiKey scheme', { Authorization: `ApiKey ${ACTIVE}` }],
    ['X-API-Key', { 'X-API-Key': ACTIVE }],
    ['lower-case scheme', { Authorization: `bearer ${ACTIVE}` }],
  ])('accepts %s', async (_name, headers) => {
    await request(app).get('/api/hello').set(headers).expect(200);
  });

  it.each([
    ['missing_api_key', 401, {}],
    ['malformed_authorization', 401, { Authorization: `Basic ${ACTIVE}` }],
    ['malformed_authorization', 401, { Authorization: 'Bearer ' }],
    ['malformed_authorization', 401, { Authorization: `Bearer ${ACTIVE}`, 'X-API-Key': LIMITED }],
    ['invalid_api_key', 401, { Authorization: `Bearer ${UNKNOWN}` }],
    ['key_inactive', 401, { Authorization: `Bearer ${INACTIVE}` }],
    ['key_expired', 401, { Authorization: `Bearer ${EXPIRED}` }],
  ])('%s → %d problem+json with WWW-Authenticate', async (code, status, headers: Record<string, string>) => {
    const res = await request(app).get('/api/hello').set(headers).expect(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="sheetgate"/);
    const body = JSON.parse(res.text) as Record<string, unknown>;
    expect(body).toMatchObject({ status, code });
    for (const key of ALL_KEYS) {
      expect(res.text).not.toContain(key);
    }
  });

  it('answers 401 before 404 on unknown paths', async () => {
    const res = await request(app).get('/no/such/path').expect(401);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'missing_api_key' });
    await request(app).get('/no/such/path').set('Authorization', `Bearer ${ACTIVE}`).expect(404);
  });

  it('rate_limited → 429 with Retry-After ≥ 1 once the per-minute limit is spent', async () => {
    for (let i = 0; i < 3; i++) {
      await request(app).get('/api/hello').set('X-API-Key', LIMITED).expect(200);
    }
    const res = await request(app).get('/api/hello').set('X-API-Key', LIMITED).expect(429);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'rate_limited', status: 429 });
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(res.headers['ratelimit-remaining']).toBe('0');
    expect(res.headers['ratelimit-limit']).toBe('3');
  });

  it('200 concurrent requests on a key with limit 50 → exactly 50 succeed', async () => {
    const source = new FixedSource([HEADER, [LIMITED, 'Fifty', '', '', true, 50]]);
    const g = sheetgate({ source, logger });
    await g.ready();
    const a = createApp({ gate: g, logger });
    const server = a.listen(0, '127.0.0.1');
    try {
      const statuses = await Promise.all(
        Array.from({ length: 200 }, () => request(server).get('/api/hello').set('X-API-Key', LIMITED)),
      ).then((rs) => rs.map((r) => r.status));
      expect(statuses.filter((s) => s === 200)).toHaveLength(50);
      expect(statuses.filter((s) => s === 429)).toHaveLength(150);
    } finally {
      server.close();
      await g.close();
    }
  });

  it('checks expiry on each request: a key that expires between two requests is refused', async () => {
    await request(app).get('/api/hello').set('X-API-Key', EXPIRES_SOON).expect(200);
    now = Date.UTC(2026, 0, 15, 12, 0, 30);
    const res = await request(app).get('/api/hello').set('X-API-Key', EXPIRES_SOON).expect(401);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'key_expired' });
  });

  it('makes the client name header-safe: no injected header, CR/LF stripped', async () => {
    const res = await request(app).get('/api/hello').set('X-API-Key', EVIL_NAME).expect(200);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.headers['x-client-name']).toBe('EvilSet-Cookie: owned=1 %E6%97%A5%E6%9C%AC');
  });

  it('GET /auth/whoami returns the caller identity', async () => {
    const res = await request(app).get('/auth/whoami').set('X-API-Key', LIMITED).expect(200);
    expect(res.body).toMatchObject({ authenticated: true, clientName: 'Small', rateLimit: 3, scopes: [] });
    expect(res.body.keyId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('GET /auth/verify answers 200 with identity headers, or the auth error', async () => {
    const ok = await request(app).get('/auth/verify').set('X-API-Key', ACTIVE).expect(200);
    expect(ok.headers['x-client-name']).toBe('Acme');
    expect(ok.headers['x-sheetgate-key-id']).toMatch(/^[0-9a-f]{16}$/);
    await request(app).get('/auth/verify').set('X-API-Key', INACTIVE).expect(401);
  });

  it('keeps /health, /ready and /auth/status public and key-free', async () => {
    await request(app).get('/health').expect(200, { status: 'ok' });
    await request(app).get('/ready').expect(200);
    const status = await request(app).get('/auth/status').expect(200);
    expect(status.body).toMatchObject({ enabled: true, mode: 'enforce', loaded: true, keysLoaded: 6, lastError: null });
    for (const key of ALL_KEYS) {
      expect(status.text).not.toContain(key);
      expect(status.text).not.toContain(key.slice(0, 20));
    }
  });
});
