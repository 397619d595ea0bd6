import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createApp } from '../../src/app';
import { hashKey, keyIdOf } from '../../src/keys/key-id';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { FixedSource } from '../helpers/fixed-source';
import { captureLogger } from '../helpers/log-capture';

/**
 * Forward auth with a real nginx: docs/nginx.conf, ports rewritten, in front of a tiny app, asking a
 * sheetgate built over a fixed table. Everything listens on 127.0.0.1; nginx runs as a child process of this test.
 * Needs the Debian package nginx-light (or nginx/nginx-core): skipped, with a message, when no nginx is installed.
 */

const ACTIVE = 'sk-convergence-11111111-1111-4111-8111-111111111111';
const INACTIVE = 'sk-convergence-22222222-2222-4222-8222-222222222222';
const LIMITED = 'sk-convergence-44444444-4444-4444-8444-444444444444';
const UNKNOWN = 'sk-convergence-55555555-5555-4555-8555-555555555555';
const REPORTER = 'sk-convergence-66666666-6666-4666-8666-666666666666';
const CLERK = 'sk-convergence-77777777-7777-4777-8777-777777777777';
const BROWSER = 'sk-convergence-88888888-8888-4888-8888-888888888888';
const OPEN = 'sk-convergence-99999999-9999-4999-8999-999999999999';
const LOCAL_ONLY = 'sk-convergence-aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const ELSEWHERE = 'sk-convergence-bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const HEADER = [
  'api_key',
  'client_name',
  'created_at',
  'expires_at',
  'is_active',
  'rate_limit',
  'scopes',
  'allowed_ips',
];
const ROWS = [
  HEADER,
  [ACTIVE, 'Acme', '2026-01-01', '2099-12-31', true, 1000, 'read write', ''],
  [INACTIVE, 'Gone Inc', '2026-01-01', '', false, '', '', ''],
  [LIMITED, 'Small', '2026-01-01', '', true, 2, '', ''],
  [REPORTER, 'Reporter', '2026-01-01', '', true, '', 'reports:read', ''],
  [CLERK, 'Clerk', '2026-01-01', '', true, '', 'orders:read orders:write', ''],
  [BROWSER, 'Browser', '2026-01-01', '', true, '', 'orders:read reports:read', ''],
  [OPEN, 'Open', '2026-01-01', '', true, '', '', ''],
  // nginx forwards the client address (127.0.0.1) in X-Forwarded-For; sheetgate trusts loopback proxies.
  [LOCAL_ONLY, 'Local', '2026-01-01', '', true, '', '', '127.0.0.1/32, ::1'],
  [ELSEWHERE, 'Elsewhere', '2026-01-01', '', true, '', '', '10.0.0.0/8'],
];

function findNginx(): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, 'nginx'), constants.X_OK);
      return join(dir, 'nginx');
    } catch {
      // not here
    }
  }
  return undefined;
}

