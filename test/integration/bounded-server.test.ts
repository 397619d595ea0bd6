/**
 * The real composition (`startServer`, the emulator, the real googleapis client): shutdown bounded by
 * SHUTDOWN_TIMEOUT with the final usage flush still written, the server's time bounds, the TRUST_PROXY=true warning.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmulator } from '../../emulator/server';
import type { Emulator } from '../../emulator/server';
import { loadConfig } from '../../src/config';
import { SERVER_TIMEOUTS } from '../../src/http/http-server';
import { startServer } from '../../src/server';
import { makeCredentials } from '../../emulator/credentials';
import { captureLogger } from '../helpers/log-capture';

const TAB = 'API_Keys';
const HEADER = ['api_key', 'client_name', 'is_active', 'usage_count'];

describe('bounded server (real composition)', () => {
  let emulator: Emulator;
  const { credentials, path } = makeCredentials();

  beforeAll(async () => {
    emulator = await startEmulator();
    emulator.trust(credentials);
  });

  afterAll(async () => {
    await emulator.close();
  });

  it('cuts a request still in flight after SHUTDOWN_TIMEOUT, then writes the final usage flush', async () => {
    // An upstream that never answers: the proxied request stays in flight until shutdown cuts it.
    let arrived: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const silent: Server = http.createServer(() => arrived());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const key = `sk-convergence-${randomUUID()}`;
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: [HEADER, [key, 'Alpha', true, 40]] } });
    const { logger, capture } = captureLogger();
    const running = await startServer(
      loadConfig({
        PORT: '0',
        GOOGLE_CREDENTIALS_PATH: path,
        GOOGLE_SHEET_ID: id,
        GOOGLE_SHEETS_ROOT_URL: emulator.url,
        UPSTREAM_URL: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        USAGE_FLUSH_INTERVAL: '3600', // only the shutdown flush can write within this test
        SHUTDOWN_TIMEOUT: '1',
      }),
      logger,
    );
    try {
      for (let i = 0; i < 100 && (await fetch(`http://127.0.0.1:${running.port}/ready`)).status !== 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const inFlight = fetch(`http://127.0.0.1:${running.port}/slow`, { headers: { 'x-api-key': key } }).then(
        (res) => `answered ${res.status}`,
        (err: unknown) => `cut: ${String(err)}`,
      );
      await reached;
      const batchesBefore = emulator.stats.byMethod['values.batchUpdate'] ?? 0;

      await running.shutdown('SIGTERM');

      expect(await inFlight).toMatch(/^cut: /);
      expect(capture.text()).toContain('SIGTERM: requests still in flight after SHUTDOWN_TIMEOUT=1s are cut');
      expect(emulator.stats.byMethod['values.batchUpdate']).toBe(batchesBefore + 1);
      expect(emulator.getValues(id, TAB)[1]?.[3]).toBe(41);
      expect(capture.text()).not.toContain(key);
    } finally {
      await running.shutdown('test');
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('sets the documented keep-alive, headers and request timeouts on the listening server', async () => {
    const { logger } = captureLogger();
    const running = await startServer(loadConfig({ PORT: '0' }), logger);
    try {
      expect({
        keepAliveTimeout: running.server.keepAliveTimeout,
        headersTimeout: running.server.headersTimeout,
        requestTimeout: running.server.requestTimeout,
      }).toEqual(SERVER_TIMEOUTS);
      expect(SERVER_TIMEOUTS).toEqual({ keepAliveTimeout: 65_000, headersTimeout: 15_000, requestTimeout: 120_000 });
    } finally {
      await running.shutdown('test');
    }
  });

  it.each([
    ['true', true],
    ['1', false],
    ['loopback', false],
  ])('TRUST_PROXY=%s: startup warns that clients choose their address: %s', async (value, warned) => {
    const { logger, capture } = captureLogger();
    const running = await startServer(loadConfig({ PORT: '0', TRUST_PROXY: value }), logger);
    await running.shutdown('test');
    expect(capture.text().includes('TRUST_PROXY=true trusts every hop: clients choose their own address')).toBe(warned);
  });
});
