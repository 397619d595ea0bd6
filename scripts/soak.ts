/**
 * `npm run soak` (not part of `npm test`): a bounded run of a real sheetgate process (`src/server.ts`)
 * against the Sheets emulator in this process, on 127.0.0.1, while this process
 *
 * - sends a steady, rate-bounded load (SOAK_RATE req/s, default 100, over 8 connections) with keys that stay valid and
 *   keys that come and go;
 * - plays the sheet's admin: every SOAK_CHURN_SECONDS (default 15) adds a key (appended, or inserted above every
 *   other row so rows shift) and revokes an older one (`is_active` FALSE);
 * - injects a Sheets fault every SOAK_FAULT_SECONDS (default 20): quota 429s, refused or unanswered writes, writes
 *   applied but answered with 500 or after the client's timeout, hung reads, a 3 s outage;
 * - samples the server's RSS, heap and event-loop lag (its /metrics) and its refresh state (/auth/status).
 *
 * It runs SOAK_SECONDS (default 600), stops the load, clears faults, sends SIGTERM (the final usage flush), and checks:
 * no error response for a valid key (a key that is active and that the server's snapshot already knows); every
 * added or revoked key refused or accepted exactly as the sheet said once a snapshot read after the change was
 * loaded; `usage_count` in the sheet equal, key by key, to the 2xx responses counted here; no key in any log line.
 * Prints a summary; exits 1 when a check fails. Settings: API_KEY_CACHE_DURATION=10, USAGE_FLUSH_INTERVAL=5.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEmulator } from '../emulator/server';
import type { CellValue, Emulator, Fault } from '../emulator/server';
import { startProcess } from '../bench/processes';
import { makeCredentials } from '../emulator/credentials';

const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0)) {
    throw new Error(`${name}=${process.env[name] ?? ''}: expected a positive number`);
  }
  return value;
};
const SECONDS = env('SOAK_SECONDS', 600);
const RATE = env('SOAK_RATE', 100);
const CONNECTIONS = 8;
const CHURN_SECONDS = env('SOAK_CHURN_SECONDS', 15);
const FAULT_SECONDS = env('SOAK_FAULT_SECONDS', 20);
const SAMPLE_SECONDS = 10;
const STABLE_KEYS = 40;
const CACHE_SECONDS = 10;
const FLUSH_SECONDS = 5;
const TAB = 'API_Keys';
const HEADER = ['api_key', 'client_name', 'created_at', 'is_active', 'rate_limit', 'usage_count', 'last_used_at'];
const IS_ACTIVE = HEADER.indexOf('is_active');
const USAGE = HEADER.indexOf('usage_count');
/** A snapshot read this long after a change certainly saw it (the read starts before the snapshot is stamped). */
const READ_MARGIN_MS = 1000;

/** One key as this process knows it: the sheet's truth and what the server must answer. */
interface Key {
  readonly key: string;
  readonly stable: boolean;
  addedAt: number;
  revokedAt: number | undefined;
  ok: number;
  /** Refusals that were right: before the server could know of the change, or after a settled revocation. */
  expected: number;
  unexpected: Map<string, number>;
}

interface Sample {
  readonly at: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly lagMaxMs: number;
  readonly snapshotAgeSec: number;
}

const newKey = (stable: boolean, now: number): Key => ({
  key: `sk-convergence-${randomUUID()}`,
  stable,
  addedAt: now,
  revokedAt: undefined,
  ok: 0,
  expected: 0,
  unexpected: new Map(),
});

/** Each fault in turn; see emulator/README.md for what each does. */
const FAULTS: readonly { readonly name: string; readonly fault?: Fault; readonly outageMs?: number }[] = [
  { name: '429 on the next 2 reads', fault: { status: 429, times: 2, method: 'read' } },
  { name: '503 on a usage write (not applied)', fault: { status: 503, method: 'values.batchUpdate' } },
  {
    name: 'usage write applied, answered 500',
    fault: { applyThenDelayMs: 0, status: 500, method: 'values.batchUpdate' },
  },
  {
    name: 'usage write applied, answered after the timeout',
    fault: { applyThenDelayMs: 12_000, method: 'values.batchUpdate' },
  },
  { name: 'read hangs past the timeout', fault: { latencyMs: 12_000, method: 'values.get' } },
  {
    name: 'usage write hangs past the timeout (never applied)',
    fault: { latencyMs: 12_000, method: 'values.batchUpdate' },
  },
  { name: '3 s outage (connection refused)', outageMs: 3000 },
];