const NGINX = findNginx();
if (NGINX === undefined) {
  console.warn(
    'test/integration/nginx.test.ts SKIPPED: no nginx binary on PATH or in /usr/sbin. ' +
      'Install it with `apt-get install -y nginx-light` to run the forward-auth test against a real nginx.',
  );
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

function send(port: number, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', headers, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: Server): Promise<void> {
  if (!server.listening) {
    return Promise.resolve();
  }
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A free port on 127.0.0.1 for nginx to bind (released just before nginx starts). */
async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await new Promise<number>((resolve) =>
    probe.listen(0, '127.0.0.1', () => resolve((probe.address() as AddressInfo).port)),
  );
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`nginx exited with ${child.exitCode}:\n${log()}`);
    }
    try {
      await send(port, '/_probe');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nginx did not listen on ${port}:\n${log()}`);
}

/** docs/nginx.conf with the test's ports, inside a minimal main config whose every path is in `dir`. */
function nginxConfig(dir: string, ports: { nginx: number; sheetgate: number; app: number }): string {
  const site = readFileSync(join(__dirname, '../../docs/nginx.conf'), 'utf8')
    .replace('server 127.0.0.1:8000;', `server 127.0.0.1:${ports.sheetgate};`)
    .replace('server 127.0.0.1:3000;', `server 127.0.0.1:${ports.app};`)
    .replace('listen 127.0.0.1:8080;', `listen 127.0.0.1:${ports.nginx};`);
  expect(site).toContain(`listen 127.0.0.1:${ports.nginx};`);
  writeFileSync(join(dir, 'sheetgate.conf'), site);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((name) => `    ${name}_temp_path ${join(dir, `${name}_temp`)};`)
    .join('\n');
  return [
    'worker_processes 1;',
    'daemon off;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 128; }',
    'http {',
    `    access_log ${join(dir, 'access.log')};`,
    temp,
    `    include ${join(dir, 'sheetgate.conf')};`,
    '}',
    '',
  ].join('\n');
}

(NGINX === undefined ? describe.skip : describe)('forward auth through a real nginx', () => {
  const { logger } = captureLogger();
  const seen: IncomingHttpHeaders[] = [];
  const appServer = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push(req.headers);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url, headers: req.headers, body }));
    });
  });
  let gate: Sheetgate;
  let gateServer: Server;
  let nginx: ChildProcess | undefined;
  let dir = '';
  let port = 0;
  let gatePort = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sheetgate-nginx-'));
    for (const name of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
      mkdirSync(join(dir, `${name}_temp`));
    }
    chmodSync(dir, 0o777); // run as root, nginx's workers drop to `nobody` and write their temp files here
    gate = sheetgate({ source: new FixedSource(ROWS), logger });
    await gate.ready();
    gateServer = http.createServer(createApp({ gate, logger, trustProxy: 'loopback' }));
    gatePort = await listen(gateServer);
    const appPort = await listen(appServer);
    port = await freePort();
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, nginxConfig(dir, { nginx: port, sheetgate: gatePort, app: appPort }));
    const nginxPath = NGINX ?? 'nginx';
    const check = spawnSync(nginxPath, ['-t', '-p', dir, '-c', conf, '-e', join(dir, 'error.log')], {
      encoding: 'utf8',
    });
    if (check.status !== 0) {
      throw new Error(`nginx -t refused the config:\n${check.stderr}`);
    }
    let output = '';
    const child = spawn(nginxPath, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    nginx = child;
    await waitForPort(port, child, () => output + readFileSync(join(dir, 'error.log'), 'utf8'));
  });

  afterAll(async () => {
    if (nginx !== undefined && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx?.once('exit', resolve));
      nginx.kill('SIGTERM'); // fast shutdown of master and workers
      await exited;
    }
    await close(gateServer);
    await close(appServer);
    await gate.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a good key reaches the app with identity headers and without the key', async () => {
    const reply = await send(port, '/shop/7?full=1', {
      authorization: `Bearer ${ACTIVE}`,
      'x-client-name': 'forged',
      'x-sheetgate-key-id': 'forged',
    });
    expect(reply.status).toBe(200);
    const { url, headers } = JSON.parse(reply.text) as { url: string; headers: IncomingHttpHeaders };
    expect(url).toBe('/shop/7?full=1');
    expect(headers['x-client-name']).toBe('Acme');
    expect(headers['x-sheetgate-key-id']).toBe(keyIdOf(hashKey(ACTIVE)));
    expect(headers['x-sheetgate-scopes']).toBe('read write');
    expect(headers['authorization']).toBeUndefined();
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(reply.text).not.toContain(ACTIVE);
    expect(reply.headers['ratelimit-limit']).toBe('1000');
    expect(reply.headers['x-client-name']).toBe('Acme');
    expect(reply.headers['x-sheetgate-key-expiration']).toBe('2099-12-31T23:59:59.999Z');
  });

  it('a key without expiry: no expiry header from nginx either', async () => {
    const reply = await send(port, '/shop', { 'x-api-key': OPEN });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-sheetgate-key-expiration']).toBeUndefined();
  });

  it.each([
    ['/reports/ (reports:read) with a key holding it', '/reports/q1', REPORTER],
    ['/reports/ (reports:read) with a key holding it and more', '/reports/q1', BROWSER],
    ['/orders/ (orders:read + orders:write) with a key holding both', '/orders/7', CLERK],
    ['/orders/ with a key without scopes (full access)', '/orders/7', OPEN],
    ['/reports/ with a key without scopes (full access)', '/reports/q1', OPEN],
    ['an unscoped location with a scoped key', '/shop/1', REPORTER],
  ])('%s → the app answers', async (_name, path, key) => {
    const reply = await send(port, path, { 'x-api-key': key });
    expect(reply.status).toBe(200);
    expect((JSON.parse(reply.text) as { url: string }).url).toBe(path);
  });

  it.each([
    ['/orders/ with a key holding only reports:read', '/orders/7', REPORTER, 'orders:read orders:write'],
    ['/orders/ with a key holding one of its two scopes', '/orders/7', BROWSER, 'orders:read orders:write'],
    ['/reports/ with a key holding only orders scopes', '/reports/q1', CLERK, 'reports:read'],
  ])(
    '%s → 403 insufficient_scope from nginx with the challenge; the app is not called',
    async (_n, path, key, scope) => {
      const before = seen.length;
      const reply = await send(port, path, { 'x-api-key': key });
      expect(reply.status).toBe(403);
      expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(reply.text)).toMatchObject({ status: 403, code: 'insufficient_scope' });
      expect(reply.headers['www-authenticate']).toBe(
        `Bearer realm="sheetgate", error="insufficient_scope", scope="${scope}"`,
      );
      expect(seen.length).toBe(before);
    },
  );

  it('a client cannot lift a route requirement by sending X-Sheetgate-Require-Scope itself', async () => {
    const reply = await send(port, '/orders/7', { 'x-api-key': REPORTER, 'x-sheetgate-require-scope': '' });
    expect(reply.status).toBe(403);
    const open = await send(port, '/shop/1', { 'x-api-key': REPORTER, 'x-sheetgate-require-scope': 'admin' });
    expect(open.status).toBe(200); // nginx replaces the header with the location's own (none here)
  });

  it('allowed_ips sees the client address nginx forwards: listed → app; not listed → 403 ip_not_allowed', async () => {
    expect((await send(port, '/shop', { 'x-api-key': LOCAL_ONLY })).status).toBe(200);
    const before = seen.length;
    const reply = await send(port, '/shop', { 'x-api-key': ELSEWHERE });
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.text)).toMatchObject({ status: 403, code: 'ip_not_allowed' });
    expect(reply.headers['www-authenticate']).toBeUndefined();
    expect(reply.text).not.toContain('10.0.0.0');
    expect(seen.length).toBe(before);
  });

  it('passes the request body to the app (the auth subrequest goes without it)', async () => {
    const reply = await send(port, '/upload', { 'x-api-key': ACTIVE, 'content-type': 'text/plain' }, 'payload');
    expect(reply.status).toBe(200);
    const { body, headers } = JSON.parse(reply.text) as { body: string; headers: IncomingHttpHeaders };
    expect(body).toBe('payload');
    expect(headers['x-api-key']).toBeUndefined();
  });

  it.each([
    ['no key', {}, 'missing_api_key', 'Bearer realm="sheetgate"'],
    ['an unknown key', { authorization: `Bearer ${UNKNOWN}` }, 'invalid_api_key', undefined],
    ['an inactive key', { 'x-api-key': INACTIVE }, 'key_inactive', undefined],
  ])('%s → 401 from nginx, problem+json, WWW-Authenticate; the app is not called', async (_n, headers, code, www) => {
    const before = seen.length;
    const reply = await send(port, '/shop', headers);
    expect(reply.status).toBe(401);
    expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(reply.headers['www-authenticate']).toBe(www ?? 'Bearer realm="sheetgate", error="invalid_token"');
    const body = JSON.parse(reply.text) as { status: number; code: string };
    expect(body.status).toBe(401);
    // nginx only sees the subrequest's status; X-Sheetgate-Code carries the exact refusal through.
    expect(body.code).toBe(code);
    expect(seen.length).toBe(before);
  });

  it('over the per-minute limit → 429 from nginx with Retry-After', async () => {
    await send(port, '/a', { 'x-api-key': LIMITED }).then((r) => expect(r.status).toBe(200));
    await send(port, '/a', { 'x-api-key': LIMITED }).then((r) => expect(r.status).toBe(200));
    const reply = await send(port, '/a', { 'x-api-key': LIMITED });
    expect(reply.status).toBe(429);
    expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(reply.text)).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(reply.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(reply.headers['ratelimit-remaining']).toBe('0');
  });

  it('fails closed when sheetgate is down: 503 auth_unavailable, the app is not called', async () => {
    await close(gateServer);
    const before = seen.length;
    const reply = await send(port, '/shop', { 'x-api-key': ACTIVE });
    expect(reply.status).toBe(503);
    expect(JSON.parse(reply.text)).toMatchObject({ code: 'auth_unavailable' });
    expect(seen.length).toBe(before);
  });
});
