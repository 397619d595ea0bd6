/**
 * Day/month quotas against the emulator: the real googleapis client over HTTP, the composition of src/server.ts
 * (GoogleSheet → UsageFlusher + sheetgate with one MemoryQuotaCounter → createApp), an injected clock.
 */
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../src/app';
import { GoogleSheet } from '../../src/keys/sheet-source';
import { MemoryQuotaCounter } from '../../src/limits/quota-counter';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { UsageFlusher } from '../../src/usage/flusher';
import { startEmulator } from '../../emulator/server';
import type { Emulator } from '../../emulator/server';
import { makeCredentials } from '../../emulator/credentials';
import { captureLogger } from '../helpers/log-capture';

const TAB = 'API_Keys';
const ZONE = 'Australia/Sydney'; // UTC+11 in December: its days start at 13:00 UTC
/** 2026-12-05 23:00 in Sydney. */
const T0 = Date.UTC(2026, 11, 5, 12, 0, 0);
const MIDNIGHT = Date.UTC(2026, 11, 5, 13, 0, 0);

interface Instance {
  readonly gate: Sheetgate;
  readonly flusher: UsageFlusher;
  readonly app: Express;
}

describe('quotas on the emulator', () => {
  const { credentials } = makeCredentials();
  const { logger, capture } = captureLogger();
  let emulator: Emulator;
  let running: Instance[] = [];
  let now = T0;

  beforeAll(async () => {
    emulator = await startEmulator();
    emulator.trust(credentials);
  });

  afterEach(async () => {
    await Promise.all(running.map(async (i) => Promise.all([i.flusher.stop(), i.gate.close()])));
    running = [];
    now = T0;
  });

  afterAll(async () => {
    await emulator.close();
    expect(capture.text()).not.toContain('sk-convergence-');
  });

  async function start(id: string): Promise<Instance> {
    const sheet = new GoogleSheet({ credentials, spreadsheetId: id, sheetName: TAB, rootUrl: emulator.url, logger });
    const quotas = new MemoryQuotaCounter();
    const flusher = new UsageFlusher({
      sheet,
      logger,
      quotas,
      now: () => now,
      timeZone: () => gate.store?.snapshot()?.timeZone,
    });
    const gate = sheetgate({ source: sheet, logger, quotas, usage: flusher, now: () => now });
    await gate.ready();
    const instance = { gate, flusher, app: createApp({ gate, logger }) };
    running.push(instance);
    return instance;
  }

  /** A new spreadsheet in ZONE whose one key row has `quota`, `quota_used`, `quota_period` (and `rate_limit` 1000). */
  function quotaSheet(key: string, quota: string, used: number, period: string): string {
    return emulator.createSpreadsheet({
      timeZone: ZONE,
      tabs: {
        [TAB]: [
          ['api_key', 'client_name', 'is_active', 'quota', 'quota_used', 'quota_period', 'rate_limit'],
          [key, 'Acme', true, quota, used, `'${period}`, 1000],
        ],
      },
    });
  }

  const hit = (app: Express, key: string) => request(app).get('/api/hello').set('X-API-Key', key);
  const row = (id: string) => emulator.getValues(id, TAB)[1] ?? [];

  it('the flush writes quota_used and quota_period (header cells added), a restart counts on from them', async () => {
    const key = `sk-convergence-${randomUUID()}`;
    const id = emulator.createSpreadsheet({
      timeZone: ZONE,
      tabs: {
        [TAB]: [
          ['api_key', 'client_name', 'is_active', 'quota'],
          [key, 'Acme', true, '10/day'],
        ],
      },
    });
    const first = await start(id);
    for (let i = 0; i < 4; i++) {
      await hit(first.app, key).expect(200);
    }
    expect((await first.flusher.flush()).outcome).toBe('written');
    expect(emulator.getValues(id, TAB)[0]).toEqual([
      'api_key',
      'client_name',
      'is_active',
      'quota',
      'usage_count',
      'last_used_at',
      'quota_used',
      'quota_period',
    ]);
    expect(row(id).slice(4)).toEqual([4, expect.any(Number), 4, '2026-12-05']);

    await first.flusher.stop();
    await first.gate.close();
    running = [];
    const second = await start(id);
    const res = await hit(second.app, key).expect(200);
    expect(res.headers['x-sheetgate-quota-remaining']).toBe('5');
  });

  it('a new day in the sheet’s zone starts from 0; the flush writes the new period', async () => {
    const key = `sk-convergence-${randomUUID()}`;
    const id = quotaSheet(key, '3/day', 3, '2026-12-05');
    const { app, flusher } = await start(id);
    expect((await hit(app, key).expect(429)).headers['retry-after']).toBe(String((MIDNIGHT - T0) / 1000));
    now = MIDNIGHT + 1000; // 00:00:01 on 2026-12-06 in Sydney, still the 5th in UTC
    await hit(app, key).expect(200);
    await flusher.flush();
    expect(row(id).slice(4, 6)).toEqual([1, '2026-12-06']);
  });

  it('an admin who sets quota_used to 0 gives an exhausted key a fresh allowance at the next flush', async () => {
    const key = `sk-convergence-${randomUUID()}`;
    const id = quotaSheet(key, '5/month', 3, '2026-12');
    const { app, flusher } = await start(id);
    await hit(app, key).expect(200);
    await hit(app, key).expect(200);
    await hit(app, key).expect(429);
    await flusher.flush();
    expect(row(id).slice(4, 6)).toEqual([5, '2026-12']);

    emulator.setValues(id, TAB, [
      [...(emulator.getValues(id, TAB)[0] ?? [])],
      [key, 'Acme', true, '5/month', 0, "'2026-12", 1000],
    ]);
    await hit(app, key).expect(429); // the reset is seen by the next flush read, not before
    emulator.resetStats();
    const flushed = await flusher.flush(); // no usage pending: the refused key alone makes the flush read
    expect(flushed.outcome).toBe('written');
    expect(emulator.stats.reads).toBe(1);
    for (let i = 0; i < 5; i++) {
      await hit(app, key).expect(200);
    }
    await hit(app, key).expect(429);
    await flusher.flush();
    expect(row(id).slice(4, 6)).toEqual([5, '2026-12']);
  });

  it('200 concurrent requests on a quota of 150 (120 used): exactly 30 pass, and the sheet says 150', async () => {
    const key = `sk-convergence-${randomUUID()}`;
    const id = quotaSheet(key, '150/day', 120, '2026-12-05');
    const { app, flusher } = await start(id);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const statuses = await Promise.all(
        Array.from({ length: 200 }, () =>
          fetch(`http://127.0.0.1:${port}/api/hello`, { headers: { 'x-api-key': key } }).then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    await flusher.flush();
    expect(row(id).slice(4, 9)).toEqual([150, '2026-12-05', 1000, 30, expect.any(Number)]);
  });
});
