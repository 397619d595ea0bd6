/**
 * `npx tsx bench/proxy.ts`: reverse-proxy overhead (issue 7). The same upstream route (bench/bare-server.ts, bare
 * Express) called directly, then through sheetgate's proxy mode (auth + rate limit + proxy), plus sheetgate's
 * `/auth/verify` alone to separate the auth cost from the proxy hop. Each server is its own process on 127.0.0.1;
 * autocannon drives them from this process with 50 connections, then 1, BENCH_SECONDS each (default 5) after a 1 s
 * warm-up.
 * Run with BENCH_ROLE=gateway, this file is the sheetgate process itself.
 */
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { createApp } from '../src/app';
import { createHttpServer } from '../src/http/http-server';
import { proxyRoutes, upgradeHandler } from '../src/http/proxy';
import { createLogger } from '../src/log';
import { sheetgate } from '../src/sheetgate';
import { FixedSource, HEADER } from '../test/helpers/fixed-source';
import { startProcess } from './processes';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
/**
 * 50: throughput under load; 1: the time one request gains from the extra hop. `ms/request` is connections / req/s
 * (Little's law): at 1 connection it is the round trip, more precise than autocannon's whole-millisecond percentiles.
 */
const CONNECTION_COUNTS = [50, 1];
const KEY = 'sk-convergence-00000000-0000-4000-8000-000000000000';

async function gateway(): Promise<void> {
  const upstream = process.env['BENCH_UPSTREAM'];
  if (upstream === undefined) {
    throw new Error('BENCH_UPSTREAM not set');
  }
  const logger = createLogger({ level: 'warn', format: 'json' });
  const gate = sheetgate({ source: new FixedSource([HEADER, [KEY, 'bench', '', '', true, 1_000_000_000]]), logger });
  await gate.ready();
  const app = createApp({ gate, logger, protectedRoutes: [proxyRoutes(upstream, { logger })] });
  const server = createHttpServer(app).listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening on port ${(server.address() as AddressInfo).port}\n`);
  });
  server.on('upgrade', upgradeHandler(app));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

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
  const gate = await startProcess('bench/proxy.ts', { BENCH_ROLE: 'gateway', BENCH_UPSTREAM: upstreamUrl });
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

if (process.env['BENCH_ROLE'] === 'gateway') {
  void gateway();
} else {
  void main();
}
