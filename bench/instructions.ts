/**
 * `npx tsx bench/instructions.ts`: user-space instructions per request of sheetgate and of bare Express, counted by
 * valgrind (callgrind), so a change to the hot path can be judged on a machine whose req/s swings ±20 % from one
 * second to the next (docs/performance.md). Each server (the compiled build, `npm run build`) runs twice under
 * callgrind, serving INSTR_REQUESTS (default 3,000) and then twice as many requests on 127.0.0.1; the difference of
 * the two totals divided by INSTR_REQUESTS is the steady-state cost of one request, start-up and JIT warm-up
 * cancelled out. Kernel work (the socket writes) is not counted: that is what req/s adds. Takes ~10 minutes.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startEmulator } from '../emulator/server';
import { makeCredentials } from '../emulator/credentials';

const REQUESTS = Number(process.env['INSTR_REQUESTS'] ?? 3000);
const SERVER = 'dist/src/server.js';
const BARE = 'dist/bench/bare-server.js';

/** Total instructions of one callgrind run of `script` serving `amount` requests with `key`. */
async function count(script: string, env: Record<string, string>, amount: number, key: string): Promise<number> {
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
  await new Promise((resolve) => setTimeout(resolve, 3000)); // the first snapshot loads slowly under valgrind
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/api/hello`,
    connections: 10,
    amount,
    timeout: 60,
    headers: { authorization: `Bearer ${key}` },
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
  if (!existsSync(SERVER) || !existsSync(BARE)) {
    throw new Error(`${SERVER} or ${BARE} is missing: run \`npm run build\` first`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'sheetgate-instr-'));
  const { path: credentialsPath, credentials } = makeCredentials(dir);
  const emulator = await startEmulator();
  emulator.trust(credentials);
  const key = `sk-convergence-${randomUUID()}`;
  const header = ['api_key', 'client_name', 'created_at', 'expires_at', 'is_active', 'rate_limit'];
  const id = emulator.createSpreadsheet({ tabs: { API_Keys: [header, [key, 'client-0', '', '', true, 1e9]] } });
  const cases: { name: string; script: string; env: Record<string, string> }[] = [
    { name: 'bare express 5 (no auth)', script: BARE, env: {} },
    { name: 'bare express 5, ETag off', script: BARE, env: { ETAG: 'off' } },
    {
      name: 'sheetgate, 1 key',
      script: SERVER,
      env: {
        GOOGLE_CREDENTIALS_PATH: credentialsPath,
        GOOGLE_SHEET_ID: id,
        GOOGLE_SHEETS_ROOT_URL: emulator.url,
        NODE_ENV: 'production',
        USAGE_FLUSH_INTERVAL: '3600',
      },
    },
  ];
  const perRequest: number[] = [];
  try {
    for (const c of cases) {
      const once = await count(c.script, c.env, REQUESTS, key);
      const twice = await count(c.script, c.env, 2 * REQUESTS, key);
      perRequest.push((twice - once) / REQUESTS);
    }
  } finally {
    await emulator.close();
  }
  console.log(`\ncallgrind, ${REQUESTS} vs ${2 * REQUESTS} requests, 10 connections, node ${process.version}\n`);
  console.log('| case | instructions/request | bare ÷ case | bare with ETag off ÷ case |');
  console.log('|---|---:|---:|---:|');
  cases.forEach((c, i) => {
    const n = perRequest[i] ?? NaN;
    const vs = (base: number | undefined): string => ((base ?? NaN) / n).toFixed(2);
    console.log(`| ${c.name} | ${Math.round(n)} | ${vs(perRequest[0])} | ${vs(perRequest[1])} |`);
  });
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
