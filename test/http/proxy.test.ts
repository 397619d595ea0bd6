import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { createApp } from '../../src/app';
import { proxyRoutes, upgradeHandler } from '../../src/http/proxy';
import { hashKey, keyIdOf } from '../../src/keys/key-id';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { FixedSource } from '../helpers/fixed-source';
import { captureLogger } from '../helpers/log-capture';

const ACTIVE = 'sk-convergence-11111111-1111-4111-8111-111111111111';
const LIMITED = 'sk-convergence-44444444-4444-4444-8444-444444444444';
const EVIL_NAME = 'sk-convergence-77777777-7777-4777-8777-777777777777';
const UNKNOWN = 'sk-convergence-55555555-5555-4555-8555-555555555555';
const UNICODE = 'sk-convergence-88888888-8888-4888-8888-888888888888';
const ALL_KEYS = [ACTIVE, LIMITED, EVIL_NAME, UNKNOWN, UNICODE];
const HEADER = ['api_key', 'client_name', 'created_at', 'expires_at', 'is_active', 'rate_limit', 'scopes'];
const ROWS = [
  HEADER,
  [ACTIVE, 'Acme', '2026-01-01', '', true, 100_000, 'read write'],
  [LIMITED, 'Small', '2026-01-01', '', true, 1, ''],
  [EVIL_NAME, 'Evil\r\nX-Injected: 1 日本', '2026-01-01', '', true, 100_000, ''],
  [UNICODE, 'Café', '2026-01-01', '', true, 100_000, 'données:écrire 日本:読む\u0007'],
];

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

function collect(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

function send(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string | string[]>; body?: Buffer },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
        agent: false,
      },
      (res) => {
        collect(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }), reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** What the upstream saw of the last request. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bytes: number;
  sha256: string;
}

/** A tiny upstream: echoes what it received, streams, stalls, and accepts websockets on /ws. */
class Upstream {
  readonly server: Server;
  readonly wss = new WebSocketServer({ noServer: true });
  readonly seen: Seen[] = [];
  wsHeaders: IncomingHttpHeaders | undefined;
  /** Resolved by the test to let a paused stream go on. */
  release: () => void = () => undefined;
  /** Called when the upstream's never-ending /hold response is closed. */
  onHoldClosed: (finished: boolean) => void = () => undefined;
  /** Called when the upstream has read the first chunk of a streamed request body. */
  onFirstChunk: () => void = () => undefined;
  port = 0;

  constructor() {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket, head) => {
      if (req.url !== '/ws') {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nno ws');
        return;
      }
      this.wsHeaders = req.headers;
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data, binary) => ws.send(data, { binary }));
      });
    });
  }

  async start(): Promise<number> {
    this.port = await listen(this.server);
    return this.port;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path?.endsWith('/slow')) {
      return; // never answers: the proxy's timeout must
    }
    if (path === '/chunked') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-total-sha256': CHUNKED_SHA });
      for (const chunk of CHUNKS) {
        res.write(chunk);
        await new Promise((r) => setImmediate(r));
      }
      res.end();
      return;
    }
    if (path === '/paused') {
      // First chunk, then wait for the test: only a streaming proxy lets the client see it before the end.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      await new Promise<void>((r) => (this.release = r));
      res.end('rest');
      return;
    }
    if (path === '/upload-paused') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => {
        chunks.push(c);
        this.onFirstChunk();
      });
      await new Promise((r) => req.on('end', r));
      res.end(Buffer.concat(chunks));
      return;
    }
    if (path === '/hold') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('held;');
      res.on('close', () => this.onHoldClosed(res.writableFinished));
      return; // never ends by itself: only the client going away closes it
    }
    if (path === '/dies') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.destroy(), 20);
      return;
    }
    if (path === '/cookies') {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      res.setHeader('connection', 'keep-alive, x-upstream-hop');
      res.setHeader('x-upstream-hop', 'must not pass');
      res.end('ok');
      return;
    }
    const body = await collect(req);
    const seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bytes: body.length,
      sha256: sha256(body),
    };
    this.seen.push(seen);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(seen));
  }
}