class Soak {
  readonly keys: Key[] = [];
  readonly samples: Sample[] = [];
  readonly faults = new Map<string, number>();
  /** Changes not yet seen in a loaded snapshot: the key and the time of the change. */
  private readonly unsettled = new Set<Key>();
  /** Last time each key's pending change was seen settled (epoch ms); keys absent are settled. */
  private readonly settledAt = new WeakMap<Key, number>();
  sent = 0;
  transportErrors = 0;
  private stopped = false;

  constructor(
    private readonly emulator: Emulator,
    private readonly sheetId: string,
    private readonly port: number,
  ) {}

  private rows(): CellValue[][] {
    return this.emulator.getValues(this.sheetId, TAB);
  }

  /**
   * An admin adds a key: appended, or every other time inserted above all rows, so that every row moves between two
   * usage flushes (the flusher must find rows by key, not by number). An insert lands right after a usage write, not
   * inside a flush's own read-then-write (a few ms), where a moved row would get another row's count: that race is
   * an admin's with any read-modify-write client, and not what this run measures.
   */
  async add(stable: boolean): Promise<Key> {
    const k = newKey(stable, Date.now());
    const row = [k.key, `client-${this.keys.length}`, '2026-01-01', true, 100_000, 0, ''];
    if (this.keys.length % 2 === 0 || stable) {
      this.emulator.insertRows(this.sheetId, TAB, this.rows().length + 1, [row], 'RAW');
    } else {
      await this.afterUsageWrite();
      this.emulator.insertRows(this.sheetId, TAB, 2, [row], 'RAW');
    }
    k.addedAt = Date.now(); // after the wait: the key is in the sheet from now on
    this.keys.push(k);
    if (!stable) {
      this.unsettled.add(k);
    }
    return k;
  }

  /**
   * An admin revokes a key: `is_active` FALSE in its row. Read and rewritten in one synchronous step, so it cannot
   * interleave with a usage write (the emulator answers HTTP in other ticks): the same as typing into one cell.
   */
  revoke(k: Key): void {
    const rows = this.rows();
    const row = rows.find((r) => r[0] === k.key);
    if (row === undefined) {
      throw new Error('soak: revoked key has no row');
    }
    row[IS_ACTIVE] = false;
    this.emulator.setValues(this.sheetId, TAB, rows, 'RAW');
    k.revokedAt = Date.now();
    this.unsettled.add(k);
  }

  /** Until the emulator has seen a usage write start (counted on arrival, answered or not), at most 10 s. */
  private async afterUsageWrite(): Promise<void> {
    const writes = (): number => this.emulator.stats.byMethod['values.batchUpdate'] ?? 0;
    const before = writes();
    for (let waited = 0; writes() === before && waited < 10_000; waited += 20) {
      await sleep(20);
    }
  }

  /** Marks changes settled once the server has loaded a snapshot read after them. */
  settle(lastRefresh: number): void {
    for (const k of this.unsettled) {
      const changedAt = k.revokedAt ?? k.addedAt;
      if (lastRefresh > changedAt + READ_MARGIN_MS) {
        this.unsettled.delete(k);
        this.settledAt.set(k, Date.now());
      }
    }
  }

  /** What the server must answer for `k` for a request sent at `at`: undefined = either outcome is right. */
  private expectation(k: Key, at: number): 'ok' | 'key_inactive' | undefined {
    if (k.stable) {
      return 'ok';
    }
    const settled = this.settledAt.get(k);
    if (this.unsettled.has(k) || settled === undefined || at < settled) {
      return undefined;
    }
    return k.revokedAt === undefined ? 'ok' : 'key_inactive';
  }

  private pick(i: number): Key | undefined {
    const churn = this.keys.filter((k) => !k.stable);
    const pool = i % 5 === 0 && churn.length > 0 ? churn : this.keys.filter((k) => k.stable);
    return pool[Math.floor(Math.random() * pool.length)];
  }

