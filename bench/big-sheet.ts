/**
 * `npx tsx bench/big-sheet.ts`: does a big sheet stall request handling? For each size in BIG_SHEET_SIZES
 * (default 1000,10000,100000 key rows) it runs three processes on 127.0.0.1:
 *
 * - the Sheets emulator (emulator/main.ts), seeded with that many keys;
 * - sheetgate: the modules src/server.ts wires (GoogleSheet → sheetgate() key store + middleware → createApp, plus a
 *   UsageFlusher), with a perf_hooks `monitorEventLoopDelay` histogram, driven over IPC by
 * - this process, which runs a light, evenly paced load (BIG_SHEET_RATE req/s, default 200, 10 connections, keys
 *   rotating over 1,000 of the sheet's) while it asks sheetgate to refresh its snapshot (BIG_SHEET_REFRESHES times,
 *   default 3) or to flush usage.
 *
 * BIG_SHEET_SHAPES (default `healthy,refused`) chooses the sheets measured at each size: `healthy`, every row a valid
 * key; `refused`, every row refused but the 1,000 the load uses — their `is_active` cells hold date-times, as when a
 * column is pasted one to the side, each different, so that every refusal quotes a cell the snapshot searches for a
 * key of the sheet (up to 300 sha256 per row).
 *
 * Reported per size and shape: the first load and each refresh (duration, max event-loop block), p99 latency of the load
 * during a refresh vs during a quiet window, heap and RSS per 1,000 keys (after GC), the read alone (HTTP + JSON) and
 * the snapshot build alone, and one usage flush under load. The emulator runs in its own process so its
 * serialisation of a multi-MB response blocks neither sheetgate nor the load generator.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants as perfConstants, monitorEventLoopDelay } from 'node:perf_hooks';
import { createApp } from '../src/app';
import { createHttpServer } from '../src/http/http-server';
import { GoogleSheet, readServiceAccount } from '../src/keys/sheet-source';
import { buildSnapshot } from '../src/keys/snapshot';
import { createLogger } from '../src/log';
import { sheetgate } from '../src/sheetgate';
import { UsageFlusher } from '../src/usage/flusher';
import { makeCredentials } from '../emulator/credentials';
import { flagList, startFlags } from './processes';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const SIZES = (process.env['BIG_SHEET_SIZES'] ?? '1000,10000,100000').split(',').map(Number);
type Shape = 'healthy' | 'refused';
const SHAPES = (process.env['BIG_SHEET_SHAPES'] ?? 'healthy,refused').split(',').map((name): Shape => {
  if (name !== 'healthy' && name !== 'refused') {
    throw new Error(`BIG_SHEET_SHAPES: unknown shape ${JSON.stringify(name)} (expected healthy, refused)`);
  }
  return name;
});
const RATE = env('BIG_SHEET_RATE', 200);
const REFRESHES = env('BIG_SHEET_REFRESHES', 3);
const LOAD_KEYS = 1_000;
/**
 * On a 2-core machine the emulator serialising a multi-MB response and the load generator would preempt sheetgate,
 * and that preemption shows as event-loop delay. With taskset, sheetgate's main thread — the event loop — has CPU 0
 * to itself, and everything else runs on CPU 1: sheetgate's own helper threads (V8's compilers and GC helpers), the
 * emulator and the load generator (BIG_SHEET_PIN=0 turns this off). That is a 2-core server whose second core takes
 * the rest. Pinning the whole process to CPU 0 instead would put the helpers on the event loop's core, and helpers
 * free to use either core spill onto CPU 0 while CPU 1 is busy (docs/performance.md). BIG_SHEET_PIN=process pins all
 * of sheetgate to CPU 0, as a container limited to one CPU would be.
 */
const PIN = process.env['BIG_SHEET_PIN'] !== '0' && availableParallelism() >= 2 && existsSync('/usr/bin/taskset');
const PIN_PROCESS = process.env['BIG_SHEET_PIN'] === 'process';
/**
 * Node flags for the sheetgate process: by default those `npm start` (and the Dockerfile) run the service with
 * (`--single-threaded-gc`, docs/performance.md); BIG_SHEET_NODE_FLAGS (space-separated, `none` for no flags) replaces them.
 */
