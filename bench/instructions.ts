/**
 * `npx tsx bench/instructions.ts`: user-space instructions per request of sheetgate and of bare Express, counted by
 * valgrind (callgrind), so a change to the hot path can be judged on a machine whose req/s swings ±20 % from one
 * second to the next (docs/performance.md). Each server (the compiled build, `npm run build`) runs twice under
 * callgrind, serving INSTR_REQUESTS (default 3,000) and then twice as many requests on 127.0.0.1; the difference of
 * the two totals divided by INSTR_REQUESTS is the steady-state cost of one request, start-up and JIT warm-up
 * cancelled out. Kernel work (the socket writes) is not counted: that is what req/s adds. Takes ~10 minutes.
 * INSTR_CASES (comma-separated, default all): bare, bare-no-etag, floor (bench/floor-server.ts, FLOOR=auth), sheetgate.
 * The sheet and the floor hold INSTR_SHEET_KEYS keys (default 10,000) that expire in 2099, and the requests rotate over
 * the first INSTR_KEYS of them (default 100), so every answer carries every contract header and each key is warm.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startEmulator } from '../emulator/server';
import { makeCredentials } from '../emulator/credentials';

const REQUESTS = Number(process.env['INSTR_REQUESTS'] ?? 3000);
const SHEET_KEYS = Number(process.env['INSTR_SHEET_KEYS'] ?? 10_000);
const ROTATING = Number(process.env['INSTR_KEYS'] ?? 100);
const CASES = (process.env['INSTR_CASES'] ?? 'bare,bare-no-etag,floor,sheetgate').split(',');
const SERVER = 'dist/src/server.js';
const BARE = 'dist/bench/bare-server.js';
const FLOOR = 'dist/bench/floor-server.js';
const EXPIRES_AT = '2099-12-31';

/** Total instructions of one callgrind run of `script` serving `amount` requests with `key`. */
async function count(
  script: string,
  env: Record<string, string>,
  amount: number,
  keys: readonly string[],
): Promise<number> {
  const out = mkdtempSync(join(tmpdir(), 'sheetgate-instr-'));
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}/cg.%p`, process.execPath, script],
    { env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on port (\d+)/.exec(stdout);
      if (match?.[1] !== undefined) {
        resolve(Number(match[1]));
      }
    });
    child.once('exit', () => reject(new Error(`${script} exited before listening:\n${stderr}`)));
  });
  // The first snapshot loads slowly under valgrind: sheetgate is loaded once /ready says it is in.
  for (let waited = 0; env['GOOGLE_SHEET_ID'] !== undefined; waited++) {
    const res = await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined);
    if (res?.status === 200) {
      break;
    }
    if (waited === 900) {
      child.kill('SIGKILL');
      throw new Error(`${script} was not ready within 15 minutes`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  await new Promise((resolve) => setTimeout(resolve, 3000));
  let i = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/api/hello`,
    connections: 10,
    amount,
    timeout: 60,
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          headers: { ...req.headers, authorization: `Bearer ${keys[i++ % keys.length] ?? ''}` },
        }),
      },
    ],
  });
  if (result.non2xx + result.errors > 0) {
    console.warn(`${script}: ${result.non2xx} non-2xx, ${result.errors} errors of ${amount}`);
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  clearTimeout(killer);
  let total = 0;
  for (const file of readdirSync(out)) {
    total += Number(/^(?:summary|totals): (\d+)/m.exec(readFileSync(join(out, file), 'utf8'))?.[1] ?? NaN);
  }
  return total;
}

async function main(): Promise<void> {
  if (!existsSync(SERVER) || !existsSync(BARE) || !existsSync(FLOOR)) {
    throw new Error(`${SERVER}, ${BARE} or ${FLOOR} is missing: run \`npm run build\` first`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'sheetgate-instr-'));
  const { path: credentialsPath, credentials } = makeCredentials(dir);
  const emulator = await startEmulator();
  emulator.trust(credentials);
  const keys = Array.from({ length: SHEET_KEYS }, () => `sk-convergence-${randomUUID()}`);
  const header = ['api_key', 'client_name', 'created_at', 'expires_at', 'is_active', 'rate_limit'];
  const id = emulator.createSpreadsheet({
    tabs: { API_Keys: [header, ...keys.map((key, n) => [key, `client-${n}`, '', EXPIRES_AT, true, 1e9])] },
  });
  const keysFile = join(dir, 'floor-keys.json');
  writeFileSync(keysFile, JSON.stringify(keys));
  const rotating = keys.slice(0, ROTATING);
  const all: { id: string; name: string; script: string; env: Record<string, string> }[] = [
    { id: 'bare', name: 'bare express 5 (no auth)', script: BARE, env: {} },
    { id: 'bare-no-etag', name: 'bare express 5, ETag off', script: BARE, env: { ETAG: 'off' } },
    {
      id: 'floor',
      name: 'floor: hand-written auth',
      script: FLOOR,
      env: { FLOOR: 'auth', FLOOR_KEYS_FILE: keysFile, FLOOR_EXPIRES_AT: `${EXPIRES_AT}T00:00:00Z` },
    },
    {
      id: 'sheetgate',
      name: 'sheetgate',
      script: SERVER,
      env: {
        GOOGLE_CREDENTIALS_PATH: credentialsPath,
        GOOGLE_SHEET_ID: id,
        GOOGLE_SHEETS_ROOT_URL: emulator.url,
        NODE_ENV: 'production',
        // No refresh and no usage flush inside a measurement: one would be counted in one run and not the other.
        API_KEY_CACHE_DURATION: '86400',
        USAGE_FLUSH_INTERVAL: '86400',
      },
    },
  ];
  const cases = all.filter((c) => CASES.includes(c.id));
  const perRequest: number[] = [];
  try {
    for (const c of cases) {
      const once = await count(c.script, c.env, REQUESTS, rotating);
      const twice = await count(c.script, c.env, 2 * REQUESTS, rotating);
      perRequest.push((twice - once) / REQUESTS);
    }
  } finally {
    await emulator.close();
  }
  console.log(
    `\ncallgrind, ${REQUESTS} vs ${2 * REQUESTS} requests, 10 connections, ${ROTATING} of ${SHEET_KEYS} keys ` +
      `rotating, node ${process.version}\n`,
  );
  console.log('| case | instructions/request | first case ÷ case |');
  console.log('|---|---:|---:|');
  cases.forEach((c, i) => {
    const n = perRequest[i] ?? NaN;
    console.log(`| ${c.name} | ${Math.round(n)} | ${((perRequest[0] ?? NaN) / n).toFixed(2)} |`);
  });
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
