/**
 * `sheetgate refresh` against the real service composition (src/server.ts, in-process, listening on a free port) over
 * the Sheets emulator: the command reloads the sheet through `POST /auth/refresh`, reads the admin key from the
 * environment only, and explains every refusal without ever printing the key.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { loadConfig } from '../../src/config';
import { startServer } from '../../src/server';
import type { Running } from '../../src/server';
import { captureLogger } from '../helpers/log-capture';
import { cliHarness } from './harness';
import type { CliHarness, RunResult } from './harness';

const ADMIN = 'sk-convergence-adadadad-0000-4000-8000-0000000000ad';
const USER = 'sk-convergence-0a0a0a0a-0000-4000-8000-00000000000a';
const LATE = 'sk-convergence-1a7e1a7e-0000-4000-8000-000000000001';
const HEADER = ['api_key', 'client_name', 'is_active', 'scopes'];
const ROWS = [HEADER, [ADMIN, 'Ops', true, 'sheetgate:admin'], [USER, 'User', true, '']];

let h: CliHarness;
let id: string;
let running: Running;
let base: string;

/** A port nothing listens on: bound, noted, released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise((done) => server.close(done));
  return port;
}

function refresh(argv: readonly string[], env: Record<string, string>): Promise<RunResult> {
  return h.main(['refresh', ...argv], env);
}

function expectNoKey(result: RunResult): void {
  for (const key of [ADMIN, USER, LATE]) {
    expect(result.stdout + result.stderr).not.toContain(key);
  }
}

beforeAll(async () => {
  h = await cliHarness();
  id = h.seed(ROWS);
  // The default API_KEY_CACHE_DURATION (300 s) and no change detection keep the first snapshot for the whole file:
  // only a refresh reloads, and with REFRESH_MIN_INTERVAL an hour, only the first; later ones are scheduled.
  running = await startServer(
    loadConfig({ ...h.env(id), PORT: '0', CHANGE_POLL_INTERVAL: '0', REFRESH_MIN_INTERVAL: '3600' }),
    captureLogger().logger,
  );
  base = `http://127.0.0.1:${running.port}`;
  for (let i = 0; i < 100 && (await fetch(`${base}/ready`)).status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(async () => {
  await running.shutdown('test');
  await h.close();
});

describe('sheetgate refresh', () => {
  it('reloads the sheet now: a key added after startup works once refresh exits 0', async () => {
    h.emulator.setValues(id, 'API_Keys', [...ROWS, [LATE, 'Late', true, '']]);
    const before = await fetch(`${base}/api/hello`, { headers: { 'x-api-key': LATE } });
    expect(before.status).toBe(401);

    const result = await refresh(['--url', base], { SHEETGATE_ADMIN_KEY: ADMIN });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^reloaded \(200\): \{.*"refresh"/);
    const after = await fetch(`${base}/api/hello`, { headers: { 'x-api-key': LATE } });
    expect(after.status).toBe(200);
    expectNoKey(result);
  });

  it('exits 0 when the service schedules the reload (202 inside REFRESH_MIN_INTERVAL) and says when', async () => {
    const result = await refresh(['--url', base], { SHEETGATE_ADMIN_KEY: ADMIN });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^reload scheduled at \d{4}-\d\d-\d\dT[\d:.]+Z \(202\): \{"refresh":"scheduled"/);
  });

  it('finds the service at 127.0.0.1:$PORT without --url, and prints status and body with --json', async () => {
    const result = await refresh(['--json'], { SHEETGATE_ADMIN_KEY: ADMIN, PORT: String(running.port) });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 202,
      body: { refresh: 'scheduled', at: expect.any(String) },
    });
  });

  it('exits 1 with the reason when the key lacks sheetgate:admin (403) or is unknown (401)', async () => {
    const forbidden = await refresh(['--url', base], { SHEETGATE_ADMIN_KEY: USER });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stdout).toBe('');
    expect(forbidden.stderr).toMatch(/answered 403 insufficient_scope: .*lacks the sheetgate:admin scope/);

    const unknown = await refresh(['--url', base], { SHEETGATE_ADMIN_KEY: `${ADMIN}x` });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/answered 401 invalid_api_key: the service does not accept SHEETGATE_ADMIN_KEY/);
    expect(unknown.stdout + unknown.stderr).not.toContain(`${ADMIN}x`);
    expectNoKey(forbidden);
  });

  it('exits 2 naming the address when nothing listens there', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const result = await refresh(['--url', url], { SHEETGATE_ADMIN_KEY: ADMIN });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot reach ${url}/auth/refresh: connect ECONNREFUSED`);
    expectNoKey(result);
  });

  it('takes the key from SHEETGATE_ADMIN_KEY only: none set, or a key flag, is a usage error that echoes nothing', async () => {
    const none = await refresh(['--url', base], {});
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('set SHEETGATE_ADMIN_KEY');

    const flag = await refresh(['--url', base, '--key', ADMIN], {});
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain('read from SHEETGATE_ADMIN_KEY only');
    expectNoKey(flag);

    const badUrl = await refresh(['--url', 'ftp://127.0.0.1'], { SHEETGATE_ADMIN_KEY: ADMIN });
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toContain('expected http:// or https://');
  });
});
