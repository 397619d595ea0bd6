/**
 * `npx tsx bench/change-poll.ts`: what change detection costs the protected route. Two sheetgate processes
 * (src/server.ts) read the same idle sheet of CHANGE_POLL_ROWS keys (default 100,000) from the emulator, one with
 * CHANGE_POLL_INTERVAL=5 (the default: a Drive `files.get` every 5 s) and one with 0 (off); autocannon drives them in
 * alternating rounds (CHANGE_POLL_ROUNDS, default 5, of CHANGE_POLL_SECONDS, default 5) with 50 connections and keys
 * rotating over the whole sheet. Prints req/s, p99 and server CPU per request for each round, and the medians' ratios.
 * The poll-on process starts first unless CHANGE_POLL_FIRST=off: run both orders, the order alone moves a few per cent. 127.0.0.1 only; bounded.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { makeCredentials } from '../emulator/credentials';
import { startEmulator } from '../emulator/server';
import { CAN_PIN, pinSelf, rotatingKeys, startProcess } from './processes';
import type { Proc } from './processes';

const ROWS = Number(process.env['CHANGE_POLL_ROWS'] ?? 100_000);
const ROUNDS = Number(process.env['CHANGE_POLL_ROUNDS'] ?? 5);
const SECONDS = Number(process.env['CHANGE_POLL_SECONDS'] ?? 5);
const SERVER_CPU = CAN_PIN ? 1 : undefined;

interface Round {
  readonly rps: number;
  readonly p99: number;
  /** Server CPU time per request, µs: steadier than req/s on a shared machine. */
  readonly cpuUs: number;
}

async function round(server: Proc, keys: readonly string[]): Promise<Round> {
  const cpuBefore = server.cpuMs();
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}/api/hello`,
    connections: 50,
    duration: SECONDS,
    requests: rotatingKeys(keys),
  });
  if (result.non2xx + result.errors > 0) {
    throw new Error(`${result.non2xx + result.errors} requests were not 2xx`);
  }
  const cpuUs = ((server.cpuMs() - cpuBefore) * 1000) / Math.max(1, result.requests.total);
  return { rps: result.requests.average, p99: result.latency.p99, cpuUs };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function waitReady(server: Proc): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const res = await fetch(`http://127.0.0.1:${server.port}/ready`);
    if (res.status === 200) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('sheetgate never became ready');
}

async function main(): Promise<void> {
  if (CAN_PIN) {
    pinSelf(0);
  }
  const { path: credentialsPath, credentials } = makeCredentials(mkdtempSync(join(tmpdir(), 'sheetgate-poll-')));
  const emulator = await startEmulator();
  emulator.trust(credentials);
  const keys = Array.from({ length: ROWS }, () => `sk-convergence-${randomUUID()}`);
  const id = emulator.createSpreadsheet({
    tabs: {
      API_Keys: [['api_key', 'client_name', 'is_active', 'rate_limit'], ...keys.map((k, n) => [k, `c${n}`, true, 1e9])],
    },
  });
  const env = (poll: string): Record<string, string> => ({
    GOOGLE_CREDENTIALS_PATH: credentialsPath,
    GOOGLE_SHEET_ID: id,
    GOOGLE_SHEETS_ROOT_URL: emulator.url,
    NODE_ENV: 'production',
    USAGE_FLUSH_INTERVAL: '3600',
    CHANGE_POLL_INTERVAL: poll,
  });
  const lifeMs = (ROUNDS * 2 * SECONDS + 120) * 1000;
  // Which process starts first shifts req/s by a few per cent on this kind of machine: CHANGE_POLL_FIRST=off swaps.
  const offFirst = process.env['CHANGE_POLL_FIRST'] === 'off';
  const first = await startProcess('src/server.ts', env(offFirst ? '0' : '5'), lifeMs, SERVER_CPU);
  const second = await startProcess('src/server.ts', env(offFirst ? '5' : '0'), lifeMs, SERVER_CPU);
  const [on, off] = offFirst ? [second, first] : [first, second];
  try {
    await Promise.all([waitReady(on), waitReady(off)]);
    await round(on, keys); // warm-up, not counted
    await round(off, keys);
    const results = { on: [] as Round[], off: [] as Round[] };
    for (let r = 0; r < ROUNDS; r++) {
      results.on.push(await round(on, keys));
      results.off.push(await round(off, keys));
      const last = (xs: Round[]): string =>
        `${Math.round(xs.at(-1)?.rps ?? 0)} req/s p99 ${xs.at(-1)?.p99 ?? 0} ms ${(xs.at(-1)?.cpuUs ?? 0).toFixed(1)} µs CPU/req`;
      console.log(`round ${r + 1}: poll 5 s ${last(results.on)} · poll off ${last(results.off)}`);
    }
    const rps = (xs: Round[]): number => median(xs.map((x) => x.rps));
    const p99 = (xs: Round[]): number => median(xs.map((x) => x.p99));
    const cpu = (xs: Round[]): number => median(xs.map((x) => x.cpuUs));
    console.log(
      `\n${ROWS} keys, medians of ${ROUNDS} rounds: poll 5 s ${Math.round(rps(results.on))} req/s, p99 ${p99(results.on)} ms; ` +
        `off ${Math.round(rps(results.off))} req/s, p99 ${p99(results.off)} ms; ` +
        `on/off req/s ${(rps(results.on) / rps(results.off)).toFixed(3)}, p99 ${(p99(results.on) / p99(results.off)).toFixed(2)}×, ` +
        `CPU per request ${cpu(results.on).toFixed(1)} vs ${cpu(results.off).toFixed(1)} µs; ` +
        `Drive calls ${emulator.stats.drive}`,
    );
  } finally {
    await Promise.all([on.stop(), off.stop()]);
    await emulator.close();
  }
}

void main();