/** `promise`'s value, or 'still pending' after `ms`: a wait that fails with a message instead of a test timeout. */
function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | 'still pending'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'still pending'>((resolve) => (timer = setTimeout(() => resolve('still pending'), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

const CHUNKS = Array.from({ length: 64 }, () => randomBytes(16 * 1024 + 7));
const CHUNKED_SHA = sha256(Buffer.concat(CHUNKS));

describe('reverse proxy', () => {
  const { logger, capture } = captureLogger();
  const upstream = new Upstream();
  let gate: Sheetgate;
  let gateServer: Server;
  let port = 0;

  beforeAll(async () => {
    const upstreamPort = await upstream.start();
    gate = sheetgate({ source: new FixedSource(ROWS), logger });
    await gate.ready();
    const app = createApp({
      gate,
      logger,
      protectedRoutes: [proxyRoutes(`http://127.0.0.1:${upstreamPort}`, { logger, timeoutMs: 300 })],
    });
    gateServer = http.createServer(app);
    gateServer.on('upgrade', upgradeHandler(app));
    port = await listen(gateServer);
  });

  afterAll(async () => {
    await close(gateServer);
    upstream.wss.close();
    await close(upstream.server);
    await gate.close();
    const text = capture.text();
    for (const key of ALL_KEYS) {
      expect(text).not.toContain(key);
    }
  });

  const auth = { authorization: `Bearer ${ACTIVE}` };

  it('streams a 10 MB request body to the upstream unchanged', async () => {
    const body = randomBytes(10 * 1024 * 1024);
    const reply = await send(port, { method: 'POST', path: '/upload?x=1', headers: { ...auth }, body });
    expect(reply.status).toBe(200);
    const seen = JSON.parse(reply.body.toString()) as Seen;
    expect(seen).toMatchObject({ method: 'POST', url: '/upload?x=1', bytes: body.length, sha256: sha256(body) });
  });

  it('streams a chunked 1 MB response to the client unchanged', async () => {
    const reply = await send(port, { path: '/chunked', headers: auth });
    expect(reply.status).toBe(200);
    expect(reply.headers['transfer-encoding']).toBe('chunked');
    expect(sha256(reply.body)).toBe(CHUNKED_SHA);
    expect(reply.headers['x-total-sha256']).toBe(CHUNKED_SHA);
  });

  it('does not buffer the response: the first chunk arrives before the upstream has finished', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/paused', headers: auth, agent: false }, (res) => {
        let got = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          got += c;
          if (got === 'first;') {
            upstream.release();
          }
        });
        res.on('end', () => resolve(got));
      });
      req.on('error', reject);
    });
    expect(text).toBe('first;rest');
  });

  it('does not buffer the request: the upstream reads the first chunk before the client has finished', async () => {
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method: 'PUT', path: '/upload-paused', headers: auth, agent: false },
        (res) => void collect(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body })),
      );
      req.on('error', reject);
      // The rest of the body is sent only once the upstream has read the first chunk (chunked: no Content-Length).
      upstream.onFirstChunk = () => {
        upstream.onFirstChunk = () => undefined;
        req.end('two');
      };
      req.write('one;');
    });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('one;two');
  });

  it('hides the credentials and sends identity and X-Forwarded-* headers sheetgate alone sets', async () => {
    const reply = await send(port, {
      path: '/headers',
      headers: {
        'x-api-key': ACTIVE,
        'x-client-name': 'forged',
        'x-sheetgate-key-id': 'forged',
        'x-sheetgate-scopes': 'admin',
        'x-forwarded-for': '203.0.113.9',
        'x-forwarded-host': 'forged.example',
        connection: 'x-hop',
        'x-hop': 'hop-by-hop, must not pass',
        'x-end-to-end': 'kept',
      },
    });
    expect(reply.status).toBe(200);
    const { headers } = JSON.parse(reply.body.toString()) as Seen;
    expect(headers['authorization']).toBeUndefined();
    expect(headers['x-api-key']).toBeUndefined();
    expect(headers['x-client-name']).toBe('Acme');
    expect(headers['x-sheetgate-key-id']).toBe(keyIdOf(hashKey(ACTIVE)));
    expect(headers['x-sheetgate-scopes']).toBe('read write');
    // Without TRUST_PROXY nothing the client wrote in X-Forwarded-For is passed on: only the connection's address.
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-forwarded-host']).toBe(`127.0.0.1:${port}`);
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['host']).toBe(`127.0.0.1:${upstream.port}`);
    expect(headers['x-hop']).toBeUndefined();
    expect(headers['x-end-to-end']).toBe('kept');
    expect(JSON.stringify(headers)).not.toContain(ACTIVE);
    // The client still gets sheetgate's own headers on the proxied answer.
    expect(reply.headers['x-client-name']).toBe('Acme');
    expect(reply.headers['ratelimit-limit']).toBe('100000');
  });

  it('sends a header-safe X-Client-Name: no injected header reaches the upstream', async () => {
    const reply = await send(port, { path: '/headers', headers: { authorization: `ApiKey ${EVIL_NAME}` } });
    const { headers } = JSON.parse(reply.body.toString()) as Seen;
    expect(headers['x-injected']).toBeUndefined();
    expect(headers['x-client-name']).toBe('EvilX-Injected: 1 %E6%97%A5%E6%9C%AC');
  });

  it('drops every header sheetgate owns under any spelling (X_Client_Name, x_sheetgate_*, Forwarded, X-Real-IP)', async () => {
    const forged = {
      X_Client_Name: 'Mallory',
      'X-Client_Name': 'Mallory',
      x_sheetgate_key_id: 'forged',
      X_Sheetgate_Scopes: 'sheetgate:admin',
      'x-sheetgate-anything': 'forged',
      x_api_key: ACTIVE,
      X_Forwarded_For: '203.0.113.9',
      x_forwarded_host: 'forged.example',
      'X-Forwarded-Port': '1',
      Forwarded: 'for=203.0.113.9;host=forged.example',
      'X-Real-IP': '203.0.113.9',
      X_Real_IP: '203.0.113.9',
      'x-end_to_end': 'kept',
    };
    const reply = await send(port, { path: '/headers', headers: { ...auth, ...forged } });
    expect(reply.status).toBe(200);
    const { headers } = JSON.parse(reply.body.toString()) as Seen;
    const names = Object.keys(headers);
    expect(names.filter((name) => name.includes('_') && name !== 'x-end_to_end')).toEqual([]);
    expect(names).not.toContain('forwarded');
    expect(names).not.toContain('x-real-ip');
    expect(names).not.toContain('x-forwarded-port');
    expect(names).not.toContain('x-sheetgate-anything');
    expect(headers['x-client-name']).toBe('Acme');
    expect(headers['x-sheetgate-key-id']).toBe(keyIdOf(hashKey(ACTIVE)));
    expect(headers['x-sheetgate-scopes']).toBe('read write');
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-end_to_end']).toBe('kept');
    expect(JSON.stringify(headers)).not.toContain('Mallory');
    expect(JSON.stringify(headers)).not.toContain('203.0.113.9');
    expect(JSON.stringify(headers)).not.toContain(ACTIVE);
  });

  it('sends header-safe scopes and client name: données:écrire, 日本:読む, control characters', async () => {
    const reply = await send(port, { path: '/headers', headers: { 'x-api-key': UNICODE } });
    expect(reply.status).toBe(200);
    const { headers } = JSON.parse(reply.body.toString()) as Seen;
    expect(headers['x-client-name']).toBe('Caf%C3%A9');
    expect(headers['x-sheetgate-scopes']).toBe('donn%C3%A9es:%C3%A9crire %E6%97%A5%E6%9C%AC:%E8%AA%AD%E3%82%80');
    expect(decodeURIComponent(headers['x-sheetgate-scopes'] as string)).toBe('données:écrire 日本:読む');
    expect(reply.headers['x-client-name']).toBe('Caf%C3%A9');
  });

  it.each([
    ['a forged chain: only the hop TRUST_PROXY=1 trusts', '6.6.6.6, 198.51.100.7', '198.51.100.7, 127.0.0.1'],
    ['one address (the trusted proxy saw the client)', '198.51.100.7', '198.51.100.7, 127.0.0.1'],
    ['none', undefined, '127.0.0.1'],
  ])('X-Forwarded-For with TRUST_PROXY=1 and %s', async (_name, sent, expected) => {
    const app = createApp({
      gate,
      logger,
      trustProxy: 1,
      protectedRoutes: [proxyRoutes(`http://127.0.0.1:${upstream.port}`, { logger })],
    });
    const server = http.createServer(app);
    const p = await listen(server);
    try {
      const headers = sent === undefined ? auth : { ...auth, 'x-forwarded-for': sent };
      const reply = await send(p, { path: '/headers', headers });
      const seen = JSON.parse(reply.body.toString()) as Seen;
      expect(seen.headers['x-forwarded-for']).toBe(expected);
    } finally {
      await close(server);
    }
  });

  it('relays repeated response headers and drops hop-by-hop ones', async () => {
    const reply = await send(port, { path: '/cookies', headers: auth });
    expect(reply.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(reply.headers['x-upstream-hop']).toBeUndefined();
  });

  it('refuses without a key before the upstream is called; public routes stay on sheetgate', async () => {
    const before = upstream.seen.length;
    const refused = await send(port, { path: '/anything' });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body.toString())).toMatchObject({ code: 'missing_api_key' });
    const unknown = await send(port, { path: '/anything', headers: { 'x-api-key': UNKNOWN } });
    expect(unknown.status).toBe(401);
    expect((await send(port, { path: '/health' })).status).toBe(200);
    expect((await send(port, { path: '/auth/status' })).status).toBe(200);
    const whoami = await send(port, { path: '/auth/whoami', headers: auth });
    expect(JSON.parse(whoami.body.toString())).toMatchObject({ clientName: 'Acme' });
    expect(upstream.seen.length).toBe(before);
  });

  it('504 upstream_timeout when the upstream stays silent longer than timeoutMs', async () => {
    const reply = await send(port, { path: '/slow', headers: auth });
    expect(reply.status).toBe(504);
    expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(reply.body.toString())).toMatchObject({ status: 504, code: 'upstream_timeout' });
  });

  it('cuts the client response when the upstream dies mid-body (never a silently short 200)', async () => {
    const outcome = await send(port, { path: '/dies', headers: auth }).then(
      (reply) => `complete ${reply.body.length}`,
      (err: unknown) => `error ${String(err)}`,
    );
    expect(outcome).toMatch(/^error /);
  });

  it('aborts the upstream request when the client goes away mid-response', async () => {
    const upstreamClosed = new Promise<string>((resolve) => {
      upstream.onHoldClosed = (finished) => resolve(finished ? 'upstream response finished' : 'upstream response cut');
    });
    const before = capture.lines.length;
    const firstChunk = await new Promise<string>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/hold', headers: auth, agent: false }, (res) => {
        res.once('data', (chunk: Buffer) => {
          req.destroy();
          resolve(chunk.toString());
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
    });
    expect(firstChunk).toBe('held;');
    expect(await settledWithin(upstreamClosed, 3000)).toBe('upstream response cut');
    // Closed by the client's departure, not later by the proxy's idle timeout (which logs the upstream as failed).
    expect(capture.lines.slice(before).filter((l) => l.includes('upstream request failed'))).toEqual([]);
  });

  it('forwards an absolute-form request target in origin form', async () => {
    const reply = await send(port, { path: `http://127.0.0.1:${port}/abs?q=1`, headers: auth });
    expect(JSON.parse(reply.body.toString())).toMatchObject({ url: '/abs?q=1' });
  });

  it('keeps the upstream URL path as a prefix', async () => {
    const app = createApp({
      gate,
      logger,
      protectedRoutes: [proxyRoutes(`http://127.0.0.1:${upstream.port}/base/`, { logger })],
    });
    const server = http.createServer(app);
    const p = await listen(server);
    try {
      const reply = await send(p, { method: 'DELETE', path: '/items/7?force=1', headers: auth });
      expect(JSON.parse(reply.body.toString())).toMatchObject({ method: 'DELETE', url: '/base/items/7?force=1' });
    } finally {
      await close(server);
    }
  });

  it('502 upstream_unavailable when the upstream cannot be reached', async () => {
    const dead = http.createServer();
    const deadPort = await listen(dead);
    await close(dead);
    const app = createApp({ gate, logger, protectedRoutes: [proxyRoutes(`http://127.0.0.1:${deadPort}`, { logger })] });
    const server = http.createServer(app);
    const p = await listen(server);
    try {
      const reply = await send(p, { method: 'POST', path: '/x', headers: auth, body: Buffer.from('data') });
      expect(reply.status).toBe(502);
      expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(reply.body.toString())).toMatchObject({ status: 502, code: 'upstream_unavailable' });
      expect(
        capture.lines.some((l) => l.includes('"error":"ECONNREFUSED"') && l.includes('upstream request failed')),
      ).toBe(true);
    } finally {
      await close(server);
    }
  });

  it.each([
    ['ftp://example.com', /http: or https:/],
    ['http://example.com/?a=1', /query or fragment/],
    ['http://user:pw@example.com/', /credentials/],
    ['not a url', /Invalid URL/],
  ])('refuses upstream %s at construction', (url, message) => {
    expect(() => proxyRoutes(url, { logger })).toThrow(message);
  });

  describe('websockets', () => {
    function open(path: string, headers: Record<string, string> = {}): Promise<WebSocket> {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      });
    }

    function refusal(path: string, headers: Record<string, string> = {}): Promise<Reply> {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
        ws.once('open', () => reject(new Error('upgrade should have been refused')));
        ws.once('error', () => undefined); // ws reports the refusal as an error after unexpected-response
        ws.once('unexpected-response', (_req, res) => {
          void collect(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
      });
    }

    it('upgrades after auth: messages echo both ways, the upstream sees identity and no key', async () => {
      const ws = await open('/ws', { 'x-api-key': ACTIVE });
      const echoed = new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));
      ws.send('ping through sheetgate');
      expect(await echoed).toBe('ping through sheetgate');
      const big = randomBytes(256 * 1024);
      const bigEcho = new Promise<Buffer>((resolve) => ws.once('message', (data: Buffer) => resolve(data)));
      ws.send(big);
      expect(sha256(await bigEcho)).toBe(sha256(big));
      expect(upstream.wsHeaders?.['x-client-name']).toBe('Acme');
      expect(upstream.wsHeaders?.['x-api-key']).toBeUndefined();
      expect(upstream.wsHeaders?.['authorization']).toBeUndefined();
      const closed = new Promise((resolve) => ws.once('close', resolve));
      ws.close();
      await closed;
    });

    it.each([
      ['no key', {}, 401, 'missing_api_key'],
      ['an unknown key', { authorization: `Bearer ${UNKNOWN}` }, 401, 'invalid_api_key'],
    ])('refuses the upgrade with %s: problem+json, upstream never reached', async (_name, headers, status, code) => {
      upstream.wsHeaders = undefined;
      const reply = await refusal('/ws', headers);
      expect(reply.status).toBe(status);
      expect(reply.headers['www-authenticate']).toMatch(/^Bearer realm="sheetgate"/);
      expect(JSON.parse(reply.body.toString())).toMatchObject({ code });
      expect(upstream.wsHeaders).toBeUndefined();
    });

    it('refuses the upgrade over the rate limit with 429 and Retry-After', async () => {
      const first = await open('/ws', { 'x-api-key': LIMITED });
      first.close();
      const reply = await refusal('/ws', { 'x-api-key': LIMITED });
      expect(reply.status).toBe(429);
      expect(Number(reply.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    });

    it('answers an Upgrade to a public route like any request, without tunnelling it', async () => {
      const reply = await refusal('/health');
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body.toString())).toEqual({ status: 'ok' });
    });

    it('closeAll() ends open tunnels so that server.close() can finish (shutdown)', async () => {
      const app = createApp({
        gate,
        logger,
        protectedRoutes: [proxyRoutes(`http://127.0.0.1:${upstream.port}`, { logger })],
      });
      const server = http.createServer(app);
      const upgrades = upgradeHandler(app);
      server.on('upgrade', upgrades);
      const p = await listen(server);
      const ws = await new Promise<WebSocket>((resolve, reject) => {
        const client = new WebSocket(`ws://127.0.0.1:${p}/ws`, { headers: { 'x-api-key': ACTIVE } });
        client.once('open', () => resolve(client));
        client.once('error', reject);
      });
      const clientClosed = new Promise<string>((resolve) => ws.once('close', () => resolve('client closed')));
      const serverClosed = new Promise<string>((resolve) =>
        server.close((err) => resolve(err === undefined ? 'server closed' : `server: ${err.message}`)),
      );
      server.closeIdleConnections();
      upgrades.closeAll();
      expect(await settledWithin(Promise.all([clientClosed, serverClosed]), 3000)).toEqual([
        'client closed',
        'server closed',
      ]);
      expect(ws.readyState).toBe(WebSocket.CLOSED);
    });

    /** A raw handshake (the ws client always writes `Upgrade: websocket` in lower case). */
    function handshake(upgrade: string, headers: Record<string, string>): Promise<Reply | 'switched'> {
      return new Promise((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port,
          path: '/ws',
          agent: false,
          headers: {
            connection: 'Upgrade',
            upgrade,
            'sec-websocket-key': randomBytes(16).toString('base64'),
            'sec-websocket-version': '13',
            'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA',
            ...headers,
          },
        });
        req.on('upgrade', (_res, socket) => {
          socket.destroy();
          resolve('switched');
        });
        req.on('response', (res) => {
          void collect(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.end();
      });
    }

    it('tunnels Upgrade: WebSocket in any case, sent upstream as websocket', async () => {
      upstream.wsHeaders = undefined;
      expect(await handshake('WebSocket', { 'x-api-key': ACTIVE })).toBe('switched');
      expect(upstream.wsHeaders?.['upgrade']).toBe('websocket');
    });

    it.each(['h2c', 'websocket, h2c', 'TLS/1.2'])(
      'refuses Upgrade: %s with 400 upgrade_not_supported; the upstream never sees it',
      async (token) => {
        upstream.wsHeaders = undefined;
        const before = upstream.seen.length;
        const reply = await handshake(token, { 'x-api-key': ACTIVE });
        expect(reply).not.toBe('switched');
        const { status, headers, body } = reply as Reply;
        expect(status).toBe(400);
        expect(headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(JSON.parse(body.toString())).toMatchObject({ status: 400, code: 'upgrade_not_supported' });
        expect(upstream.wsHeaders).toBeUndefined();
        expect(upstream.seen.length).toBe(before);
      },
    );

    it('refuses Upgrade: h2c without a key with 401, before any upgrade decision', async () => {
      const reply = (await handshake('h2c', {})) as Reply;
      expect(reply.status).toBe(401);
    });

    it('relays the upstream refusing the upgrade', async () => {
      const reply = await refusal('/not-ws', { 'x-api-key': ACTIVE });
      expect(reply.status).toBe(404);
      expect(reply.body.toString()).toBe('no ws');
    });
  });
});
