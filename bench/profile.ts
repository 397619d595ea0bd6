/**
 * `npx tsx bench/profile.ts`: where sheetgate's protected route spends its time per request, next to the hand-written
 * floor (bench/floor-server.ts, FLOOR=auth) under the same load in the same run. Both servers run with `--cpu-prof`,
 * pinned as `npm run bench` pins them (servers on CPU 1, this process on CPU 0; the server not under load stopped), and
 * get PROFILE_ROUNDS alternating rounds of PROFILE_SECONDS (defaults 4 × 4 s) over PROFILE_KEYS rotating keys (default
 * 10,000). Only the samples taken
 * during the load rounds count. Printed: each server's self time per request by package (express, router, helmet,
 * prom-client, rate-limiter-flexible, sheetgate's own src/, node internals, GC, native), then the functions whose self
 * time per request differs most between the two. Servers run from the compiled build, as `npm run bench` runs them
 * (BENCH_SOURCE=tsx: from source). PROFILE_SERVER=src/server.ts|bench/floor-server.ts… picks the
 * sheetgate side (default src/server.ts); the profiles stay in PROFILE_DIR (default a temporary directory).
 * PROFILE_VS=steady compares two sheetgate processes instead: one that never reloads during the run
 * (API_KEY_CACHE_DURATION=3600) on the left, one that reloads every 4 s (API_KEY_CACHE_DURATION=5) on the right, so the
 * difference is what the reloads cost per request served (with PROFILE_KEYS=100000, the big-sheet case).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startEmulator } from '../emulator/server';
import { makeCredentials } from '../emulator/credentials';
import {
  buildServers,
  CAN_PIN,
  pinSelf,
  rotatingKeys,
  runOnly,
  serverScript,
  serviceEnv,
  startProcess,
  untilReady,
} from './processes';
import type { Proc } from './processes';

const SECONDS = Number(process.env['PROFILE_SECONDS'] ?? 4);
const ROUNDS = Number(process.env['PROFILE_ROUNDS'] ?? 4);
const KEYS = Number(process.env['PROFILE_KEYS'] ?? 10_000);
const SERVER = process.env['PROFILE_SERVER'] ?? 'src/server.ts';
const CPU = CAN_PIN ? 1 : undefined;
const VS_STEADY = process.env['PROFILE_VS'] === 'steady';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}
/** A load round, in the profile's clock (monotonic µs, the same clock as `process.hrtime`). */
interface Window {
  readonly from: number;
  readonly to: number;
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** Self time in µs per function (`name url:line`), counting only samples inside `windows`. */
function selfTimes(profile: CpuProfile, windows: readonly Window[]): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (!windows.some((w) => t >= w.from && t <= w.to)) {
      return;
    }
    const frame = byId.get(id)?.callFrame;
    const url = (frame?.url ?? '').replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(src|bench)\//, '$1/');
    const name = `${frame?.functionName || '(anonymous)'} ${url}:${(frame?.lineNumber ?? 0) + 1}`;
    out.set(name, (out.get(name) ?? 0) + delta);
  });
  return out;
}

function packageOf(name: string): string {
  const url = name.slice(name.indexOf(' ') + 1);
  const pkg = /^(@[^/]+\/[^/]+|[^/:]+)\//.exec(url)?.[1];
  if (url.startsWith('src/') || url.startsWith('bench/')) {
    return 'sheetgate / floor code';
  }
  if (url.startsWith('node:')) {
    return 'node internals';
  }
  if (name.startsWith('(garbage collector)')) {
    return 'GC';
  }
  if (name.startsWith('(program)') || name.startsWith('(idle)')) {
    return name.slice(0, name.indexOf(' '));
  }
  return pkg ?? 'native';
}