  private async one(k: Key): Promise<void> {
    const at = Date.now();
    const expected = this.expectation(k, at);
    this.sent += 1;
    let status: number;
    let code: string;
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}/api/hello`, {
        headers: { authorization: `Bearer ${k.key}` },
      });
      status = res.status;
      code = res.headers.get('x-sheetgate-code') ?? String(status);
      await res.arrayBuffer();
    } catch {
      this.transportErrors += 1;
      k.unexpected.set('transport', (k.unexpected.get('transport') ?? 0) + 1);
      return;
    }
    const ok = status >= 200 && status < 300;
    if (ok) {
      k.ok += 1;
    }
    const right =
      expected === 'ok'
        ? ok
        : expected === 'key_inactive'
          ? code === 'key_inactive'
          : ok || code === 'invalid_api_key' || code === 'key_inactive';
    if (!ok && right) {
      k.expected += 1;
    } else if (!right) {
      k.unexpected.set(code, (k.unexpected.get(code) ?? 0) + 1);
    }
  }

  /** CONNECTIONS loops (fetch keeps their connections alive), each paced to RATE / CONNECTIONS a second, until `stop()`. */
  async load(): Promise<void> {
    const intervalMs = (1000 * CONNECTIONS) / RATE;
    const loop = async (n: number): Promise<void> => {
      let next = Date.now() + (intervalMs * n) / CONNECTIONS;
      for (let i = n; !this.stopped; i += CONNECTIONS) {
        const wait = next - Date.now();
        if (wait > 0) {
          await sleep(wait);
        }
        next += intervalMs;
        const k = this.pick(i);
        if (k !== undefined) {
          await this.one(k);
        }
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, n) => loop(n)));
  }

  stop(): void {
    this.stopped = true;
  }

  /** `/auth/status`: settles the changes the last loaded snapshot has seen; returns the snapshot's age. */
  async status(): Promise<number> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}/auth/status`);
      const status = (await res.json()) as { lastRefresh?: unknown; snapshotAgeSec?: unknown };
      if (typeof status.lastRefresh === 'string') {
        this.settle(Date.parse(status.lastRefresh));
      }
      return Number(status.snapshotAgeSec);
    } catch {
      return NaN;
    }
  }

  /** RSS, heap and event-loop lag from the server's own `/metrics` (prom-client default metrics). */
  async sample(startedAt: number): Promise<void> {
    const snapshotAgeSec = await this.status();
    try {
      const metrics = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
      const metric = (name: string): number => Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(metrics)?.[1]);
      this.samples.push({
        at: (Date.now() - startedAt) / 1000,
        rssMb: metric('process_resident_memory_bytes') / 1e6,
        heapMb: metric('nodejs_heap_size_used_bytes') / 1e6,
        lagMaxMs: metric('nodejs_eventloop_lag_max_seconds') * 1000,
        snapshotAgeSec,
      });
    } catch {
      // a missed sample is not a failure
    }
  }

  async fault(n: number): Promise<void> {
    const f = FAULTS[n % FAULTS.length];
    if (f === undefined) {
      return;
    }
    this.faults.set(f.name, (this.faults.get(f.name) ?? 0) + 1);
    if (f.fault !== undefined) {
      this.emulator.fault(f.fault);
    }
    if (f.outageMs !== undefined) {
      await this.emulator.down();
      await sleep(f.outageMs);
      await this.emulator.up();
    }
  }
}