const NODE_FLAGS =
  process.env['BIG_SHEET_NODE_FLAGS'] === undefined ? startFlags() : flagList(process.env['BIG_SHEET_NODE_FLAGS']);
const ZONE = 'Europe/Paris';
const HEADER = ['api_key', 'client_name', 'created_at', 'expires_at', 'is_active', 'rate_limit', 'usage_count'];

/** Event-loop delay over a window, ms. */
interface Delay {
  readonly max: number;
  readonly p99: number;
  readonly mean: number;
  /** Longest single GC pause in the window (ms) and its kind: how much of `max` was the collector. */
  readonly gcMax: number;
  readonly gcKind: string;
  /**
   * Time the main thread was runnable but not running in the window (Linux schedstat; NaN elsewhere): the machine's
   * share of the blocks — preemption by other processes or by this process's own threads — as opposed to ours.
   */
  readonly waitedMs: number;
}

/** Run-queue wait of this process's main thread so far, ms (`/proc/<pid>/task/<pid>/schedstat`, field 2). */
function runQueueWaitMs(): number {
  try {
    const fields = readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ');
    return Number(fields[1]) / 1e6;
  } catch {
    return NaN;
  }
}

interface Memory {
  readonly heapUsed: number;
  readonly rss: number;
}

type Command = 'reset' | 'delay' | 'refresh' | 'read' | 'build' | 'flush' | 'memory' | 'stop';

type Reply =
  | { readonly kind: 'ready'; readonly port: number; readonly loadMs: number; readonly delay: Delay }
  | { readonly kind: 'delay'; readonly delay: Delay }
  | { readonly kind: 'timed'; readonly ms: number; readonly delay: Delay; readonly detail?: string }
  | { readonly kind: 'memory'; readonly before: Memory; readonly after: Memory; readonly keys: number }
  | { readonly kind: 'stopped' };

// ---------------------------------------------------------------------------------------------------------------
// The sheetgate process.

