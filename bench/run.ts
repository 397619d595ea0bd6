/**
 * `npm run bench`: sheetgate's protected route vs the same route on bare Express 5, in one run, on 127.0.0.1.
 * Every server is a real listening process, run from the compiled build as production runs it (`npm run build` is
 * done first; BENCH_SOURCE=tsx runs the TypeScript sources through tsx instead) and with the node flags `npm start`
 * runs the service with, every server alike (BENCH_NODE_FLAGS replaces them); autocannon drives them from this process, 50 connections, for a bounded
 * time each (BENCH_SECONDS, default 3; BENCH_ROUNDS alternating rounds, default 7; BENCH_KEYS rotating keys, default
 * 10,000; BENCH_BIG_KEYS, default 100,000, a case with that many keys in the sheet, 0 to leave it out). Prints req/s,
 * p50, p99 and ratios to bare Express with its defaults and to bare Express *alike*: ETag off and served through
 * sheetgate's `createHttpServer`, as sheetgate is (the like-for-like baseline), plus two floors (bench/floor-server.ts:
 * what the contract obliges every accepted response to carry, hand-written, served the same way). On a machine
 * with 2+ cores and taskset, the servers share CPU 1 and the load generator has CPU 0 (BENCH_PIN=0 turns this off).
 * Only the server under load runs: the others are stopped (SIGSTOP) while it is measured, so that what idle servers
 * do on their own (timers, a reload, garbage collection) lands on no case's figures; a resumed server gets load that
 * is not measured before its round, BENCH_SETTLE_SECONDS (default 1) and until it has been sent each of its keys once.
 * Keys rotate across rounds (each round goes on where the last stopped), and the warm-up presents every key at least
 * once.
 * The rotating keys (and the floor's) expire in 2099, so their answers carry X-Sheetgate-Key-Expiration; the one key
 * does not expire. Ratios to the hand-written floor are per round, like the others; the BENCH_BIG_KEYS case is
 * compared with the hand-written floor serving as many keys, and the last line says what going from BENCH_KEYS to
 * BENCH_BIG_KEYS keys costs each of them.
 *
 * BENCH_MODE=reload measures the refresh's cost instead: two sheetgate processes on the same BENCH_BIG_KEYS-row sheet,
 * one reloading it every 4 s (API_KEY_CACHE_DURATION=5), one never during the run, in alternating rounds of
 * BENCH_SECONDS (default 8 in this mode). The process not under load is stopped (SIGSTOP) so that its reloads do not
 * take the core from the other; a reload due while it was stopped runs in its next round.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startEmulator } from '../emulator/server';
import { makeCredentials } from '../emulator/credentials';
import {
  CAN_PIN,
  SERVER_NODE_FLAGS,
  buildServers,
  pinSelf,
  runOnly,
  serverScript,
  serviceEnv,
  startProcess,
  untilReady,
} from './processes';
import type { Proc } from './processes';

const RELOAD_MODE = process.env['BENCH_MODE'] === 'reload';
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? (RELOAD_MODE ? 8 : 3));
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 7);
/**
 * Seconds of load, not measured, that a server gets each round after being resumed, and more until it has been sent
 * every one of its keys (see `settle`): what a process does first when it runs again (timers that fell due while it
 * was stopped, a young generation V8 shrank while it allocated nothing, key data gone from the caches) is the
 * harness's doing, not the server's steady state. 0 turns it off. Not used in reload mode, where a reload due while
 * stopped is part of what is measured.
 */
const SETTLE_SECONDS = Number(process.env['BENCH_SETTLE_SECONDS'] ?? 1);
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

/** Expiry of the rotating keys (and the floor's): far enough away never to be reached, near enough to be a date. */
const EXPIRES_AT = '2099-12-31';

