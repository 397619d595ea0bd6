/**
 * `npm run bench`: sheetgate's protected route vs the same route on bare Express 5, in one run, on 127.0.0.1.
 * Every server is a real listening process; autocannon drives them from this process, 50 connections, for a bounded
 * time each (BENCH_SECONDS, default 10). Prints a table of req/s, p50, p99 and ratios to bare Express.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startEmulator } from '../emulator/server';
import { makeCredentials } from '../test/helpers/credentials';
import { startProcess } from './processes';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONNECTIONS = 50;
const ROTATING_KEYS = Number(process.env['BENCH_KEYS'] ?? 10_000);
const BIG_KEYS = Number(process.env['BENCH_BIG_KEYS'] ?? 0);

interface Row {
  readonly name: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
}

function keys(n: number): string[] {
  return Array.from({ length: n }, () => `sk-convergence-${randomUUID()}`);
}

async function load(name: string, port: number, keyList: readonly string[]): Promise<Row> {
  let i = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/api/hello`,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [
      {
        setupRequest: (req) => {
          const key = keyList[i++ % Math.max(1, keyList.length)];
          return key === undefined ? req : { ...req, headers: { ...req.headers, authorization: `Bearer ${key}` } };
        },
      },
    ],
  });
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors,
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sheetgate-bench-'));
  const { path: credentialsPath, credentials } = makeCredentials(dir);
  const emulator = await startEmulator();
  emulator.trust(credentials);
  const header = ['api_key', 'client_name', 'created_at', 'expires_at', 'is_active', 'rate_limit'];
  const sheet = (list: readonly string[]) => [
    header,
    ...list.map((k, n) => [k, `client-${n}`, '', '', true, 1_000_000_000]),
  ];

  const one = keys(1);
  const many = keys(ROTATING_KEYS);
  const big = keys(BIG_KEYS);
  const sheetEnv = (id: string): Record<string, string> => ({
    GOOGLE_CREDENTIALS_PATH: credentialsPath,
    GOOGLE_SHEET_ID: id,
    GOOGLE_SHEETS_ROOT_URL: emulator.url,
    LOG_LEVEL: 'info',
    NODE_ENV: 'production',
    USAGE_FLUSH_INTERVAL: '3600',
  });
  const smallId = emulator.createSpreadsheet({ tabs: { API_Keys: sheet([...one, ...many]) } });

  const rows: Row[] = [];
  const bare = await startProcess('bench/bare-server.ts', {});
  const gate = await startProcess('src/server.ts', sheetEnv(smallId));
  try {
    // Warm both up, then alternate so drift on a noisy machine hits every case alike.
    await load('warm-up', bare.port, []);
    await load('warm-up', gate.port, one);
    rows.push(await load('bare express 5 (no auth)', bare.port, []));
    rows.push(await load('sheetgate, 1 key', gate.port, one));
    rows.push(await load(`sheetgate, ${ROTATING_KEYS} keys rotating`, gate.port, many));
  } finally {
    await gate.stop();
  }
  if (BIG_KEYS > 0) {
    const bigGate = await startProcess(
      'src/server.ts',
      sheetEnv(emulator.createSpreadsheet({ tabs: { API_Keys: sheet(big) } })),
    );
    try {
      rows.push(await load(`sheetgate, ${BIG_KEYS} keys rotating`, bigGate.port, big));
    } finally {
      await bigGate.stop();
    }
  }
  rows.push(await load('bare express 5 (again)', bare.port, []));
  await bare.stop();
  await emulator.close();

  // Baseline: the mean of the bare runs before and after, so drift during the run shows as their spread.
  const base = ((rows[0]?.rps ?? 0) + (rows.at(-1)?.rps ?? 0)) / 2;
  const baseP50 = ((rows[0]?.p50 ?? 0) + (rows.at(-1)?.p50 ?? 0)) / 2;
  console.log(`\n${CONNECTIONS} connections, ${SECONDS} s each, 127.0.0.1, node ${process.version}\n`);
  console.log('| case | req/s | vs bare | p50 ms | p50 delta ms | p99 ms | non-2xx |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${Math.round(r.rps)} | ${(r.rps / base).toFixed(2)} | ${r.p50} | ${(r.p50 - baseP50).toFixed(1)} | ${r.p99} | ${r.non2xx} |`,
    );
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