async function serve(): Promise<void> {
  if (process.env['BIG_SHEET_PIN_MAIN'] === '1') {
    // Every thread to CPU 1 (`-a`: V8's helpers, started already), then the main thread alone back to CPU 0.
    spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
    spawnSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  }
  const send = (reply: Reply): void => {
    process.send?.(reply);
  };
  const gc = (): void => {
    (globalThis as { gc?: () => void }).gc?.();
    (globalThis as { gc?: () => void }).gc?.();
  };
  const mem = (): Memory => {
    const m = process.memoryUsage();
    return { heapUsed: m.heapUsed, rss: m.rss };
  };
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  /** A block shows in the histogram only when its timer next fires: let it fire before reading. */
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));
  let gcLongest = { ms: 0, kind: '-' };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration > gcLongest.ms) {
        gcLongest = { ms: entry.duration, kind: gcKindName((entry as { detail?: { kind?: number } }).detail?.kind) };
      }
    }
  }).observe({ entryTypes: ['gc'] });
  let waitedAtReset = runQueueWaitMs();
  const reset = (): void => {
    histogram.reset();
    gcLongest = { ms: 0, kind: '-' };
    waitedAtReset = runQueueWaitMs();
  };
  const delay = (): Delay => ({
    max: histogram.max / 1e6,
    p99: histogram.percentile(99) / 1e6,
    mean: histogram.mean / 1e6,
    gcMax: gcLongest.ms,
    gcKind: gcLongest.kind,
    waitedMs: runQueueWaitMs() - waitedAtReset,
  });
  const logger = createLogger({ level: 'warn', format: 'json' });
  const sheet = new GoogleSheet({
    credentials: readServiceAccount(process.env['CREDENTIALS_PATH'] ?? ''),
    spreadsheetId: process.env['SHEET_ID'] ?? '',
    sheetName: 'API_Keys',
    rootUrl: process.env['ROOT_URL'] ?? '',
    logger,
    timeoutMs: 60_000,
  });
  gc();
  const before = mem();
  await settle(); // the observer hears of the forced collections now, before the first load's window opens
  const flusher = new UsageFlusher({ sheet, logger, intervalMs: 3_600_000 });
  const started = performance.now();
  histogram.enable();
  reset(); // the forced collections above are not the first load's
  const gate = sheetgate({
    source: sheet,
    logger,
    cacheDurationSec: 3600, // refreshes only when this bench asks
    usage: flusher,
  });
  flusher.start();
  await gate.ready();
  const loadMs = performance.now() - started;
  await settle();
  const firstLoad = delay();
  const app = createApp({ gate, logger });
  const server = await new Promise<Server>((resolve) => {
    const s = createHttpServer(app).listen(0, '127.0.0.1', () => resolve(s));
  });
  send({ kind: 'ready', port: (server.address() as AddressInfo).port, loadMs, delay: firstLoad });

  const timed = async (run: () => Promise<string | undefined>): Promise<void> => {
    reset();
    const t = performance.now();
    const detail = await run();
    const ms = performance.now() - t;
    await settle();
    send({ kind: 'timed', ms, delay: delay(), ...(detail === undefined ? {} : { detail }) });
  };
  process.on('message', (command: Command) => {
    switch (command) {
      case 'reset':
        reset();
        send({ kind: 'delay', delay: delay() });
        break;
      case 'delay':
        send({ kind: 'delay', delay: delay() });
        break;
      case 'refresh':
        void timed(async () => {
          await gate.store?.refresh();
          const status = gate.status();
          return status?.lastError?.message ?? `${status?.keys ?? 0} keys`;
        });
        break;
      case 'read':
        void timed(async () => `${(await sheet.readTable()).rows.length} rows`);
        break;
      case 'build':
        void timed(async () => {
          const table = await sheet.readTable();
          reset();
          const t = performance.now();
          const snap = buildSnapshot(table, { defaultRateLimit: 60 }, Date.now());
          return `buildSnapshot alone ${(performance.now() - t).toFixed(0)} ms, ${snap.byHash.size} keys`;
        });
        break;
      case 'flush':
        void timed(async () => {
          const r = await flusher.flush();
          return `${r.outcome}: ${r.keys} keys, ${r.requests} requests`;
        });
        break;
      case 'memory':
        gc();
        send({ kind: 'memory', before, after: mem(), keys: gate.status()?.keys ?? 0 });
        break;
      case 'stop':
        gate.store?.stop();
        server.close();
        void flusher.stop().then(() => {
          send({ kind: 'stopped' });
          process.exit(0);
        });
        break;
    }
  });
}

const GC_KINDS: Readonly<Record<number, string>> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

function gcKindName(kind: number | undefined): string {
  return kind === undefined ? '?' : (GC_KINDS[kind] ?? String(kind));
}

// ---------------------------------------------------------------------------------------------------------------
// The orchestrating process.

interface Child {
  readonly process: ChildProcess;
  /** The next message, asked for or not (the first is `ready`). */
  next(): Promise<Reply>;
  ask(command: Command): Promise<Reply>;
}

function child(args: readonly string[], extraEnv: Record<string, string>): Child {
  const node = [process.execPath, '--expose-gc', ...NODE_FLAGS, '--import', 'tsx', ...args];
  // This process runs on CPU 1 only, and a child inherits that; with PIN_PROCESS the child runs on CPU 0 only.
  const [command = '', ...rest] = PIN && PIN_PROCESS ? ['taskset', '-c', '0', ...node] : node;
  const proc = spawn(command, rest, {
    env: { ...process.env, ...extraEnv, ...(PIN && !PIN_PROCESS ? { BIG_SHEET_PIN_MAIN: '1' } : {}) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const killer = setTimeout(() => proc.kill('SIGKILL'), 30 * 60_000);
  killer.unref();
  proc.once('exit', () => clearTimeout(killer));
  const replies: Reply[] = [];
  const waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  proc.on('message', (reply: Reply) => {
    const next = waiting.shift();
    if (next === undefined) {
      replies.push(reply);
    } else {
      next.resolve(reply);
    }
  });
  proc.once('exit', (code) => {
    for (const w of waiting.splice(0)) {
      w.reject(new Error(`${args.join(' ')} exited (${String(code)})`));
    }
  });
  const nextReply = (): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const queued = replies.shift();
      if (queued === undefined) {
        waiting.push({ resolve, reject });
      } else {
        resolve(queued);
      }
    });
  return {
    process: proc,
    next: nextReply,
    ask: (command) => {
      const reply = nextReply();
      proc.send(command);
      return reply;
    },
  };
}

/** Starts the emulator CLI in its own process and resolves with its URL. */
function startEmulatorProcess(credentialsPath: string, seedPath: string): Promise<{ url: string; proc: ChildProcess }> {
  const node = [process.execPath, '--import', 'tsx', 'emulator/main.ts', '--port', '0'];
  const [command = '', ...rest] = [
    ...(PIN ? ['taskset', '-c', '1'] : []),
    ...node,
    ...['--credentials', credentialsPath, '--seed', seedPath],
  ];
  const proc = spawn(command, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1] !== undefined) {
        resolve({ url: m[1], proc });
      }
    });
    proc.once('exit', (code) => reject(new Error(`emulator exited (${String(code)}): ${out}`)));
  });
}

