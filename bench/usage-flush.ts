/**
 * `npx tsx bench/usage-flush.ts`: the two usage write-back figures (flush duration, request latency during a flush), against the local emulator with
 * the real googleapis client over HTTP (everything in this one process, so the emulator's own work is included).
 *
 * 1. Flush duration for FLUSH_KEYS (default 1,000) touched keys in a tab of FLUSH_ROWS (default 1,000) rows: the
 *    pure planning step alone, and the whole flush (values.get + plan + values.batchUpdate), median of 5.
 * 2. Sheets calls per minute under sustained load: autocannon at LOAD_RATE req/s (default 1,000) for LOAD_SECONDS
 *    (default 60) through the real middleware, flushing every LOAD_FLUSH_SECONDS (default 10), then a final flush;
 *    checks that the sheet's total equals the number of 200s.
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import type { AddressInfo } from 'node:net';
import { createApp } from '../src/app';
import { createHttpServer } from '../src/http/http-server';
import { hashKey, keyIdOf } from '../src/keys/key-id';
import { GoogleSheet } from '../src/keys/sheet-source';
import { createLogger } from '../src/log';
import { sheetgate } from '../src/sheetgate';
import { UsageFlusher } from '../src/usage/flusher';
import { planUsageWrite } from '../src/usage/plan';
import { startEmulator } from '../emulator/server';
import type { Emulator } from '../emulator/server';
import { makeCredentials } from '../emulator/credentials';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const FLUSH_KEYS = env('FLUSH_KEYS', 1_000);
const FLUSH_ROWS = Math.max(FLUSH_KEYS, env('FLUSH_ROWS', 1_000));
const LOAD_RATE = env('LOAD_RATE', 1_000);
const LOAD_SECONDS = env('LOAD_SECONDS', 60);
const LOAD_FLUSH_SECONDS = env('LOAD_FLUSH_SECONDS', 10);
const ZONE = 'Europe/Paris';
const HEADER = ['api_key', 'client_name', 'is_active', 'rate_limit', 'usage_count', 'last_used_at'];

const logger = createLogger({ level: 'warn', format: 'json' });
const { credentials } = makeCredentials();

function keys(n: number): string[] {
  return Array.from({ length: n }, () => `sk-convergence-${randomUUID()}`);
}

function sheetFor(emulator: Emulator, list: readonly string[]): { id: string; sheet: GoogleSheet } {
  const rows = list.map((k, i) => [k, `client-${i}`, true, 1_000_000_000, 0]);
  const id = emulator.createSpreadsheet({ timeZone: ZONE, tabs: { API_Keys: [HEADER, ...rows] } });
  const sheet = new GoogleSheet({
    credentials,
    spreadsheetId: id,
    sheetName: 'API_Keys',
    rootUrl: emulator.url,
    logger,
  });
  return { id, sheet };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function sumCounts(emulator: Emulator, id: string): number {
  return emulator
    .getValues(id, 'API_Keys')
    .slice(1)
    .reduce((sum, row) => sum + Number(row[4] ?? 0), 0);
}

async function flushDuration(emulator: Emulator): Promise<void> {
  const list = keys(FLUSH_ROWS);
  const { id, sheet } = sheetFor(emulator, list);
  const flusher = new UsageFlusher({ sheet, logger, timeZone: () => ZONE });
  const touched = list.slice(0, FLUSH_KEYS).map((k) => ({ hash: hashKey(k), keyId: keyIdOf(hashKey(k)) }));
  const whole: number[] = [];
  const planOnly: number[] = [];
  let expected = 0;
  for (let round = 0; round < 6; round++) {
    touched.forEach((key, i) => {
      for (let n = 0; n <= i % 3; n++) {
        flusher.record(key, Date.now());
        expected += 1;
      }
    });
    const rows = await sheet.readValues();
    const batch = new Map(touched.map((k) => [k.hash, { ...k, count: 1, lastUsedAt: Date.now() }]));
    const started = performance.now();
    planUsageWrite(rows, ZONE, batch);
    const planMs = performance.now() - started;
    const result = await flusher.flush();
    if (result.outcome !== 'written' || result.keys !== FLUSH_KEYS) {
      throw new Error(`flush ${round}: ${JSON.stringify(result)}`);
    }
    if (round > 0) {
      whole.push(result.ms); // round 0 warms up the JIT and the connection
      planOnly.push(planMs);
    }
  }
  if (sumCounts(emulator, id) !== expected) {
    throw new Error(`sheet total ${sumCounts(emulator, id)} != ${expected} recorded`);
  }
  console.log(
    `flush of ${FLUSH_KEYS} touched keys in a ${FLUSH_ROWS}-row tab: whole flush median ${median(whole)} ms ` +
      `(min ${Math.min(...whole)}, max ${Math.max(...whole)}); planning alone median ${median(planOnly).toFixed(1)} ms; ` +
      `sheet total exact (${expected})`,
  );
}

async function sustainedLoad(emulator: Emulator): Promise<void> {
  const list = keys(100);
  const { id, sheet } = sheetFor(emulator, list);
  const flusher = new UsageFlusher({ sheet, logger, intervalMs: LOAD_FLUSH_SECONDS * 1000, timeZone: () => ZONE });
  let accepted = 0; // ground truth: what the middleware let through (autocannon misses responses cut at the end)
  const gate = sheetgate({
    source: sheet,
    logger,
    usage: flusher,
    onDecision: (d) => {
      accepted += d.outcome === 'ok' ? 1 : 0;
    },
  });
  await gate.ready();
  const server = createHttpServer(createApp({ gate, logger })).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as AddressInfo).port;
  emulator.resetStats();
  flusher.start();
  let i = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/api/hello`,
    connections: 50,
    overallRate: LOAD_RATE,
    duration: LOAD_SECONDS,
    requests: [
      {
        setupRequest: (req) => ({ ...req, headers: { authorization: `Bearer ${list[i++ % list.length] ?? ''}` } }),
      },
    ],
  });
  const during = emulator.stats;
  // As server.ts shuts down: stop accepting and let in-flight requests finish, then the final flush.
  await new Promise((resolve) => {
    server.close(resolve);
    server.closeIdleConnections();
  });
  await flusher.stop();
  await gate.close();
  const ok = result['2xx'];
  const total = sumCounts(emulator, id);
  const perMinute = (n: number): string => ((n * 60) / LOAD_SECONDS).toFixed(1);
  console.log(
    `sustained load: ${Math.round(result.requests.average)} req/s for ${LOAD_SECONDS} s (${accepted} accepted, ` +
      `${ok} × 200 seen by the client, ` +
      `${result.non2xx} non-2xx), flush every ${LOAD_FLUSH_SECONDS} s → ${during.writes} writes and ${during.reads} ` +
      `reads during the run = ${perMinute(during.writes)} writes/min, ${perMinute(during.reads)} reads/min ` +
      `(${JSON.stringify(during.byMethod)}); after the final flush the sheet total is ${total} ` +
      `(${total === accepted ? 'exact' : `MISMATCH: ${accepted} accepted`})`,
  );
}

async function main(): Promise<void> {
  const emulator = await startEmulator();
  emulator.trust(credentials);
  try {
    await flushDuration(emulator);
    await sustainedLoad(emulator);
  } finally {
    await emulator.close();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
