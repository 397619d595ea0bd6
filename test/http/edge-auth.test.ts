import http from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createApp } from '../../src/app';
import type { AppDeps } from '../../src/app';
import { createMetrics } from '../../src/http/metrics';
import { metricsRoutes } from '../../src/http/metrics-route';
import { proxyRoutes } from '../../src/http/proxy';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { FixedSource } from '../helpers/fixed-source';
import { captureLogger } from '../helpers/log-capture';

/**
 * Authorization at the edge: scopes required by a gateway on /auth/verify, per-key address allowlists
 * (`allowed_ips`), the key's expiry made visible, and what metrics and /auth/status say about them.
 */

const READER = 'sk-convergence-11111111-1111-4111-8111-111111111111';
const WRITER = 'sk-convergence-22222222-2222-4222-8222-222222222222';
const OPEN = 'sk-convergence-33333333-3333-4333-8333-333333333333';
const OFFICE = 'sk-convergence-44444444-4444-4444-8444-444444444444';
const LAB = 'sk-convergence-55555555-5555-4555-8555-555555555555';
const LOCAL = 'sk-convergence-66666666-6666-4666-8666-666666666666';
const DATED = 'sk-convergence-77777777-7777-4777-8777-777777777777';
const TIMED = 'sk-convergence-88888888-8888-4888-8888-888888888888';
const BAD_IPS = 'sk-convergence-99999999-9999-4999-8999-999999999999';
const SOON = 'sk-convergence-aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const ALL_KEYS = [READER, WRITER, OPEN, OFFICE, LAB, LOCAL, DATED, TIMED, BAD_IPS, SOON];
const OFFICE_IPS = '203.0.113.7, 10.0.0.0/8';
const LAB_IPS = '2001:db8::/32';

const HEADER = ['api_key', 'client_name', 'expires_at', 'is_active', 'rate_limit', 'scopes', 'allowed_ips'];
const ROWS = [
  HEADER,
  [READER, 'Reader', '', true, '', 'orders:read', ''],
  [WRITER, 'Writer', '', true, '', 'orders:read orders:write', ''],
  [OPEN, 'Open', '', true, '', '', ''],
  [OFFICE, 'Office', '', true, 100, '', OFFICE_IPS],
  [LAB, 'Lab', '', true, '', '', LAB_IPS],
  [LOCAL, 'Local', '', true, '', '', '127.0.0.1 ::1'],
  // The sheet's zone is New York (UTC-4 in summer): a bare date is valid through 23:59:59.999 local time.
  [DATED, 'Dated', '2030-06-30', true, '', '', ''],
  [TIMED, 'Timed', '2026-03-07 18:30', true, '', '', ''],
  [BAD_IPS, 'Bad', '', true, '', '', '10.0.0.0/8, 10.0.0.300'],
];
const ROW_OF_BAD_IPS = 10;
const ZONE = 'America/New_York';
const T0 = Date.UTC(2026, 2, 5, 12, 0, 0);

