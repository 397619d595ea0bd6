/**
 * `npx tsx bench/proxy.ts`: reverse-proxy overhead. The same upstream route (bench/bare-server.ts, bare Express) called
 * directly, then through sheetgate's proxy mode (src/server.ts with `UPSTREAM_URL`: auth + rate limit + proxy, its
 * keys loaded from the Sheets emulator), plus sheetgate's `/auth/verify` alone to separate the auth cost from the proxy
 * hop. Each server is its own process on 127.0.0.1; autocannon drives them from this process with 50 connections, then
 * 1, BENCH_SECONDS each (default 5) after a 1 s warm-up.
 */
import autocannon from 'autocannon';
import { makeCredentials } from '../emulator/credentials';
import { startEmulator } from '../emulator/server';
import { startProcess, untilReady } from './processes';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
/**
 * 50: throughput under load; 1: the time one request gains from the extra hop. `ms/request` is connections / req/s
 * (Little's law): at 1 connection it is the round trip, more precise than autocannon's whole-millisecond percentiles.
 */
const CONNECTION_COUNTS = [50, 1];
const KEY = 'sk-convergence-00000000-0000-4000-8000-000000000000';

interface Row {
  readonly name: string;
  readonly connections: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

async function load(
  name: string,
  url: string,
  headers: Record<string, string>,
  connections: number,
  seconds: number,
): Promise<Row> {
  const result = await autocannon({ url, connections, duration: seconds, headers });
  return {
    name,
    connections,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts,
  };
}

async function main(): Promise<void> {
  const upstream = await startProcess('bench/bare-server.ts', {});
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  const { path: credentialsPath, credentials } = makeCredentials();
  const emulator = await startEmulator();
  emulator.trust(credentials);
  const header = ['api_key', 'client_name', 'created_at', 'expires_at', 'is_active', 'rate_limit'];
  const sheetId = emulator.createSpreadsheet({
    tabs: { API_Keys: [header, [KEY, 'bench', '', '', true, 1_000_000_000]] },
  });
  const gate = await startProcess('src/server.ts', {
    GOOGLE_CREDENTIALS_PATH: credentialsPath,
    GOOGLE_SHEET_ID: sheetId,
    GOOGLE_SHEETS_ROOT_URL: emulator.url,
    UPSTREAM_URL: upstreamUrl,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    USAGE_FLUSH_INTERVAL: '3600',
  });
  await untilReady(gate);
  const gateUrl = `http://127.0.0.1:${gate.port}`;
  const auth = { authorization: `Bearer ${KEY}` };
  const runs: [string, string, Record<string, string>][] = [
    ['upstream direct (bare Express)', `${upstreamUrl}/api/hello`, {}],
    ['through sheetgate proxy', `${gateUrl}/api/hello`, auth],
    ['sheetgate /auth/verify alone', `${gateUrl}/auth/verify`, auth],
  ];
  const rows: Row[] = [];
  try {
    for (const connections of CONNECTION_COUNTS) {
      for (const [name, url, headers] of runs) {
        await load(name, url, headers, connections, 1); // warm-up: JIT, keep-alive pools
        rows.push(await load(name, url, headers, connections, SECONDS));
      }
    }
  } finally {
    await gate.stop();
    await upstream.stop();
    await emulator.close();
  }
  process.stdout.write(`\n${SECONDS} s per run, 127.0.0.1, node ${process.version}\n`);
  process.stdout.write(
    '| run | connections | req/s | ms/request | p50 ms | p99 ms | non-2xx/errors | req/s vs direct |\n|---|---|---|---|---|---|---|---|\n',
  );
  for (const row of rows) {
    const direct = rows.find((r) => r.connections === row.connections);
    const ratio = direct === undefined ? '' : `${((row.rps / direct.rps) * 100).toFixed(0)} %`;
    process.stdout.write(
      `| ${row.name} | ${row.connections} | ${row.rps.toFixed(0)} | ${((row.connections * 1000) / row.rps).toFixed(2)} | ${row.p50} | ${row.p99} | ${row.errors} | ${ratio} |\n`,
    );
  }
}

void main();
