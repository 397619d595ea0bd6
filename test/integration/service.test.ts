import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { startServer } from '../../src/server';
import type { Running } from '../../src/server';
import { startEmulator } from '../../emulator/server';
import type { Emulator } from '../../emulator/server';
import { makeCredentials } from '../../emulator/credentials';
import { captureLogger } from '../helpers/log-capture';
import { HEADER } from '../helpers/fixed-source';

const KEY = 'sk-convergence-0a0a0a0a-0000-4000-8000-0000000000aa';

/** The whole composition root (server.ts) in reverse-proxy mode, against the emulator and a real upstream. */
describe('the service as server.ts wires it (UPSTREAM_URL, metrics, usage status)', () => {
  let emulator: Emulator;
  let upstream: Server;
  let running: Running;
  let sheetId: string;
  const seen: IncomingHttpHeaders[] = [];
  const { logger, capture } = captureLogger();

  beforeAll(async () => {
    const { path, credentials } = makeCredentials();
    emulator = await startEmulator();
    emulator.trust(credentials);
    sheetId = emulator.createSpreadsheet({ tabs: { API_Keys: [HEADER, [KEY, 'Acme', '', '', true, 5]] } });
    upstream = createServer((req, res) => {
      seen.push(req.headers);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ upstream: true, url: req.url }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const config = loadConfig({
      PORT: '0',
      GOOGLE_CREDENTIALS_PATH: path,
      GOOGLE_SHEET_ID: sheetId,
      GOOGLE_SHEETS_ROOT_URL: emulator.url,
      UPSTREAM_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      USAGE_FLUSH_INTERVAL: '3600',
      LOG_LEVEL: 'debug',
    });
    running = await startServer(config, logger);
    // Wait for the first load.
    for (let i = 0; i < 50 && (await request(running.server).get('/ready')).status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    await running.shutdown('test');
    await new Promise((resolve) => upstream.close(resolve));
    await emulator.close();
    expect(capture.text()).not.toContain(KEY);
  });

  it('proxies an authenticated request with identity headers and without the key', async () => {
    const res = await request(running.server).get('/orders/1?x=2').set('Authorization', `Bearer ${KEY}`).expect(200);
    expect(res.body).toEqual({ upstream: true, url: '/orders/1?x=2' });
    const headers = seen.at(-1);
    expect(headers?.['x-client-name']).toBe('Acme');
    expect(headers?.['authorization']).toBeUndefined();
    expect(headers?.['x-sheetgate-key-id']).toMatch(/^[0-9a-f]{16}$/);
  });

  it("serves through createHttpServer: req and res start with the app's prototypes, not Node's", async () => {
    const seen: boolean[] = [];
    const look = (req: IncomingMessage, res: ServerResponse): void => {
      seen.push(
        Object.getPrototypeOf(req) !== IncomingMessage.prototype,
        Object.getPrototypeOf(res) !== ServerResponse.prototype,
      );
    };
    running.server.prependListener('request', look);
    try {
      await request(running.server).get('/health').expect(200);
    } finally {
      running.server.off('request', look);
    }
    expect(seen).toEqual([true, true]);
  });

  it('refuses before the upstream sees anything', async () => {
    const before = seen.length;
    await request(running.server).get('/orders/1').expect(401);
    expect(seen.length).toBe(before);
  });

  it('keeps public endpoints on sheetgate and counts decisions in /metrics', async () => {
    await request(running.server).get('/health').expect(200, { status: 'ok' });
    const metrics = await request(running.server).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/sheetgate_auth_decisions_total\{outcome="ok"\} [1-9]/);
    expect(metrics.text).toMatch(/sheetgate_auth_decisions_total\{outcome="missing_api_key"\} [1-9]/);
    expect(metrics.text).not.toContain(KEY);
    expect(metrics.text).toContain('sheetgate_auth_mode{mode="enforce"} 1');
    expect(metrics.text).toContain('sheetgate_auth_mode{mode="degraded"} 0');
  });

  it('shows pending usage in /auth/status, then writes it to the sheet on shutdown', async () => {
    const status = await request(running.server).get('/auth/status').expect(200);
    expect(status.body.usage.pendingRequests).toBeGreaterThanOrEqual(1);
    const served = status.body.usage.pendingRequests as number;
    await running.shutdown('SIGTERM');
    const rows = emulator.getValues(sheetId, 'API_Keys');
    const usageCol = rows[0]?.indexOf('usage_count') ?? -1;
    expect(usageCol).toBeGreaterThan(0);
    expect(rows[1]?.[usageCol]).toBe(served);
  });
});

describe('the service without credentials (degraded mode)', () => {
  it('says so in sheetgate_auth_mode, so an alert can fire on an open gate', async () => {
    const { logger } = captureLogger();
    const running = await startServer(loadConfig({ PORT: '0' }), logger);
    try {
      const metrics = await request(running.server).get('/metrics').expect(200);
      expect(metrics.text).toContain('sheetgate_auth_mode{mode="degraded"} 1');
      expect(metrics.text).toContain('sheetgate_auth_mode{mode="enforce"} 0');
      expect(metrics.text).toContain('sheetgate_auth_mode{mode="disabled"} 0');
    } finally {
      await running.shutdown('SIGTERM');
    }
  });
});