describe('authorization at the edge', () => {
  const { logger, capture } = captureLogger();
  let gate: Sheetgate;
  const now = (): number => T0;

  const app = (deps: Partial<AppDeps> = {}): ReturnType<typeof createApp> => createApp({ gate, logger, now, ...deps });

  beforeEach(async () => {
    gate = sheetgate({ source: new FixedSource(ROWS, ZONE), logger, now });
    await gate.ready();
  });

  afterEach(async () => {
    await gate.close();
  });

  afterAll(() => {
    const text = capture.text();
    for (const key of ALL_KEYS) {
      expect(text).not.toContain(key);
    }
  });

  describe('scopes required by the gateway on /auth/verify', () => {
    it.each([
      ['one scope the key holds (query)', READER, '?scope=orders:read', {}],
      ['two scopes the key holds (query)', WRITER, '?scope=orders:read&scope=orders:write', {}],
      ['one scope the key holds (header)', READER, '', { 'X-Sheetgate-Require-Scope': 'orders:read' }],
      ['two scopes the key holds (header)', WRITER, '', { 'X-Sheetgate-Require-Scope': 'orders:read orders:write' }],
      ['one scope, a key with no scopes (full access)', OPEN, '?scope=orders:write', {}],
      ['two scopes, a key with no scopes (header)', OPEN, '', { 'X-Sheetgate-Require-Scope': 'orders:read billing' }],
    ])('%s → 200 with identity headers', async (_name, key, query, headers: Record<string, string>) => {
      const res = await request(app()).get(`/auth/verify${query}`).set('X-API-Key', key).set(headers).expect(200);
      expect(res.headers['x-sheetgate-key-id']).toMatch(/^[0-9a-f]{16}$/);
      expect(res.body).toMatchObject({ authenticated: true });
    });

    it.each([
      ['a scope the key lacks (query)', READER, '?scope=orders:write', {}, 'orders:write'],
      [
        'two scopes, one lacking (query)',
        READER,
        '?scope=orders:read&scope=orders:write',
        {},
        'orders:read orders:write',
      ],
      ['a scope the key lacks (header)', READER, '', { 'X-Sheetgate-Require-Scope': 'orders:write' }, 'orders:write'],
      [
        'two scopes, one lacking (header)',
        WRITER,
        '',
        { 'X-Sheetgate-Require-Scope': 'orders:read billing' },
        'orders:read billing',
      ],
      [
        'a sheetgate: scope, a key with no scopes (never implied)',
        OPEN,
        '?scope=sheetgate:admin',
        {},
        'sheetgate:admin',
      ],
      [
        'query and header together: every scope of both',
        READER,
        '?scope=orders:read',
        { 'X-Sheetgate-Require-Scope': 'orders:write' },
        'orders:read orders:write',
      ],
    ])('%s → 403 insufficient_scope with the RFC 6750 challenge', async (_n, key, query, headers, scope) => {
      const res = await request(app())
        .get(`/auth/verify${query}`)
        .set('X-API-Key', key)
        .set(headers as Record<string, string>)
        .expect(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['www-authenticate']).toBe(
        `Bearer realm="sheetgate", error="insufficient_scope", scope="${scope}"`,
      );
      expect(res.headers['x-sheetgate-code']).toBe('insufficient_scope');
      expect(JSON.parse(res.text)).toMatchObject({ status: 403, code: 'insufficient_scope', scope });
      expect(res.headers['x-sheetgate-key-id']).toBeUndefined();
    });

    it('still answers 401 first for a missing or unknown key', async () => {
      await request(app()).get('/auth/verify?scope=orders:read').expect(401);
    });

    it('refuses a required scope that cannot be a scope name with 400, never a pass', async () => {
      const res = await request(app()).get('/auth/verify?scope=a%22b').set('X-API-Key', OPEN).expect(400);
      expect(JSON.parse(res.text)).toMatchObject({ code: 'bad_request' });
    });
  });

  describe('allowed_ips', () => {
    const trusted = (): ReturnType<typeof createApp> => app({ trustProxy: 'loopback' });
    const from = (address: string, key: string, target = trusted()) =>
      request(target).get('/api/hello').set('X-API-Key', key).set('X-Forwarded-For', address);

    it.each([
      ['an allowed single IPv4 address', OFFICE, '203.0.113.7'],
      ['the first address of an IPv4 range', OFFICE, '10.0.0.0'],
      ['the last address of an IPv4 range', OFFICE, '10.255.255.255'],
      ['an IPv4-mapped IPv6 address in an IPv4 range', OFFICE, '::ffff:10.1.2.3'],
      ['the first address of an IPv6 range', LAB, '2001:db8::'],
      ['the last address of an IPv6 range', LAB, '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'],
      ['an IPv6 address written long-hand', LAB, '2001:0db8:0000:0000:0000:0000:0000:0001'],
    ])('%s → 200', async (_name, key, address) => {
      await from(address, key).expect(200);
    });

    it.each([
      ['the address next to a single one', OFFICE, '203.0.113.8'],
      ['just below an IPv4 range', OFFICE, '9.255.255.255'],
      ['just above an IPv4 range', OFFICE, '11.0.0.0'],
      ['an IPv6 address to an IPv4-only list', OFFICE, '2001:db8::1'],
      ['just above an IPv6 range', LAB, '2001:db9::'],
      ['just below an IPv6 range', LAB, '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff'],
      ['an IPv4 address to an IPv6-only list', LAB, '32.1.13.184'],
    ])('%s → 403 ip_not_allowed, the ranges never shown', async (_name, key, address) => {
      const res = await from(address, key).expect(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(res.headers['x-client-name']).toBeUndefined();
      expect(JSON.parse(res.text)).toMatchObject({ status: 403, code: 'ip_not_allowed' });
      for (const range of [...OFFICE_IPS.split(', '), LAB_IPS, '10.0.0.0', '2001:db8']) {
        expect(res.text).not.toContain(range);
      }
    });

    it('a refused address spends none of the key limit', async () => {
      await from('11.0.0.1', OFFICE).expect(403);
      const ok = await from('10.0.0.1', OFFICE).expect(200);
      expect(ok.headers['ratelimit-remaining']).toBe('99');
    });

    it('TRUST_PROXY off: X-Forwarded-For is ignored, the connection address decides', async () => {
      const direct = app();
      await from('10.1.2.3', OFFICE, direct).expect(403); // a forged header does not let the key in
      await from('10.1.2.3', LOCAL, direct).expect(200); // 127.0.0.1 (IPv4, or IPv4-mapped on a dual-stack socket)
    });

    it('TRUST_PROXY on: the forwarded client address decides, the proxy address no longer does', async () => {
      await from('10.1.2.3', OFFICE).expect(200);
      await from('10.1.2.3', LOCAL).expect(403);
      await request(trusted()).get('/api/hello').set('X-API-Key', LOCAL).expect(200); // no header: the proxy is the client
    });

    it('a trusted proxy that forwards something that is not an address → refused (fail closed)', async () => {
      await from('not-an-address', OFFICE).expect(403);
      await from('10', OFFICE).expect(403); // not read as 0.0.0.10
    });

    it('a row with an entry that is not an address or range is refused with its row number; its key is invalid', async () => {
      const res = await from('10.1.2.3', BAD_IPS).expect(401);
      expect(JSON.parse(res.text)).toMatchObject({ code: 'invalid_api_key' });
      const problems = gate.store?.snapshot()?.problems ?? [];
      expect(problems).toEqual([
        expect.objectContaining({
          row: ROW_OF_BAD_IPS,
          reason: 'allowed_ips: not an IP address or CIDR range: "10.0.0.300"',
        }),
      ]);
    });

    it('keeps keys without an allowlist usable from anywhere', async () => {
      await from('198.51.100.1', OPEN).expect(200);
      await from('2001:db8::1', OPEN).expect(200);
    });
  });

  describe('expiry made visible', () => {
    it.each([
      ['a bare date: through the end of that day in the sheet zone', DATED, '2030-07-01T03:59:59.999Z'],
      ['a date and time in the sheet zone (UTC-5: before the DST switch)', TIMED, '2026-03-07T23:30:00.000Z'],
    ])('%s → X-Sheetgate-Key-Expiration in UTC, whoami expiresAt', async (_name, key, iso) => {
      const hello = await request(app()).get('/api/hello').set('X-API-Key', key).expect(200);
      expect(hello.headers['x-sheetgate-key-expiration']).toBe(iso);
      const verify = await request(app()).get('/auth/verify').set('X-API-Key', key).expect(200);
      expect(verify.headers['x-sheetgate-key-expiration']).toBe(iso);
      const whoami = await request(app()).get('/auth/whoami').set('X-API-Key', key).expect(200);
      expect(whoami.headers['x-sheetgate-key-expiration']).toBe(iso);
      expect(whoami.body).toMatchObject({ expiresAt: iso });
    });

    it('a key without expiry sends no such header; whoami says expiresAt null', async () => {
      const hello = await request(app()).get('/api/hello').set('X-API-Key', OPEN).expect(200);
      expect(hello.headers['x-sheetgate-key-expiration']).toBeUndefined();
      const whoami = await request(app()).get('/auth/whoami').set('X-API-Key', OPEN).expect(200);
      expect(whoami.body).toMatchObject({ expiresAt: null });
    });

    it('proxy mode: the upstream response reaches the client with the expiry header', async () => {
      const upstream: Server = http.createServer((_req, res) => res.end('upstream'));
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      const { port } = upstream.address() as AddressInfo;
      try {
        const proxied = app({ demoApi: false, protectedRoutes: [proxyRoutes(`http://127.0.0.1:${port}`, { logger })] });
        const dated = await request(proxied).get('/anything').set('X-API-Key', DATED).expect(200);
        expect(dated.text).toBe('upstream');
        expect(dated.headers['x-sheetgate-key-expiration']).toBe('2030-07-01T03:59:59.999Z');
        const open = await request(proxied).get('/anything').set('X-API-Key', OPEN).expect(200);
        expect(open.headers['x-sheetgate-key-expiration']).toBeUndefined();
      } finally {
        upstream.closeAllConnections();
        await new Promise((resolve) => upstream.close(resolve));
      }
    });
  });

  describe('metrics and status', () => {
    it('counts ip_not_allowed refusals in the decision counter', async () => {
      const metrics = createMetrics({ now });
      await gate.close();
      gate = sheetgate({ source: new FixedSource(ROWS, ZONE), logger, now, onDecision: metrics.onDecision });
      await gate.ready();
      const target = app({ trustProxy: 'loopback', publicRoutes: [metricsRoutes(metrics.registry, {})] });
      await from('11.0.0.1').expect(403);
      await from('11.0.0.2').expect(403);
      const text = (await request(target).get('/metrics').expect(200)).text;
      expect(text).toContain('sheetgate_auth_decisions_total{outcome="ip_not_allowed"} 2');

      function from(address: string) {
        return request(target).get('/api/hello').set('X-API-Key', OFFICE).set('X-Forwarded-For', address);
      }
    });

    it('/auth/status counts keys with an allowlist and keys expiring within 7 days, naming neither', async () => {
      const soon = [...ROWS, [SOON, 'Soon', '2026-03-11', true, '', '', '']];
      await gate.close();
      gate = sheetgate({ source: new FixedSource(soon, ZONE), logger, now });
      await gate.ready();
      const res = await request(app()).get('/auth/status').expect(200);
      // OFFICE, LAB, LOCAL have an allowlist (BAD_IPS is refused); TIMED and the new row expire within 7 days.
      expect(res.body).toMatchObject({ keysWithAllowedIps: 3, keysExpiringIn7Days: 2 });
      for (const leak of [...ALL_KEYS, '203.0.113.7', '10.0.0.0', '2001:db8', 'Office', 'Timed']) {
        expect(res.text).not.toContain(leak);
      }
    });

    it('/auth/status reuses one tally per snapshot for a minute, then counts again', async () => {
      let clock = T0;
      const rows = [HEADER, [SOON, 'Soon', '2026-03-12T12:00:30Z', true, '', '', '']]; // T0 + 7 days + 30 s
      await gate.close();
      gate = sheetgate({ source: new FixedSource(rows, ZONE), logger, now: () => clock });
      await gate.ready();
      const status = app({ now: () => clock });
      const expiring = async (): Promise<unknown> =>
        (await request(status).get('/auth/status').expect(200)).body.keysExpiringIn7Days;
      expect(await expiring()).toBe(0);
      clock = T0 + 40_000; // inside the window now, but the tally taken at T0 still serves
      expect(await expiring()).toBe(0);
      clock = T0 + 60_000;
      expect(await expiring()).toBe(1);
    });
  });
});
