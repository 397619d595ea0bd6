/**
 * `npx tsx bench/usage-history.ts`: the usage history's cost per flush against the local emulator, with the real
 * googleapis client over HTTP (everything in this one process, so the emulator's own work is included).
 *
 * HISTORY_KEYS keys (default 1,000) and a history tab of HISTORY_KEYS × HISTORY_DAYS rows (default 365 days: 365,000
 * rows). FLUSHES flushes (default 8) of every key touched: the first after a start (it finds the bottom of the grid),
 * one that appends a new row per key (a new day), the rest updating those rows. Per flush: duration and Sheets calls
 * (reads, writes, by method); the totals are checked against the requests counted. Bounded: a few seconds, then exits.
 */
import { randomUUID } from 'node:crypto';
import { daySerial, dayInZone } from '../src/keys/dates';
import { hashKey, keyIdOf } from '../src/keys/key-id';
import { GoogleSheet } from '../src/keys/sheet-source';
import type { CellValue } from '../src/keys/types';
import { createLogger } from '../src/log';
import { UsageFlusher } from '../src/usage/flusher';
import { startEmulator } from '../emulator/server';
import { makeCredentials } from '../emulator/credentials';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const KEYS = env('HISTORY_KEYS', 1_000);
const DAYS = env('HISTORY_DAYS', 365);
const FLUSHES = env('FLUSHES', 8);
const ZONE = 'Europe/Paris';
const HEADER = ['api_key', 'client_name', 'is_active', 'usage_count'];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const logger = createLogger({ level: 'warn', format: 'json' });
  const { credentials } = makeCredentials();
  const emulator = await startEmulator();
  emulator.trust(credentials);
  try {
    const list = Array.from({ length: KEYS }, () => `sk-convergence-${randomUUID()}`);
    const keys = list.map((k) => ({ hash: hashKey(k), keyId: keyIdOf(hashKey(k)) }));
    const now = Date.now();
    const today = dayInZone(now, ZONE);
    const history: CellValue[][] = [['date', 'key_id', 'client_name', 'requests']];
    for (let d = DAYS; d >= 1; d--) {
      keys.forEach((k, i) => history.push([daySerial(today - d), k.keyId, `client-${i}`, 10]));
    }
    const id = emulator.createSpreadsheet({
      timeZone: ZONE,
      tabs: {
        API_Keys: [HEADER, ...list.map((k, i) => [k, `client-${i}`, true, 0])],
        API_Usage: history,
      },
    });
    const sheet = new GoogleSheet({
      credentials,
      spreadsheetId: id,
      sheetName: 'API_Keys',
      rootUrl: emulator.url,
      logger,
    });
    await sheet.timeZone(); // the key store's load: the same spreadsheets.get brings the tabs' grid sizes
    const flusher = new UsageFlusher({ sheet, logger, timeZone: () => ZONE, historyTab: 'API_Usage', now: () => now });
    console.log(`${KEYS} keys, history tab of ${history.length - 1} rows (${DAYS} days), zone ${ZONE}`);
    const steady: number[] = [];
    for (let f = 0; f < FLUSHES; f++) {
      keys.forEach((k, i) => {
        for (let n = 0; n <= i % 3; n++) {
          flusher.record(k, now);
        }
      });
      emulator.resetStats();
      const started = performance.now();
      const result = await flusher.flush();
      const ms = performance.now() - started;
      const { reads, writes, byMethod } = emulator.stats;
      if (f >= 2) {
        steady.push(ms);
      }
      console.log(
        `flush ${f + 1}: ${result.outcome}, ${ms.toFixed(0)} ms, ${reads} read(s) + ${writes} write(s) ${JSON.stringify(byMethod)}`,
      );
    }
    const rows = emulator.getValues(id, 'API_Usage');
    const todays = rows.filter((r) => r[0] === daySerial(today));
    const perFlush = keys.reduce((n, _, i) => n + (i % 3) + 1, 0);
    const total = todays.reduce((n, r) => n + Number(r[3]), 0);
    console.log(
      `today's rows: ${todays.length} (one per key: ${todays.length === KEYS}), requests ${total} = ${perFlush * FLUSHES}: ${total === perFlush * FLUSHES}`,
    );
    console.log(
      `steady flushes (3..${FLUSHES}): median ${median(steady).toFixed(0)} ms, max ${Math.max(...steady).toFixed(0)} ms`,
    );
    const without = new UsageFlusher({ sheet, logger, timeZone: () => ZONE, now: () => now });
    const baseline: number[] = [];
    for (let f = 0; f < FLUSHES; f++) {
      keys.forEach((k) => without.record(k, now));
      const started = performance.now();
      await without.flush();
      baseline.push(performance.now() - started);
    }
    console.log(
      `same keys, history off: median ${median(baseline).toFixed(0)} ms, max ${Math.max(...baseline).toFixed(0)} ms`,
    );
  } finally {
    await emulator.close();
  }
}

void main();