function summarise(soak: Soak, emulator: Emulator, sheetId: string, logs: string, seconds: number): boolean {
  const rows = emulator.getValues(sheetId, TAB);
  const usageOf = (key: string): number => Number(rows.find((r) => r[0] === key)?.[USAGE] ?? NaN);
  const mismatched = soak.keys.filter((k) => usageOf(k.key) !== k.ok);
  const ok = soak.keys.reduce((n, k) => n + k.ok, 0);
  const expected = soak.keys.reduce((n, k) => n + k.expected, 0);
  const unexpected = new Map<string, number>();
  for (const k of soak.keys) {
    for (const [code, count] of k.unexpected) {
      unexpected.set(code, (unexpected.get(code) ?? 0) + count);
    }
  }
  const usageTotal = rows.slice(1).reduce((n, r) => n + Number(r[USAGE] ?? 0), 0);
  const leaked = soak.keys.filter((k) => logs.includes(k.key)).length;
  const logLines = logs.split('\n').filter((l) => l.trim() !== '');
  const level = (name: string): number => logLines.filter((l) => l.includes(`"level":"${name}"`)).length;

  const third = Math.max(1, Math.floor(soak.samples.length / 3));
  const warm = soak.samples.slice(1, 1 + third);
  const last = soak.samples.slice(-third);
  const mean = (xs: readonly Sample[], f: (s: Sample) => number): number =>
    xs.reduce((n, s) => n + f(s), 0) / Math.max(1, xs.length);
  const low = (xs: readonly Sample[], f: (s: Sample) => number): number => Math.min(...xs.map(f));
  const rssGrowth = mean(last, (s) => s.rssMb) - mean(warm, (s) => s.rssMb);
  // The heap is a GC sawtooth: compare its lows (what survives collections), not single samples.
  const heapGrowth = low(last, (s) => s.heapMb) - low(warm, (s) => s.heapMb);

  const checks: [string, boolean, string][] = [
    [
      'no error response for a valid key',
      unexpected.size === 0,
      [...unexpected].map(([c, n]) => `${c}: ${n}`).join(', ') || 'none',
    ],
    [
      'usage_count = 2xx responses, key by key',
      mismatched.length === 0,
      `${mismatched.length} of ${soak.keys.length} keys differ; sheet total ${usageTotal}, 2xx ${ok}`,
    ],
    ['no key in any log line', leaked === 0, `${leaked} keys found in ${logLines.length} lines`],
    [
      'heap flat (lowest sample of the last third vs of the first third after warm-up)',
      heapGrowth < 10,
      `${heapGrowth >= 0 ? '+' : ''}${heapGrowth.toFixed(1)} MB`,
    ],
  ];

  console.log(`\nsoak: ${seconds} s, ${RATE} req/s target over ${CONNECTIONS} connections, node ${process.version}`);
  console.log(`API_KEY_CACHE_DURATION=${CACHE_SECONDS}, USAGE_FLUSH_INTERVAL=${FLUSH_SECONDS}\n`);
  console.log('| | |\n|---|---:|');
  console.log(`| requests sent | ${soak.sent} (${(soak.sent / seconds).toFixed(1)}/s) |`);
  console.log(`| 2xx | ${ok} |`);
  console.log(`| refusals that were right (key not yet known, or revoked) | ${expected} |`);
  console.log(`| unexpected responses | ${[...unexpected.values()].reduce((a, b) => a + b, 0)} |`);
  console.log(
    `| keys: stable / added during the run / revoked | ${soak.keys.filter((k) => k.stable).length} / ${soak.keys.filter((k) => !k.stable).length} / ${soak.keys.filter((k) => k.revokedAt !== undefined).length} |`,
  );
  console.log(
    `| faults injected | ${[...soak.faults.values()].reduce((a, b) => a + b, 0)} (${[...soak.faults].map(([f, n]) => `${f} ×${n}`).join('; ')}) |`,
  );
  console.log(
    `| Sheets calls (reads / writes, per minute) | ${emulator.stats.reads} / ${emulator.stats.writes} (${((emulator.stats.reads * 60) / seconds).toFixed(1)} / ${((emulator.stats.writes * 60) / seconds).toFixed(1)}) |`,
  );
  console.log(`| usage in the sheet / 2xx counted | ${usageTotal} / ${ok} |`);
  console.log(`| server log lines (warn / error) | ${logLines.length} (${level('warn')} / ${level('error')}) |`);
  console.log(
    `| RSS MB: first sample / warm mean / last-third mean / max | ${soak.samples[0]?.rssMb.toFixed(1) ?? '?'} / ${mean(warm, (s) => s.rssMb).toFixed(1)} / ${mean(last, (s) => s.rssMb).toFixed(1)} / ${Math.max(...soak.samples.map((s) => s.rssMb)).toFixed(1)} |`,
  );
  console.log(
    `| heap MB: low / mean, first third after warm-up; low / mean, last third; max | ${low(warm, (s) => s.heapMb).toFixed(1)} / ${mean(warm, (s) => s.heapMb).toFixed(1)}; ${low(last, (s) => s.heapMb).toFixed(1)} / ${mean(last, (s) => s.heapMb).toFixed(1)}; ${Math.max(...soak.samples.map((s) => s.heapMb)).toFixed(1)} |`,
  );
  console.log(`| RSS growth, last third vs warm | ${rssGrowth >= 0 ? '+' : ''}${rssGrowth.toFixed(1)} MB |`);
  console.log(
    `| event-loop lag max (prom-client, per ${SAMPLE_SECONDS} s sample): median / max | ${median(soak.samples.map((s) => s.lagMaxMs)).toFixed(1)} / ${Math.max(...soak.samples.map((s) => s.lagMaxMs)).toFixed(1)} ms |`,
  );
  console.log(`| snapshot age at samples: max | ${Math.max(...soak.samples.map((s) => s.snapshotAgeSec))} s |`);
  console.log('\nsamples (s: RSS MB / heap MB / event-loop lag max ms):');
  console.log(
    soak.samples
      .map((s) => `${s.at.toFixed(0)}: ${s.rssMb.toFixed(0)}/${s.heapMb.toFixed(0)}/${s.lagMaxMs.toFixed(0)}`)
      .join('  '),
  );
  console.log('');
  for (const [name, pass, detail] of checks) {
    console.log(`${pass ? 'PASS' : 'FAIL'}  ${name}: ${detail}`);
  }
  return checks.every(([, pass]) => pass);
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sheetgate-soak-'));
  const { path: credentialsPath, credentials } = makeCredentials(dir);
  const emulator = await startEmulator();
  emulator.trust(credentials);
  const sheetId = emulator.createSpreadsheet({ timeZone: 'Europe/Paris', tabs: { [TAB]: [HEADER] } });
  const server = await startProcess(
    'src/server.ts',
    {
      GOOGLE_CREDENTIALS_PATH: credentialsPath,
      GOOGLE_SHEET_ID: sheetId,
      GOOGLE_SHEETS_ROOT_URL: emulator.url,
      API_KEY_CACHE_DURATION: String(CACHE_SECONDS),
      USAGE_FLUSH_INTERVAL: String(FLUSH_SECONDS),
      LOG_LEVEL: 'info',
      NODE_ENV: 'production',
    },
    (SECONDS + 180) * 1000,
  );
  let logs = '';
  const collect = (chunk: Buffer): void => {
    logs += chunk.toString();
  };
  server.child.stdout?.on('data', collect);
  server.child.stderr?.on('data', collect);

  const soak = new Soak(emulator, sheetId, server.port);
  for (let i = 0; i < STABLE_KEYS; i++) {
    await soak.add(true);
  }
  // The server loaded an empty tab at startup: wait for a snapshot with the stable keys before any load.
  for (let ready = false; !ready;) {
    await sleep(500);
    const status = (await (await fetch(`http://127.0.0.1:${server.port}/auth/status`)).json()) as {
      keysLoaded?: number;
    };
    ready = status.keysLoaded === STABLE_KEYS;
  }

  const startedAt = Date.now();
  const endAt = startedAt + SECONDS * 1000;
  process.stdout.write(`soak: ${SECONDS} s against pid ${String(server.child.pid)} on port ${server.port}\n`);
  const loading = soak.load();
  let churn = 0;
  let faults = 0;
  let nextChurn = startedAt + CHURN_SECONDS * 1000;
  let nextFault = startedAt + FAULT_SECONDS * 1000;
  let nextSample = startedAt;
  while (Date.now() < endAt) {
    const now = Date.now();
    if (now >= nextSample) {
      await soak.sample(startedAt);
      nextSample += SAMPLE_SECONDS * 1000;
    } else {
      await soak.status();
    }
    if (now >= nextChurn) {
      await soak.add(false);
      const active = soak.keys.filter((k) => !k.stable && k.revokedAt === undefined);
      const oldest = active[0];
      if (active.length > 3 && oldest !== undefined) {
        soak.revoke(oldest);
      }
      churn += 1;
      nextChurn += CHURN_SECONDS * 1000;
    }
    if (now >= nextFault && now < endAt - 30_000) {
      void soak.fault(faults++);
      nextFault += FAULT_SECONDS * 1000;
    }
    await sleep(500);
  }
  soak.stop();
  await loading;
  emulator.clearFaults();
  await emulator.up();
  await server.stop(); // SIGTERM: stops accepting, then the final usage flush
  const seconds = (Date.now() - startedAt) / 1000;
  process.stdout.write(`churn steps: ${churn}\n`);
  const pass = summarise(soak, emulator, sheetId, logs, Math.round(seconds));
  await emulator.close();
  process.exit(pass ? 0 : 1);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