async function load(server: Proc, keys: readonly string[]): Promise<number> {
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}/api/hello`,
    connections: 50,
    duration: SECONDS,
    requests: rotatingKeys(keys),
  });
  if (result.non2xx + result.errors > 0) {
    throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
  }
  return result.requests.total;
}

async function main(): Promise<void> {
  buildServers();
  const dir = process.env['PROFILE_DIR'] ?? mkdtempSync(join(tmpdir(), 'sheetgate-profile-'));
  const { path: credentialsPath, credentials } = makeCredentials(dir);
  const emulator = await startEmulator();
  emulator.trust(credentials);
  const keys = Array.from({ length: KEYS }, () => `sk-convergence-${randomUUID()}`);
  const header = ['api_key', 'client_name', 'created_at', 'expires_at', 'is_active', 'rate_limit'];
  const id = emulator.createSpreadsheet({
    tabs: { API_Keys: [header, ...keys.map((k, n) => [k, `client-${n}`, '', '', true, 1_000_000_000])] },
  });
  const keysFile = join(dir, 'keys.json');
  writeFileSync(keysFile, JSON.stringify(keys));
  const gateEnv = serviceEnv(credentialsPath, id, emulator.url);
  const servers: { name: string; dir: string; script: string; env: Record<string, string> }[] = [
    VS_STEADY
      ? {
          name: 'steady',
          dir: join(dir, 'steady'),
          script: SERVER,
          env: { ...gateEnv, API_KEY_CACHE_DURATION: '3600' },
        }
      : { name: 'floor', dir: join(dir, 'floor'), script: 'bench/floor-server.ts', env: { FLOOR: 'auth' } },
    {
      name: VS_STEADY ? 'reloading' : 'sheetgate',
      dir: join(dir, 'sheetgate'),
      script: SERVER,
      env: VS_STEADY ? { ...gateEnv, API_KEY_CACHE_DURATION: '5' } : gateEnv,
    },
  ];
  const procs: Proc[] = [];
  const windows = servers.map((): Window[] => []);
  const requests = servers.map(() => 0);
  try {
    for (const s of servers) {
      const flags = ['--cpu-prof', `--cpu-prof-dir=${s.dir}`];
      procs.push(
        await startProcess(serverScript(s.script), { ...s.env, FLOOR_KEYS_FILE: keysFile }, 10 * 60_000, CPU, flags),
      );
    }
    // The floor has no /ready: its keys are in when it listens.
    await Promise.all((VS_STEADY ? procs : procs.slice(1)).map(untilReady));
    if (CAN_PIN) {
      pinSelf(0);
    }
    // Only the server under load runs, as in `npm run bench`: the other's idle work would take the shared core.
    for (const p of procs) {
      runOnly(procs, p);
      await load(p, keys); // warm-up, not counted
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const [n, p] of procs.entries()) {
        runOnly(procs, p);
        const from = nowUs();
        requests[n] = (requests[n] ?? 0) + (await load(p, keys));
        windows[n]?.push({ from, to: nowUs() });
      }
    }
  } finally {
    runOnly(procs, undefined);
    await Promise.all(procs.map((p) => p.stop()));
    await emulator.close();
  }
  const perRequest = servers.map((s, n) => {
    const file = readdirSync(s.dir).find((f) => f.endsWith('.cpuprofile')) ?? '';
    const profile = JSON.parse(readFileSync(join(s.dir, file), 'utf8')) as CpuProfile;
    const times = selfTimes(profile, windows[n] ?? []);
    const per = new Map([...times].map(([name, us]) => [name, us / (requests[n] ?? 1)]));
    return per;
  });
  const [floor = new Map<string, number>(), gate = new Map<string, number>()] = perRequest;
  const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  const byPackage = (m: Map<string, number>): Map<string, number> => {
    const out = new Map<string, number>();
    for (const [name, us] of m) {
      out.set(packageOf(name), (out.get(packageOf(name)) ?? 0) + us);
    }
    return out;
  };
  console.log(`\nprofiles in ${dir}; ${ROUNDS} × ${SECONDS} s per server, ${KEYS} rotating keys, 50 connections`);
  const [left = '', right = ''] = servers.map((s) => s.name);
  console.log(`requests: ${left} ${requests[0]}, ${right} ${requests[1]}`);
  console.log(`sampled µs per request: ${left} ${total(floor).toFixed(2)}, ${right} ${total(gate).toFixed(2)}\n`);
  const pf = byPackage(floor);
  const pg = byPackage(gate);
  const packages = [...new Set([...pf.keys(), ...pg.keys()])].sort((a, b) => (pg.get(b) ?? 0) - (pg.get(a) ?? 0));
  console.log(`| package | ${left} µs/req | ${right} µs/req | difference |\n|---|---:|---:|---:|`);
  for (const p of packages) {
    const a = pf.get(p) ?? 0;
    const b = pg.get(p) ?? 0;
    console.log(`| ${p} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(b - a).toFixed(2)} |`);
  }
  const names = [...new Set([...floor.keys(), ...gate.keys()])];
  const diffs = names
    .map((name) => ({ name, a: floor.get(name) ?? 0, b: gate.get(name) ?? 0 }))
    .sort((x, y) => Math.abs(y.b - y.a) - Math.abs(x.b - x.a))
    .slice(0, Number(process.env['PROFILE_TOP'] ?? 40));
  console.log(`\n| function | ${left} µs/req | ${right} µs/req | difference |\n|---|---:|---:|---:|`);
  for (const d of diffs) {
    console.log(`| ${d.name} | ${d.a.toFixed(3)} | ${d.b.toFixed(3)} | ${(d.b - d.a).toFixed(3)} |`);
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
