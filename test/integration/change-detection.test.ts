/**
 * Change-aware refresh on the service as server.ts wires it: the real `@googleapis/drive` and `@googleapis/sheets`
 * clients against the emulator, which bumps the file's Drive version on every change and counts every call.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { startServer } from '../../src/server';
import type { Running } from '../../src/server';
import { startEmulator } from '../../emulator/server';
import type { Emulator } from '../../emulator/server';
import { makeCredentials } from '../../emulator/credentials';
import { captureLogger } from '../helpers/log-capture';
import type { CaptureTransport } from '../helpers/log-capture';
import { waitFor } from '../redis/harness';

const KEY = 'sk-convergence-c0c0c0c0-0000-4000-8000-0000000000c0';
const ADDED = 'sk-convergence-add0add0-0000-4000-8000-000000000add';
const TAB = 'API_Keys';
const HEADER = ['api_key', 'client_name', 'is_active', 'usage_count'];
const ROWS = [HEADER, [KEY, 'Acme', true, 0]];

jest.setTimeout(40_000);

interface ChangeDetectionBody {
  mode: string;
  reason: string | null;
  version: string | null;
}

describe('change detection: a new Drive version reloads the sheet, nothing else does', () => {
  let emulator: Emulator;
  let running: Running | undefined;
  let capture: CaptureTransport;
  const { path, credentials } = makeCredentials();

  beforeAll(async () => {
    emulator = await startEmulator();
    emulator.trust(credentials);
  });
  afterEach(async () => {
    await running?.shutdown('test');
    running = undefined;
    emulator.clearFaults();
    expect(capture.text()).not.toContain(KEY);
  });
  afterAll(async () => {
    await emulator.close();
  });

  /** The service with a cache duration of an hour: whatever reloads within the test, change detection did. */
  async function start(id: string, env: Record<string, string> = {}): Promise<Running> {
    const logs = captureLogger();
    capture = logs.capture;
    running = await startServer(
      loadConfig({
        PORT: '0',
        GOOGLE_CREDENTIALS_PATH: path,
        GOOGLE_SHEET_ID: id,
        GOOGLE_SHEETS_ROOT_URL: emulator.url,
        API_KEY_CACHE_DURATION: '3600',
        CHANGE_POLL_INTERVAL: '1',
        REFRESH_MIN_INTERVAL: '1',
        USAGE_FLUSH_INTERVAL: '3600',
        ...env,
      }),
      logs.logger,
    );
    const server = running.server;
    await waitFor('ready', async () => (await request(server).get('/ready')).status === 200);
    return running;
  }

  const hello = async (r: Running, key: string): Promise<number> =>
    (await request(r.server).get('/api/hello').set('X-API-Key', key)).status;
  const detection = async (r: Running): Promise<ChangeDetectionBody> =>
    ((await request(r.server).get('/auth/status')).body as { changeDetection: ChangeDetectionBody }).changeDetection;

  it('a revocation and a new key take effect without waiting for the cache duration', async () => {
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: ROWS } });
    const r = await start(id);
    expect(await hello(r, KEY)).toBe(200);
    expect(await detection(r)).toMatchObject({ mode: 'drive', reason: null, version: String(emulator.version(id)) });

    emulator.setValues(id, TAB, [HEADER, [KEY, 'Acme', false, 0], [ADDED, 'New', true, 0]]);
    await waitFor('the revocation', async () => (await hello(r, KEY)) === 401);
    expect(await hello(r, ADDED)).toBe(200);
    expect(await detection(r)).toMatchObject({ version: String(emulator.version(id)) });
  });

  it('no reload while the version is unchanged: polls are Drive calls only', async () => {
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: ROWS } });
    const r = await start(id);
    emulator.resetStats();
    await waitFor('four polls', () => emulator.stats.drive >= 4);
    expect(emulator.stats.reads).toBe(0);
    expect(await hello(r, KEY)).toBe(200);
  });

  it("the usage flush's own writes do not reload the sheet", async () => {
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: ROWS } });
    const r = await start(id, { USAGE_FLUSH_INTERVAL: '1' });
    emulator.resetStats();
    for (let round = 1; round <= 3; round++) {
      expect(await hello(r, KEY)).toBe(200);
      await waitFor(`flush ${round}`, () => (emulator.stats.byMethod['values.batchUpdate'] ?? 0) >= round);
    }
    await waitFor('two polls after the last write', async () => {
      const drive = emulator.stats.drive;
      await waitFor('a poll', () => emulator.stats.drive >= drive + 2);
      return true;
    });
    // Each flush reads once to locate rows (values.get, or values.batchGet with the usage history's window) and writes
    // one values.batchUpdate (the history adds its tab's creation and appends, also its own writes); a reload would
    // add a spreadsheets.get and another read.
    const { byMethod } = emulator.stats;
    expect(byMethod['spreadsheets.get']).toBeUndefined();
    expect((byMethod['values.get'] ?? 0) + (byMethod['values.batchGet'] ?? 0)).toBe(byMethod['values.batchUpdate']);
    expect(byMethod['spreadsheets.batchUpdate']).toBe(1);
    expect(emulator.getValues(id, TAB)[1]?.[3]).toBe(3);
  });

  it('Drive 403 (API not enabled): logged once with the fix, cache-duration refresh, still serving', async () => {
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: ROWS } });
    emulator.fault({ method: 'files.get', status: 403, times: 1000 });
    emulator.resetStats();
    const r = await start(id);
    await waitFor('a poll', () => emulator.stats.drive >= 2);
    const status = await detection(r);
    expect(status.mode).toBe('off');
    expect(status.reason).toContain('https://console.cloud.google.com/apis/library/drive.googleapis.com');
    expect(await hello(r, KEY)).toBe(200);
    const warnings = capture.lines.filter((l) => l.includes('change detection off'));
    expect(warnings).toHaveLength(1);
    const metrics = (await request(r.server).get('/metrics')).text;
    expect(metrics).toContain('sheetgate_change_detection_mode{mode="off"} 1');
    expect(metrics).toContain('sheetgate_drive_calls_total{outcome="refused"}');
  });

  it('Drive down, then back: an edit made meanwhile is reloaded once Drive answers', async () => {
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: ROWS } });
    const r = await start(id);
    emulator.fault({ method: 'drive', status: 503, times: 2 });
    emulator.setValues(id, TAB, [HEADER, [KEY, 'Acme', false, 0]]);
    await waitFor('a failed poll', async () => (await detection(r)).mode === 'off');
    expect((await detection(r)).reason).toContain('Drive API unavailable');
    expect(await hello(r, KEY)).toBe(200);
    await waitFor('the revocation', async () => (await hello(r, KEY)) === 401, 20_000);
    expect(await detection(r)).toMatchObject({ mode: 'drive', reason: null });
  });

  it('CHANGE_POLL_INTERVAL=0: no Drive call, status says off and why', async () => {
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: ROWS } });
    emulator.resetStats();
    const r = await start(id, { CHANGE_POLL_INTERVAL: '0' });
    expect(await detection(r)).toMatchObject({
      mode: 'off',
      reason: expect.stringContaining('CHANGE_POLL_INTERVAL=0'),
    });
    expect(emulator.stats.drive).toBe(0);
  });
});
