/**
 * Sheets quota with 5 instances: Google allows a service account 60 reads and 60 writes a minute; five
 * sheetgate instances sharing one sheet, with the default settings (API_KEY_CACHE_DURATION 300, USAGE_FLUSH_INTERVAL
 * 60) and traffic on every instance, must stay under 60 calls a minute, reads and writes together, whatever the
 * request rate. Each instance is composed as src/server.ts composes it (GoogleSheet → UsageFlusher + sheetgate →
 * createApp) against one emulator sheet over HTTP. Fake timers run 13 minutes of schedule in seconds; the arithmetic
 * is in docs/scaling.md.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as realDelay } from 'node:timers/promises';
import { afterEach, beforeAll, afterAll, describe, expect, it, jest } from '@jest/globals';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { GoogleSheet } from '../../src/keys/sheet-source';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { UsageFlusher } from '../../src/usage/flusher';
import { startEmulator } from '../../emulator/server';
import type { Emulator } from '../../emulator/server';
import { makeCredentials } from '../../emulator/credentials';
import { captureLogger } from '../helpers/log-capture';

const INSTANCES = 5;
const KEYS_PER_INSTANCE = 4;
const MINUTES = 13;
const STEP_MS = 10_000;
const HEADER = ['api_key', 'client_name', 'is_active', 'rate_limit', 'usage_count', 'last_used_at'];

interface Instance {
  readonly gate: Sheetgate;
  readonly flusher: UsageFlusher;
  readonly app: Express;
  readonly keys: readonly string[];
}

describe('Sheets quota: 5 instances, default settings, one sheet', () => {
  const config = loadConfig({}); // the defaults, as an operator who sets nothing gets them
  const { credentials } = makeCredentials();
  const { logger, capture } = captureLogger();
  let emulator: Emulator;
  let instances: Instance[] = [];

  beforeAll(async () => {
    emulator = await startEmulator();
    emulator.trust(credentials);
  });

  afterEach(async () => {
    jest.useRealTimers();
    await Promise.all(instances.map(async (i) => Promise.all([i.flusher.stop(), i.gate.close()])));
    instances = [];
  });

  afterAll(async () => {
    await emulator.close();
    expect(capture.text()).not.toContain('sk-convergence-');
  });

  /** Until no Sheets call has been made for a while (real time): every call a timer started has been answered. */
  async function settle(): Promise<void> {
    let calls = -1;
    for (;;) {
      const now = emulator.stats.reads + emulator.stats.writes;
      if (now === calls) {
        return;
      }
      calls = now;
      await realDelay(30);
    }
  }

  function start(id: string, keys: readonly string[]): Instance {
    const sheet = new GoogleSheet({
      credentials,
      spreadsheetId: id,
      sheetName: config.sheetName,
      rootUrl: emulator.url,
      logger,
    });
    const flusher = new UsageFlusher({
      sheet,
      logger,
      intervalMs: config.usageFlushIntervalSec * 1000,
      timeZone: () => gate.store?.snapshot()?.timeZone,
    });
    const gate = sheetgate({
      source: sheet,
      logger,
      defaultRateLimit: config.defaultRateLimit,
      cacheDurationSec: config.cacheDurationSec,
      usage: flusher,
    });
    flusher.start();
    return { gate, flusher, app: createApp({ gate, logger }), keys };
  }

  it.each([
    ['light traffic', 1],
    ['heavy traffic', 8],
  ])(
    '%s: under 60 calls in every minute, the same count whatever the request rate',
    async (_name, perStep) => {
      expect(config).toMatchObject({ cacheDurationSec: 300, usageFlushIntervalSec: 60 });
      // Each instance's clients use their own keys: several instances writing the same key's count at the same instant
      // is the race REDIS_URL removes (docs/usage.md), not what this test is about.
      const keys = Array.from({ length: INSTANCES }, () =>
        Array.from({ length: KEYS_PER_INSTANCE }, () => `sk-convergence-${randomUUID()}`),
      );
      const id = emulator.createSpreadsheet({
        timeZone: 'Europe/Paris',
        tabs: { [config.sheetName]: [HEADER, ...keys.flat().map((k, n) => [k, `client-${n}`, true, 1000, 0, ''])] },
      });
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'performance', 'hrtime'] });
      emulator.resetStats();
      instances = keys.map((k) => start(id, k));
      await Promise.all(instances.map((i) => i.gate.ready()));

      const perMinute: number[] = [];
      let counted = 0;
      let served = 0;
      for (let step = 1; step <= (MINUTES * 60_000) / STEP_MS; step++) {
        for (const instance of instances) {
          for (let r = 0; r < perStep; r++) {
            const key = instance.keys[(step + r) % instance.keys.length] ?? '';
            await request(instance.app).get('/api/hello').set('Authorization', `Bearer ${key}`).expect(200);
            served += 1;
          }
        }
        await jest.advanceTimersByTimeAsync(STEP_MS);
        await settle();
        if ((step * STEP_MS) % 60_000 === 0) {
          const total = emulator.stats.reads + emulator.stats.writes;
          perMinute.push(total - counted);
          counted = total;
        }
      }

      // Per instance: the first load and every refresh (at 80 % of 300 s: 240, 480, 720 s) read the zone and the tab,
      // 2 reads; every 60 s flush with usage pending reads the tab once and writes once. All 5 instances started
      // together, so their calls fall in the same minutes: the worst case.
      const refreshMinutes = new Set([1, 4, 8, 12]); // minutes (1-based) holding the first load or a refresh
      const expected = perMinute.map((_, m) => INSTANCES * (2 + (refreshMinutes.has(m + 1) ? 2 : 0)));
      expect(perMinute).toEqual(expected);
      expect(Math.max(...perMinute)).toBeLessThan(60);
      expect(emulator.stats.byMethod).toEqual({
        'spreadsheets.get': INSTANCES * 4,
        'values.get': INSTANCES * (4 + MINUTES),
        'values.batchUpdate': INSTANCES * MINUTES,
      });
      // Every accepted request is in the sheet, exactly once.
      const rows = emulator.getValues(id, config.sheetName);
      const usage = rows.slice(1).reduce((sum, row) => sum + Number(row[HEADER.indexOf('usage_count')] ?? 0), 0);
      expect(usage).toBe(served);
    },
    60_000,
  );
});
