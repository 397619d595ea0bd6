/**
 * `npx tsx bench/revocation.ts`: how soon an edit of the sheet reaches the service at the default intervals
 * (CHANGE_POLL_INTERVAL 5 s, REFRESH_MIN_INTERVAL 10 s, API_KEY_CACHE_DURATION 300 s), and what it costs in calls.
 * The emulator runs in its own process, seeded with REVOCATION_ROWS keys (default `1000,100000`, one run each);
 * sheetgate runs in this one as server.ts wires it. For each of REVOCATION_TRIES tries (default 20), after a quiet
 * spell of REFRESH_MIN_INTERVAL plus a random 0–5 s (so that the edit falls anywhere between two polls), a row holding
 * a copy of one key is inserted through the emulator's admin API (the key becomes ambiguous: refused), and the key is
 * tried every 25 ms until the first 401: edit → first 401. Then, over REVOCATION_WINDOW_S (default 60), the Sheets
 * reads and Drive calls of an idle sheet, and of a sheet an admin edits every second. Bounded: every wait has a limit.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { startServer } from '../src/server';
import { makeCredentials } from '../emulator/credentials';

const SIZES = (process.env['REVOCATION_ROWS'] ?? '1000,100000').split(',').map(Number);
const TRIES = Number(process.env['REVOCATION_TRIES'] ?? 20);
const WINDOW_S = Number(process.env['REVOCATION_WINDOW_S'] ?? 60);
const HEADER = ['api_key', 'client_name', 'is_active', 'rate_limit', 'usage_count'];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function startEmulator(credentialsPath: string, seedPath: string): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'emulator/main.ts', '--port', '0', '--credentials', credentialsPath, '--seed', seedPath],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url !== undefined) {
        resolve({ url, proc });
      }
    });
    proc.once('exit', (code) => reject(new Error(`emulator exited (${String(code)})`)));
  });
}

async function admin(url: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${url}__emulator/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return res.status === 204 ? undefined : res.json();
}

async function status(base: string, key: string): Promise<number> {
  const res = await fetch(`${base}/api/hello`, { headers: { 'x-api-key': key } });
  await res.arrayBuffer();
  return res.status;
}

/** Calls counted by the emulator over `seconds`, while `during` runs (it gets a stop flag). */
async function callsOver(
  url: string,
  seconds: number,
  during: (stop: { done: boolean }) => Promise<void> = () => Promise.resolve(),
): Promise<{ sheetsReadsPerMin: number; tabReadsPerMin: number; drivePerMin: number }> {
  await admin(url, 'POST', 'stats/reset');
  const stop = { done: false };
  const running = during(stop);
  await sleep(seconds * 1000);
  stop.done = true;
  await running;
  const stats = (await admin(url, 'GET', 'stats')) as {
    reads: number;
    drive: number;
    byMethod: Record<string, number>;
  };
  const perMin = (n: number): number => Math.round((n * 600) / seconds) / 10;
  return {
    sheetsReadsPerMin: perMin(stats.reads),
    tabReadsPerMin: perMin(stats.byMethod['values.get'] ?? 0),
    drivePerMin: perMin(stats.drive),
  };
}

async function run(rows: number): Promise<Record<string, unknown>> {
  const { path: credentialsPath } = makeCredentials();
  const keys = Array.from({ length: rows }, () => `sk-convergence-${randomUUID()}`);
  const dir = mkdtempSync(join(tmpdir(), 'sheetgate-revocation-'));
  const seed = join(dir, 'seed.json');
  const tab = [HEADER, ...keys.map((k, i) => [k, `client-${i}`, 'TRUE', 1_000_000, 0])];
  writeFileSync(seed, JSON.stringify({ spreadsheets: [{ id: 'bench', tabs: { API_Keys: tab } }] }));
  const emulator = await startEmulator(credentialsPath, seed);
  const logger = createLogger({ level: 'error', format: 'json' });
  const running = await startServer(
    loadConfig({
      PORT: '0',
      GOOGLE_CREDENTIALS_PATH: credentialsPath,
      GOOGLE_SHEET_ID: 'bench',
      GOOGLE_SHEETS_ROOT_URL: emulator.url,
    }),
    logger,
  );
  const base = `http://127.0.0.1:${running.port}`;
  try {
    for (let i = 0; i < 600 && (await fetch(`${base}/ready`)).status !== 200; i++) {
      await sleep(100);
    }
    const latencies: number[] = [];
    for (let t = 0; t < TRIES; t++) {
      await sleep(10_000 + Math.random() * 5000);
      const key = keys[(t * 7919) % rows] ?? '';
      if ((await status(base, key)) !== 200) {
        throw new Error(`try ${t}: the key is not served before the edit`);
      }
      const edited = performance.now();
      await admin(emulator.url, 'POST', 'spreadsheets/bench/tabs/API_Keys/rows', {
        at: 2,
        values: [[key, `copy-${t}`, 'TRUE', 1_000_000, 0]],
      });
      while ((await status(base, key)) !== 401) {
        if (performance.now() - edited > 60_000) {
          throw new Error(`try ${t}: no 401 within 60 s`);
        }
        await sleep(25);
      }
      latencies.push(Math.round(performance.now() - edited) / 1000);
      process.stderr.write(`${rows} rows, try ${t + 1}/${TRIES}: ${latencies.at(-1)} s\n`);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const idle = await callsOver(emulator.url, WINDOW_S);
    const editing = await callsOver(emulator.url, WINDOW_S, async (stop) => {
      for (let n = 0; !stop.done; n++) {
        await admin(emulator.url, 'POST', 'spreadsheets/bench/tabs/API_Keys/rows', {
          at: 2,
          values: [[`sk-convergence-${randomUUID()}`, `edit-${n}`, 'TRUE', 60, 0]],
        });
        await sleep(1000);
      }
    });
    return {
      rows,
      tries: latencies.length,
      revocationSeconds: { median: sorted[Math.floor(sorted.length / 2)], worst: sorted.at(-1), all: latencies },
      idle,
      adminEditingEverySecond: editing,
    };
  } finally {
    await running.shutdown('bench');
    emulator.proc.kill();
  }
}

async function main(): Promise<void> {
  const results = [];
  for (const rows of SIZES) {
    results.push(await run(rows));
  }
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench/revocation: ${String(err)}\n`);
    process.exit(1);
  },
);
