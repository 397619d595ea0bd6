/**
 * `npm run bench`: sheetgate's protected route vs the same route on bare Express 5, in one run, on 127.0.0.1.
 * Every server is a real listening process; autocannon drives them from this process, 50 connections, for a bounded
 * time each (BENCH_SECONDS, default 3; BENCH_ROUNDS alternating rounds, default 7; BENCH_KEYS rotating keys, default
 * 10,000; BENCH_BIG_KEYS, default 100,000, a case with that many keys in the sheet, 0 to leave it out). Prints req/s,
 * p50, p99 and ratios to bare Express with its defaults and to bare Express *alike*: ETag off and served through
 * sheetgate's `createHttpServer`, as sheetgate is (the like-for-like baseline), plus two floors (bench/floor-server.ts:
 * what the HTTP contract obliges every accepted response to carry, hand-written, served the same way). On a machine
 * with 2+ cores and taskset, the servers share CPU 1 and the load generator has CPU 0 (BENCH_PIN=0 turns this off).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startEmulator } from '../emulator/server';
import { makeCredentials } from '../emulator/credentials';
import { CAN_PIN, pinSelf, startProcess, untilReady } from './processes';
import type { Proc } from './processes';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 7);
const CONNECTIONS = 50;
const ROTATING_KEYS = Number(process.env['BENCH_KEYS'] ?? 10_000);
const BIG_KEYS = Number(process.env['BENCH_BIG_KEYS'] ?? 100_000);
const PIN = process.env['BENCH_PIN'] !== '0' && CAN_PIN;
const SERVER_CPU = PIN ? 1 : undefined;

interface Row {
  readonly name: string;
  readonly rps: number;
  /** Server CPU time per request, µs: robust to a noisy machine, unlike req/s. */
  readonly cpuUs: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
}

function keys(n: number): string[] {
  return Array.from({ length: n }, () => `sk-convergence-${randomUUID()}`);
}

async function load(name: string, server: Proc, keyList: readonly string[]): Promise<Row> {
  let i = 0;
  const port = server.port;
  const cpuBefore = server.cpuMs();
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
  const cpuUs = ((server.cpuMs() - cpuBefore) * 1000) / Math.max(1, result.requests.total);
  return {
    name,
    rps: result.requests.average,
    cpuUs,
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

  const LIFE_MS = 30 * 60_000;
  const bare = await startProcess('bench/bare-server.ts', {}, LIFE_MS, SERVER_CPU);
  const bareNoEtag = await startProcess('bench/bare-server.ts', { ETAG: 'off' }, LIFE_MS, SERVER_CPU);
  const bareAlike = await startProcess(
    'bench/bare-server.ts',
    { ETAG: 'off', HTTP_SERVER: 'sheetgate' },
    LIFE_MS,
    SERVER_CPU,
  );
  const keysFile = join(dir, 'floor-keys.json');
  writeFileSync(keysFile, JSON.stringify(many));
  const floorHeaders = await startProcess('bench/floor-server.ts', { FLOOR: 'headers' }, LIFE_MS, SERVER_CPU);
  const floorAuth = await startProcess(
    'bench/floor-server.ts',
    { FLOOR: 'auth', FLOOR_KEYS_FILE: keysFile },
    LIFE_MS,
    SERVER_CPU,
  );
  const gate = await startProcess('src/server.ts', sheetEnv(smallId), LIFE_MS, SERVER_CPU);
  const bigGate =
    BIG_KEYS > 0
      ? await startProcess(
          'src/server.ts',
          sheetEnv(emulator.createSpreadsheet({ tabs: { API_Keys: sheet(big) } })),
          LIFE_MS,
          SERVER_CPU,
        )
      : undefined;
  // Load only once the first snapshot is in: 503s during warm-up train the JIT on the refusal path, and such a
  // process then runs the accepted path measurably slower for its whole life (docs/performance.md).
  await Promise.all([gate, ...(bigGate === undefined ? [] : [bigGate])].map(untilReady));
  if (PIN) {
    pinSelf(0);
  }
  const cases: { name: string; server: Proc; keys: readonly string[] }[] = [
    { name: 'bare express 5 (no auth)', server: bare, keys: [] },
    { name: 'bare express 5, ETag off', server: bareNoEtag, keys: [] },
    { name: "bare express 5, ETag off, sheetgate's http server", server: bareAlike, keys: [] },
    { name: "floor: the contract's headers only", server: floorHeaders, keys: [] },
    { name: `floor: hand-written auth, ${ROTATING_KEYS} keys`, server: floorAuth, keys: many },
    { name: 'sheetgate, 1 key', server: gate, keys: one },
    { name: `sheetgate, ${ROTATING_KEYS} keys rotating`, server: gate, keys: many },
    ...(bigGate === undefined ? [] : [{ name: `sheetgate, ${BIG_KEYS} keys rotating`, server: bigGate, keys: big }]),
  ];
  const runs = new Map<string, Row[]>(cases.map((c) => [c.name, []]));
  try {
    for (const c of cases) {
      await load('warm-up', c.server, c.keys);
    }
    // Rounds alternate the cases, so drift on a noisy machine hits every case alike; ratios are per round.
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of cases) {
        runs.get(c.name)?.push(await load(c.name, c.server, c.keys));
      }
    }
  } finally {
    const servers = [
      bare,
      bareNoEtag,
      bareAlike,
      floorHeaders,
      floorAuth,
      gate,
      ...(bigGate === undefined ? [] : [bigGate]),
    ];
    await Promise.all(servers.map((server) => server.stop()));
    await emulator.close();
  }

  const median = (xs: number[]): number => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  };
  const baseRuns = runs.get(cases[0]?.name ?? '') ?? [];
  const alikeRuns = runs.get(cases[2]?.name ?? '') ?? [];
  /** Median over rounds of the case's req/s divided by the baseline's in the same round. */
  const ratio = (rs: readonly Row[], base: readonly Row[], of: (r: Row) => number): number =>
    median(rs.map((r, i) => of(r) / of(base[i] ?? r)));
  console.log(
    `\n${CONNECTIONS} connections, ${ROUNDS} rounds × ${SECONDS} s per case, 127.0.0.1, node ${process.version}, ` +
      `${PIN ? 'servers on CPU 1, load generator on CPU 0' : 'not pinned'}\n`,
  );
  console.log(
    '| case | req/s (median) | req/s vs bare | req/s vs bare alike | server CPU µs/req | CPU/req: bare ÷ case | p50 ms | p99 ms | non-2xx |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    const rs = runs.get(c.name) ?? [];
    const cells = [
      c.name,
      Math.round(median(rs.map((r) => r.rps))),
      ratio(rs, baseRuns, (r) => r.rps).toFixed(2),
      ratio(rs, alikeRuns, (r) => r.rps).toFixed(2),
      Math.round(median(rs.map((r) => r.cpuUs))),
      // Inverted so that, like the req/s ratios, 1.00 is "as cheap as bare Express" and lower is dearer.
      (1 / ratio(rs, baseRuns, (r) => r.cpuUs)).toFixed(2),
      median(rs.map((r) => r.p50)),
      median(rs.map((r) => r.p99)),
      rs.reduce((n, r) => n + r.non2xx, 0),
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