function keys(n: number): string[] {
  return Array.from({ length: n }, () => `sk-convergence-${randomUUID()}`);
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Where each key list's rotation stands: a round goes on from the key the one before it stopped at. */
const rotations = new Map<readonly string[], { next: number }>();

function rotation(keyList: readonly string[]): { next: number } {
  let at = rotations.get(keyList);
  if (at === undefined) {
    at = { next: 0 };
    rotations.set(keyList, at);
  }
  return at;
}

async function load(name: string, server: Proc, keyList: readonly string[], seconds = SECONDS): Promise<Row> {
  const at = rotation(keyList);
  const port = server.port;
  const cpuBefore = server.cpuMs();
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/api/hello`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        setupRequest: (req) => {
          const key = keyList[at.next++ % Math.max(1, keyList.length)];
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

/**
 * Unmeasured load for a server just resumed: BENCH_SETTLE_SECONDS at least, and until it has been sent every key of
 * `keyList` once since the resume, so that its round finds the keys' data where serving them all the time leaves it
 * (a 100,000-key server stopped for the other cases' rounds comes back with its keys out of the caches).
 */
async function settle(server: Proc, keyList: readonly string[]): Promise<void> {
  if (SETTLE_SECONDS <= 0) {
    return;
  }
  const at = rotation(keyList);
  const from = at.next;
  do {
    await load('settle', server, keyList, SETTLE_SECONDS);
  } while (at.next - from < keyList.length);
}

/**
 * BENCH_MODE=reload: the same sheet served by a process that reloads it every 4 s and by one that never reloads during
 * the run, alternating rounds; only the process under load runs (the other is stopped with SIGSTOP).
 */
async function reloadRuns(env: Record<string, string>, keyList: readonly string[]): Promise<void> {
  const LIFE_MS = 30 * 60_000;
  const steady = await startProcess(
    serverScript('src/server.ts'),
    { ...env, API_KEY_CACHE_DURATION: '3600' },
    LIFE_MS,
    SERVER_CPU,
  );
  const reloading = await startProcess(
    serverScript('src/server.ts'),
    { ...env, API_KEY_CACHE_DURATION: '5' },
    LIFE_MS,
    SERVER_CPU,
  );
  const cases = [
    { name: `sheetgate, ${keyList.length} keys, never reloading`, server: steady },
    { name: `sheetgate, ${keyList.length} keys, reloading every 4 s`, server: reloading },
  ];
  const runs = cases.map((): Row[] => []);
  try {
    await Promise.all([steady, reloading].map(untilReady));
    if (PIN) {
      pinSelf(0);
    }
    const servers = [steady, reloading];
    for (const c of cases) {
      runOnly(servers, c.server);
      await load('warm-up', c.server, keyList);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const [n, c] of cases.entries()) {
        runOnly(servers, c.server);
        runs[n]?.push(await load(c.name, c.server, keyList));
      }
    }
    runOnly(servers, reloading);
    const status: unknown = await (await fetch(`http://127.0.0.1:${reloading.port}/auth/status`)).json();
    console.log('\nthe reloading process at the end:', JSON.stringify(status));
  } finally {
    runOnly([steady, reloading], undefined);
    await Promise.all([steady, reloading].map((server) => server.stop()));
  }
  const [still = [], moving = []] = runs;
  const perRound = (of: (r: Row) => number): number => median(moving.map((r, i) => of(r) / of(still[i] ?? r)));
  console.log(
    `\n${CONNECTIONS} connections, ${ROUNDS} rounds × ${SECONDS} s per case, node ${process.version} ${SERVER_NODE_FLAGS.join(' ') || '(no flags)'}, ` +
      `${PIN ? 'servers on CPU 1, load generator on CPU 0' : 'not pinned'}\n`,
  );
  console.log('| case | req/s (median) | server CPU µs/req | p50 ms | p99 ms | non-2xx |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [n, c] of cases.entries()) {
    const rs = runs[n] ?? [];
    const cells = [
      c.name,
      Math.round(median(rs.map((r) => r.rps))),
      Math.round(median(rs.map((r) => r.cpuUs))),
      median(rs.map((r) => r.p50)),
      median(rs.map((r) => r.p99)),
      rs.reduce((sum, r) => sum + r.non2xx, 0),
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
  console.log(
    `\nreloading ÷ never reloading, per round (median): req/s ${perRound((r) => r.rps).toFixed(2)}, ` +
      `p99 ${perRound((r) => r.p99).toFixed(2)}, server CPU per request ${perRound((r) => r.cpuUs).toFixed(2)}`,
  );
}

async function main(): Promise<void> {
  buildServers();
  const dir = mkdtempSync(join(tmpdir(), 'sheetgate-bench-'));
  const { path: credentialsPath, credentials } = makeCredentials(dir);
  const emulator = await startEmulator();
  emulator.trust(credentials);
  const header = ['api_key', 'client_name', 'created_at', 'expires_at', 'is_active', 'rate_limit'];
  const sheet = (list: readonly string[], expiresAt = '') => [
    header,
    ...list.map((k, n) => [k, `client-${n}`, '', expiresAt, true, 1_000_000_000]),
  ];

  const one = keys(1);
  const many = keys(ROTATING_KEYS);
  const big = keys(BIG_KEYS);
  const sheetEnv = (id: string): Record<string, string> => serviceEnv(credentialsPath, id, emulator.url);
  if (RELOAD_MODE) {
    try {
      await reloadRuns(sheetEnv(emulator.createSpreadsheet({ tabs: { API_Keys: sheet(big, EXPIRES_AT) } })), big);
    } finally {
      await emulator.close();
    }
    return;
  }
  const smallId = emulator.createSpreadsheet({
    tabs: { API_Keys: [...sheet(one), ...sheet(many, EXPIRES_AT).slice(1)] },
  });

  const LIFE_MS = 30 * 60_000;
  const bare = await startProcess(serverScript('bench/bare-server.ts'), {}, LIFE_MS, SERVER_CPU);
  const bareNoEtag = await startProcess(serverScript('bench/bare-server.ts'), { ETAG: 'off' }, LIFE_MS, SERVER_CPU);
  const bareAlike = await startProcess(
    serverScript('bench/bare-server.ts'),
    { ETAG: 'off', HTTP_SERVER: 'sheetgate' },
    LIFE_MS,
    SERVER_CPU,
  );
  const keysFile = join(dir, 'floor-keys.json');
  writeFileSync(keysFile, JSON.stringify(many));
  const floorHeaders = await startProcess(
    serverScript('bench/floor-server.ts'),
    { FLOOR: 'headers' },
    LIFE_MS,
    SERVER_CPU,
  );
  const floorAuth = await startProcess(
    serverScript('bench/floor-server.ts'),
    { FLOOR: 'auth', FLOOR_KEYS_FILE: keysFile, FLOOR_EXPIRES_AT: `${EXPIRES_AT}T00:00:00Z` },
    LIFE_MS,
    SERVER_CPU,
  );
  const bigKeysFile = join(dir, 'floor-big-keys.json');
  writeFileSync(bigKeysFile, JSON.stringify(big));
  const floorBig =
    BIG_KEYS > 0
      ? await startProcess(
          serverScript('bench/floor-server.ts'),
          { FLOOR: 'auth', FLOOR_KEYS_FILE: bigKeysFile, FLOOR_EXPIRES_AT: `${EXPIRES_AT}T00:00:00Z` },
          LIFE_MS,
          SERVER_CPU,
        )
      : undefined;
  const gate = await startProcess(serverScript('src/server.ts'), sheetEnv(smallId), LIFE_MS, SERVER_CPU);
  const bigGate =
    BIG_KEYS > 0
      ? await startProcess(
          serverScript('src/server.ts'),
          sheetEnv(emulator.createSpreadsheet({ tabs: { API_Keys: sheet(big, EXPIRES_AT) } })),
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
  const floorName = `floor: hand-written auth, ${ROTATING_KEYS} keys`;
  const floorBigName = `floor: hand-written auth, ${BIG_KEYS} keys`;
  /** `floor`: the floor case its "vs floor" ratios are taken against (the one with as many keys); the first by default. */
  const cases: { name: string; server: Proc; keys: readonly string[]; floor?: string }[] = [
    { name: 'bare express 5 (no auth)', server: bare, keys: [] },
    { name: 'bare express 5, ETag off', server: bareNoEtag, keys: [] },
    { name: "bare express 5, ETag off, sheetgate's http server", server: bareAlike, keys: [] },
    { name: "floor: the contract's headers only", server: floorHeaders, keys: [] },
    { name: floorName, server: floorAuth, keys: many },
    ...(floorBig === undefined ? [] : [{ name: floorBigName, server: floorBig, keys: big }]),
    { name: 'sheetgate, 1 key', server: gate, keys: one },
    { name: `sheetgate, ${ROTATING_KEYS} keys rotating`, server: gate, keys: many },
    ...(bigGate === undefined
      ? []
      : [
          {
            name: `sheetgate, ${BIG_KEYS} keys rotating (vs the ${BIG_KEYS}-key floor)`,
            server: bigGate,
            keys: big,
            floor: floorBigName,
          },
        ]),
  ];
  const runs = new Map<string, Row[]>(cases.map((c) => [c.name, []]));
  try {
    const servers = [...new Set(cases.map((c) => c.server))];
    // Every key is presented before the rounds: what a key costs the first time it is seen is not the steady state.
    for (const c of cases) {
      runOnly(servers, c.server);
      do {
        await load('warm-up', c.server, c.keys);
      } while (rotation(c.keys).next < c.keys.length);
    }
    // Rounds alternate the cases, so drift on a noisy machine hits every case alike; ratios are per round.
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of cases) {
        runOnly(servers, c.server);
        await settle(c.server, c.keys);
        const row = await load(c.name, c.server, c.keys);
        runs.get(c.name)?.push(row);
        // Progress, and each round's figures for a reader who wants more than the medians.
        console.error(
          `round ${round + 1}: ${c.name}: ${Math.round(row.rps)} req/s, ${row.cpuUs.toFixed(1)} µs CPU/req`,
        );
      }
    }
  } finally {
    runOnly([...new Set(cases.map((c) => c.server))], undefined);
    const servers = [
      bare,
      bareNoEtag,
      bareAlike,
      floorHeaders,
      floorAuth,
      ...(floorBig === undefined ? [] : [floorBig]),
      gate,
      ...(bigGate === undefined ? [] : [bigGate]),
    ];
    await Promise.all(servers.map((server) => server.stop()));
    await emulator.close();
  }

  const baseRuns = runs.get(cases[0]?.name ?? '') ?? [];
  const alikeRuns = runs.get(cases[2]?.name ?? '') ?? [];
  const floorRuns = (c: { floor?: string }): readonly Row[] => runs.get(c.floor ?? floorName) ?? [];
  /** Median over rounds of the case's req/s divided by the baseline's in the same round. */
  const ratio = (rs: readonly Row[], base: readonly Row[], of: (r: Row) => number): number =>
    median(rs.map((r, i) => of(r) / of(base[i] ?? r)));
  console.log(
    `\n${CONNECTIONS} connections, ${ROUNDS} rounds × ${SECONDS} s per case, 127.0.0.1, node ${process.version} ${SERVER_NODE_FLAGS.join(' ') || '(no flags)'}, ` +
      `${PIN ? 'servers on CPU 1, load generator on CPU 0' : 'not pinned'}\n`,
  );
  console.log(
    '| case | req/s (median) | req/s vs bare | req/s vs bare alike | req/s vs floor | server CPU µs/req | CPU/req: floor ÷ case | p50 ms | p99 ms | non-2xx |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    const rs = runs.get(c.name) ?? [];
    const cells = [
      c.name,
      Math.round(median(rs.map((r) => r.rps))),
      ratio(rs, baseRuns, (r) => r.rps).toFixed(2),
      ratio(rs, alikeRuns, (r) => r.rps).toFixed(2),
      ratio(rs, floorRuns(c), (r) => r.rps).toFixed(2),
      Math.round(median(rs.map((r) => r.cpuUs))),
      // Inverted so that, like the req/s ratios, 1.00 is "as cheap as the floor" and lower is dearer.
      (1 / ratio(rs, floorRuns(c), (r) => r.cpuUs)).toFixed(2),
      median(rs.map((r) => r.p50)),
      median(rs.map((r) => r.p99)),
      rs.reduce((n, r) => n + r.non2xx, 0),
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
  const [small, large] = [cases[cases.length - 2], cases[cases.length - 1]];
  if (bigGate !== undefined && small !== undefined && large !== undefined) {
    const of = (name: string): readonly Row[] => runs.get(name) ?? [];
    const scale = (a: string, b: string, pick: (r: Row) => number): string => ratio(of(a), of(b), pick).toFixed(2);
    console.log(
      `\n${BIG_KEYS} keys ÷ ${ROTATING_KEYS} keys, per round: sheetgate req/s ${scale(large.name, small.name, (r) => r.rps)}, ` +
        `CPU/req ${scale(large.name, small.name, (r) => r.cpuUs)}; the hand-written floor req/s ` +
        `${scale(floorBigName, floorName, (r) => r.rps)}, CPU/req ${scale(floorBigName, floorName, (r) => r.cpuUs)}`,
    );
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
