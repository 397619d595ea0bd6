import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createApp } from '../../src/app';
import { hashKey } from '../../src/keys/key-id';
import { GoogleSheet } from '../../src/keys/sheet-source';
import { buildSnapshot } from '../../src/keys/snapshot';
import { loadSnapshot } from '../../src/keys/load-snapshot';
import type { Snapshot } from '../../src/keys/types';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { captureLogger } from '../helpers/log-capture';
import { HEADER } from '../helpers/fixed-source';
import { emulatorSuite } from '../helpers/emulator';

const key = (): string => `sk-convergence-${randomUUID()}`;

describe('sheet adapter + key store against the emulator (real googleapis client over HTTP)', () => {
  const suite = emulatorSuite();
  const { credentials, path: credentialsPath } = suite;
  const { logger, capture } = captureLogger();
  const gates: Sheetgate[] = [];
  const usedKeys: string[] = [];

  afterEach(async () => {
    await Promise.all(gates.splice(0).map((g) => g.close()));
  });

  afterAll(() => {
    const text = capture.text();
    for (const k of usedKeys) {
      expect(text).not.toContain(k);
    }
  });

  function seed(rows: (string | number | boolean)[][], timeZone = 'Europe/Paris'): string {
    return suite.emulator.createSpreadsheet({ timeZone, tabs: { API_Keys: [HEADER, ...rows] } });
  }

  /** The adapter itself, on this emulator's API_Keys tab of `spreadsheetId`. */
  function adapter(spreadsheetId: string): GoogleSheet {
    return new GoogleSheet({ credentials, spreadsheetId, sheetName: 'API_Keys', rootUrl: suite.emulator.url, logger });
  }

  async function gateFor(spreadsheetId: string, cacheDurationSec = 300, sheetName?: string) {
    const gate = sheetgate({
      sheet: {
        spreadsheetId,
        credentials: credentialsPath,
        rootUrl: suite.emulator.url,
        timeoutMs: 1000,
        ...(sheetName === undefined ? {} : { sheetName }),
      },
      logger,
      cacheDurationSec,
    });
    gates.push(gate);
    await gate.ready();
    return { gate, app: createApp({ gate, logger }) };
  }

  it('loads typed cells: booleans, serial dates in the sheet zone, numbers', async () => {
    const [a, b, c] = [key(), key(), key()];
    usedKeys.push(a, b, c);
    const id = seed([
      [a, 'Alpha', '2026-01-01', '2099-12-31 23:00:00', 'TRUE', '7'],
      [b, 'Beta', '2026-01-01', '2020-01-01', 'TRUE', ''],
      [c, 'Gamma', '2026-01-01', '', 'FALSE', ''],
    ]);
    const { app } = await gateFor(id);
    const ok = await request(app).get('/auth/whoami').set('X-API-Key', a).expect(200);
    expect(ok.body).toMatchObject({ clientName: 'Alpha', rateLimit: 7 });
    expect(JSON.parse((await request(app).get('/api/hello').set('X-API-Key', b).expect(401)).text).code).toBe(
      'key_expired',
    );
    expect(JSON.parse((await request(app).get('/api/hello').set('X-API-Key', c).expect(401)).text).code).toBe(
      'key_inactive',
    );
  });

  it('reads expires_at in the spreadsheet time zone', async () => {
    const k = key();
    usedKeys.push(k);
    // 23:00 on 2030-06-01 in Tokyo is 14:00 UTC: the key must be expired at 15:00 UTC that day.
    const id = seed([[k, 'Tokyo', '', '2030-06-01 23:00:00', true, '']], 'Asia/Tokyo');
    const { gate } = await gateFor(id);
    const record = [...(gate.store?.snapshot()?.byHash.values() ?? [])][0];
    expect(record?.expiresAt).toBe(Date.UTC(2030, 5, 1, 14, 0, 0));
  });

  it.each([
    ['403 not shared', (id: string) => id, 'not_shared', /Share the sheet with .*@/],
    ['404 wrong id', () => 'no-such-spreadsheet', 'not_found', /GOOGLE_SHEET_ID/],
  ])('turns %s into a clear error in /auth/status and logs', async (_name, pick, code, message) => {
    const id = suite.emulator.createSpreadsheet({
      tabs: { API_Keys: [HEADER] },
      sharedWith: ['someone-else@example.com'],
    });
    const { app } = await gateFor(pick(id));
    const status = await request(app).get('/auth/status').expect(200);
    expect(status.body.lastError.code).toBe(code);
    expect(status.body.lastError.message).toMatch(message);
    expect(capture.text()).toMatch(message);
  });

  it('turns 400 "Unable to parse range" into a missing-tab error naming GOOGLE_SHEET_NAME', async () => {
    const id = seed([]);
    const { app } = await gateFor(id, 300, 'Nope');
    const status = await request(app).get('/auth/status').expect(200);
    expect(status.body.lastError).toMatchObject({ code: 'missing_tab' });
    expect(status.body.lastError.message).toMatch(/no tab "Nope".*GOOGLE_SHEET_NAME/);
  });

  it('makes no Sheets call for 1,000 random unknown keys', async () => {
    const k = key();
    usedKeys.push(k);
    const { app } = await gateFor(seed([[k, 'Acme', '', '', true, '']]));
    suite.emulator.resetStats();
    const server = app.listen(0, '127.0.0.1');
    try {
      for (let batch = 0; batch < 10; batch++) {
        await Promise.all(
          Array.from({ length: 100 }, () => request(server).get('/api/hello').set('X-API-Key', key()).expect(401)),
        );
      }
    } finally {
      server.close();
    }
    expect(suite.emulator.stats.reads).toBe(0);
    expect(suite.emulator.stats.writes).toBe(0);
  });

  it.each([
    ['500', { status: 500, times: 100 }, 'unavailable'],
    ['429', { status: 429, times: 100 }, 'quota'],
    ['timeout', { latencyMs: 3000, times: 100 }, 'timeout'],
  ])('keeps serving the last good snapshot while Google fails (%s)', async (_name, fault, code) => {
    const k = key();
    usedKeys.push(k);
    const { gate, app } = await gateFor(seed([[k, 'Acme', '', '', true, '']]));
    suite.emulator.fault(fault);
    await gate.store?.refresh();
    await request(app).get('/api/hello').set('X-API-Key', k).expect(200);
    const status = await request(app).get('/auth/status').expect(200);
    expect(status.body).toMatchObject({ loaded: true, keysLoaded: 1, consecutiveFailures: 1 });
    expect(status.body.lastError.code).toBe(code);
  });

  it('answers 503 while the emulator is down at startup, then recovers without a restart', async () => {
    const k = key();
    usedKeys.push(k);
    const id = seed([[k, 'Acme', '', '', true, '']]);
    await suite.emulator.down();
    const { gate, app } = await gateFor(id);
    await request(app).get('/api/hello').set('X-API-Key', k).expect(503);
    await suite.emulator.up();
    await gate.store?.refresh();
    await request(app).get('/api/hello').set('X-API-Key', k).expect(200);
  });

  it('parses again only the rows whose text changed: the others keep their record across a refresh', async () => {
    const [a, b] = [key(), key()];
    usedKeys.push(a, b);
    const id = seed([
      [a, 'Alpha', '', '', true, ''],
      [b, 'Beta', '', '', true, ''],
    ]);
    const { gate } = await gateFor(id);
    const before = gate.store?.snapshot();
    const [alpha, beta] = [before?.byHash.get(hashKey(a)), before?.byHash.get(hashKey(b))];
    suite.emulator.setValues(id, 'API_Keys', [HEADER, [a, 'Alpha', '', '', true, ''], [b, 'Beta', '', '', false, '']]);
    await gate.store?.refresh();
    const after = gate.store?.snapshot();
    expect(after).not.toBe(before);
    expect(after?.byHash.get(hashKey(a))).toBe(alpha);
    expect(beta?.active).toBe(true);
    expect(after?.byHash.get(hashKey(b))?.active).toBe(false);
  });

  it('applies a revocation and a new key within the cache duration', async () => {
    const [old, fresh] = [key(), key()];
    usedKeys.push(old, fresh);
    const id = seed([[old, 'Old', '', '', true, '']]);
    const { app } = await gateFor(id, 1);
    await request(app).get('/api/hello').set('X-API-Key', old).expect(200);
    await request(app).get('/api/hello').set('X-API-Key', fresh).expect(401);
    suite.emulator.setValues(id, 'API_Keys', [
      HEADER,
      [old, 'Old', '', '', false, ''],
      [fresh, 'Fresh', '', '', true, ''],
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    await request(app).get('/api/hello').set('X-API-Key', old).expect(401);
    await request(app).get('/api/hello').set('X-API-Key', fresh).expect(200);
  });

  it('uses the adapter directly: time zone and whole tab in two reads', async () => {
    const id = seed([['x', 'X', '', '', true, 3]], 'America/New_York');
    const sheet = adapter(id);
    suite.emulator.resetStats();
    const table = await sheet.readTable();
    expect(table.timeZone).toBe('America/New_York');
    expect(table.rows[1]).toEqual(['x', 'X', '', '', true, 3]);
    expect(suite.emulator.stats.reads).toBe(2);
  });

  it('streams the tab into the same snapshot the whole table gives, in two reads', async () => {
    const keys = Array.from({ length: 3000 }, key);
    usedKeys.push(...keys);
    const rows: (string | number | boolean)[][] = keys.map((k, n) => [
      k,
      n % 7 === 0 ? `Client ${n} 鍵 🔑 é` : `client-${n}`,
      n % 3 === 0 ? 45672 : '2025-01-15',
      n % 5 === 0 ? '2020-01-01' : n % 11 === 0 ? 'not a date' : '',
      n % 13 === 0 ? 'no' : n % 17 === 0 ? 'maybe' : true,
      n % 19 === 0 ? -4 : n % 2 === 0 ? '' : n,
    ]);
    rows.splice(100, 0, [keys[5] ?? '', 'Duplicate', '', '', true, '']);
    rows.splice(200, 0, ['', '', '', '', '', ''], ['', 'no key', '', '', true, '']);
    const id = seed(rows, 'America/New_York');
    const sheet = adapter(id);
    const ctx = { defaultRateLimit: 60 };
    const plain = (s: Snapshot): unknown => ({ ...s, byHash: [...s.byHash.entries()] });

    suite.emulator.resetStats();
    const streamed = await loadSnapshot(sheet, ctx, () => 1_000);
    expect(suite.emulator.stats.reads).toBe(2);
    const whole = buildSnapshot(await sheet.readTable(), ctx, 1_000);
    expect(plain(streamed)).toEqual(plain(whole));
    expect(streamed.byHash.size).toBeGreaterThan(2000);
    expect(streamed.problems.length).toBeGreaterThan(300);
    expect(streamed.byHash.get(hashKey(keys[5] ?? ''))).toBeUndefined(); // on two rows
    expect(streamed.byHash.get(hashKey(keys[7] ?? ''))?.clientName).toBe('Client 7 鍵 🔑 é');
  });
});