interface LoadResult {
  readonly p99: number;
  readonly max: number;
  readonly p50: number;
  readonly requests: number;
  readonly non2xx: number;
}

/**
 * A light load until `stop()`: 10 loops (fetch keeps their connections alive), each sending one request every
 * 10 / RATE s, so arrivals are evenly spaced and a request is in flight whenever the server stalls. (autocannon's
 * `overallRate` sends each second's requests in a burst at its start, then waits: a stall later in the second is
 * invisible in its latencies.)
 */
/**
 * Paced load until `stop()`. Latencies count from `measure()` on (the window), so that the generator's own warm-up
 * before it is not reported as sheetgate's; a non-2xx answer counts whenever it comes.
 */
function load(port: number, keys: readonly string[]): { measure: () => void; stop: () => Promise<LoadResult> } {
  const loops = 10;
  const intervalMs = (1000 * loops) / RATE;
  const latencies: number[] = [];
  let non2xx = 0;
  let running = true;
  let measuring = false;
  const loop = async (n: number): Promise<void> => {
    let next = performance.now() + (intervalMs * n) / loops;
    for (let i = n; running; i += loops) {
      const wait = next - performance.now();
      if (wait > 0) {
        await sleep(wait);
      }
      next += intervalMs;
      const started = performance.now();
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/hello`, {
          headers: { authorization: `Bearer ${keys[i % keys.length] ?? ''}` },
        });
        await res.arrayBuffer();
        non2xx += res.ok ? 0 : 1;
      } catch {
        non2xx += 1;
      }
      if (measuring) {
        latencies.push(performance.now() - started);
      }
    }
  };
  const done = Promise.all(Array.from({ length: loops }, (_, n) => loop(n)));
  return {
    measure: () => {
      measuring = true;
    },
    stop: async () => {
      running = false;
      await done;
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number): number =>
        Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN) * 10) / 10;
      return { p50: at(0.5), p99: at(0.99), max: at(1), requests: sorted.length, non2xx };
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function expectKind<K extends Reply['kind']>(reply: Reply, kind: K): Extract<Reply, { kind: K }> {
  if (reply.kind !== kind) {
    throw new Error(`expected ${kind}, got ${JSON.stringify(reply)}`);
  }
  return reply as Extract<Reply, { kind: K }>;
}

/** Runs `action` under load, with the delay histogram reset just before; 1 s of load either side. */
async function underLoad(
  gate: Child,
  port: number,
  keys: readonly string[],
  action: Command | undefined,
): Promise<{ ms: number; delay: Delay; load: LoadResult; detail?: string }> {
  const running = load(port, keys);
  await sleep(1000);
  expectKind(await gate.ask('reset'), 'delay');
  running.measure();
  let ms = 0;
  let detail: string | undefined;
  if (action === undefined) {
    await sleep(3000);
  } else {
    const timed = expectKind(await gate.ask(action), 'timed');
    ms = timed.ms;
    detail = timed.detail;
  }
  await sleep(1000);
  const { delay } = expectKind(await gate.ask('delay'), 'delay');
  return { ms, delay, load: await running.stop(), ...(detail === undefined ? {} : { detail }) };
}

interface SizeResult {
  readonly rows: number;
  readonly shape: Shape;
  readonly first: { ms: number; delay: Delay };
  readonly read: { ms: number; delay: Delay };
  readonly buildDetail: string;
  readonly quiet: { delay: Delay; load: LoadResult };
  readonly refreshes: { ms: number; delay: Delay; load: LoadResult }[];
  readonly flush: { ms: number; delay: Delay; load: LoadResult; detail?: string };
  readonly heapPer1000: number;
  readonly rssPer1000: number;
  readonly heapMb: number;
  readonly rssMb: number;
}

/** `is_active` of row `n`: TRUE, or for a refused row a date-time of its own, as a shifted `created_at` column. */
function activeCell(shape: Shape, n: number): string {
  if (shape === 'healthy' || n < LOAD_KEYS) {
    return 'TRUE';
  }
  const at = new Date(Date.UTC(2025, 0, 1) + n * 61_000);
  return at.toISOString().slice(0, 19).replace('T', ' ');
}

async function measure(rows: number, shape: Shape, credentialsPath: string, dir: string): Promise<SizeResult> {
  const keys = Array.from({ length: rows }, () => `sk-convergence-${randomUUID()}`);
  const seedPath = join(dir, `seed-${rows}-${shape}.json`);
  const tab = [
    HEADER,
    ...keys.map((k, n) => [
      k,
      `client-${n}`,
      '2025-01-15',
      n % 10 === 0 ? '2030-12-31' : '',
      activeCell(shape, n),
      1_000_000_000,
      0,
    ]),
  ];
  writeFileSync(seedPath, JSON.stringify({ spreadsheets: [{ id: 'big', timeZone: ZONE, tabs: { API_Keys: tab } }] }));
  const emulator = await startEmulatorProcess(credentialsPath, seedPath);
  const gate = child(['bench/big-sheet.ts', 'serve'], {
    CREDENTIALS_PATH: credentialsPath,
    SHEET_ID: 'big',
    ROOT_URL: emulator.url,
  });
  try {
    const ready = expectKind(await gate.next(), 'ready');
    const loadKeys = keys.slice(0, LOAD_KEYS);
    const memory = expectKind(await gate.ask('memory'), 'memory');
    const quiet = await underLoad(gate, ready.port, loadKeys, undefined);
    const refreshes = [];
    for (let r = 0; r < REFRESHES; r++) {
      refreshes.push(await underLoad(gate, ready.port, loadKeys, 'refresh'));
    }
    const flush = await underLoad(gate, ready.port, loadKeys, 'flush');
    // Last: the read and the build alone hold a whole table, garbage a refresh would otherwise inherit.
    const read = expectKind(await gate.ask('read'), 'timed');
    const build = expectKind(await gate.ask('build'), 'timed');
    expectKind(await gate.ask('stop'), 'stopped');
    const per1000 = (bytes: number): number => bytes / 1e6 / (memory.keys / 1000);
    return {
      rows,
      shape,
      first: { ms: ready.loadMs, delay: ready.delay },
      read: { ms: read.ms, delay: read.delay },
      buildDetail: build.detail ?? '',
      quiet,
      refreshes,
      flush,
      heapPer1000: per1000(memory.after.heapUsed - memory.before.heapUsed),
      rssPer1000: per1000(memory.after.rss - memory.before.rss),
      heapMb: memory.after.heapUsed / 1e6,
      rssMb: memory.after.rss / 1e6,
    };
  } finally {
    gate.process.kill();
    emulator.proc.kill();
  }
}

const f0 = (n: number): string => n.toFixed(0);
const f1 = (n: number): string => n.toFixed(1);

async function main(): Promise<void> {
  if (PIN) {
    // All threads (-a): the load generator's own GC threads on sheetgate's core were part of what it waited for.
    spawnSync('taskset', ['-a', '-pc', '1', String(process.pid)], { stdio: 'ignore' });
  }
  const dir = mkdtempSync(join(tmpdir(), 'sheetgate-big-'));
  const { path: credentialsPath } = makeCredentials(dir);
  const results: SizeResult[] = [];
  for (const rows of SIZES) {
    for (const shape of SHAPES) {
      process.stdout.write(`${rows} rows, ${shape}…\n`);
      results.push(await measure(rows, shape, credentialsPath, dir));
    }
  }
  console.log(
    `\nnode ${process.version} ${NODE_FLAGS.join(' ') || '(no flags)'}; load ${RATE} req/s over 10 connections; ${REFRESHES} refreshes per size; times in ms; ${PIN ? (PIN_PROCESS ? 'sheetgate (all its threads) on CPU 0' : "sheetgate's main thread alone on CPU 0, the rest on CPU 1") : 'not pinned'}\n`,
  );
  console.log(
    '| rows | sheet | first load | refresh (median) | max loop block: first load / refresh (worst) / quiet | latency p99 / max: refresh (worst) ; quiet | read alone (block) | heap MB | heap / RSS per 1,000 keys (MB) |',
  );
  console.log('|---:|---|---:|---:|---|---|---|---:|---|');
  for (const r of results) {
    const sorted = [...r.refreshes].sort((a, b) => a.ms - b.ms);
    const median = sorted[Math.floor(sorted.length / 2)]?.ms ?? NaN;
    const worstBlock = Math.max(...r.refreshes.map((x) => x.delay.max));
    const worstP99 = Math.max(...r.refreshes.map((x) => x.load.p99));
    const worstMax = Math.max(...r.refreshes.map((x) => x.load.max));
    console.log(
      `| ${r.rows} | ${r.shape} | ${f0(r.first.ms)} | ${f0(median)} | ${f1(r.first.delay.max)} / ${f1(worstBlock)} / ${f1(r.quiet.delay.max)} | ${worstP99} / ${worstMax} ; ${r.quiet.load.p99} / ${r.quiet.load.max} | ${f0(r.read.ms)} (${f1(r.read.delay.max)}) | ${f1(r.heapMb)} | ${r.heapPer1000.toFixed(2)} / ${r.rssPer1000.toFixed(2)} |`,
    );
  }
  const healthy = results.filter((r) => r.shape === 'healthy');
  for (let i = 1; i < healthy.length; i++) {
    const [a, b] = [healthy[i - 1], healthy[i]];
    if (a !== undefined && b !== undefined) {
      const per = (x: number, y: number): string => (((y - x) / (b.rows - a.rows)) * 1000).toFixed(2);
      console.log(
        `\nheap / RSS per 1,000 keys between ${a.rows} and ${b.rows} rows: ${per(a.heapMb, b.heapMb)} / ${per(a.rssMb, b.rssMb)} MB`,
      );
    }
  }
  const gc = (d: Delay): string => `GC ${f1(d.gcMax)} ${d.gcKind}, waited ${f0(d.waitedMs)}`;
  console.log(
    '\nPer size: each window as max loop block (longest GC pause in it, ms the main thread waited for a CPU in all); snapshot build alone; usage flush under load; non-2xx',
  );
  for (const r of results) {
    const non2xx = r.quiet.load.non2xx + r.flush.load.non2xx + r.refreshes.reduce((n, x) => n + x.load.non2xx, 0);
    const each = r.refreshes.map(
      (x) => `${f0(x.ms)} ms / ${f1(x.delay.max)} ms (${gc(x.delay)}) / p99 ${x.load.p99} max ${x.load.max}`,
    );
    console.log(`- ${r.rows} rows, ${r.shape}: refreshes (duration / max loop block / latency ms): ${each.join('; ')}`);
    console.log(
      `- ${r.rows} rows, ${r.shape}: first load ${f1(r.first.delay.max)} ms (${gc(r.first.delay)}); read alone ${f1(r.read.delay.max)} ms (${gc(r.read.delay)}); quiet ${f1(r.quiet.delay.max)} ms (${gc(r.quiet.delay)})`,
    );
    console.log(
      `- ${r.rows} rows, ${r.shape}: ${r.buildDetail}; flush ${f0(r.flush.ms)} ms (${r.flush.detail ?? ''}), block ${f1(r.flush.delay.max)} ms (${gc(r.flush.delay)}), p99 ${r.flush.load.p99} ms; non-2xx ${non2xx}`,
    );
  }
}

if (process.argv[2] === 'serve') {
  void serve();
} else {
  void main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
