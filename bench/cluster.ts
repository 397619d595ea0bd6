/**
 * `npx tsx bench/cluster.ts`: sheetgate scaled out through Redis, on 127.0.0.1 only, bounded in time.
 *
 * 1. HTTP: the same composition (test/redis/instance.ts: usage pooled in Redis, shared key table) with the memory
 *    limiter and with the Redis limiter, then 3 instances with Redis behind a round-robin driver (autocannon spreads
 *    its connections over the three URLs). 50 connections,
 *    BENCH_ROUNDS rounds (default 3) of BENCH_SECONDS (default 5) per case, cases alternating within a round.
 * 2. The limiter alone, in this process: `consume()` on rate-limiter-flexible memory vs Redis, one at a time
 *    (latency) and 50 in flight (throughput).
 * Needs the Redis at REDIS_URL (default redis://127.0.0.1:6379); its keys live under a fresh prefix, deleted at the end.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { startEmulator } from '../emulator/server';
import { createRlfLimiter } from '../src/limits/rlf-limiter';
import type { Limiter } from '../src/limits/limiter';
import { makeCredentials } from '../emulator/credentials';
import { startProcess } from './processes';
import type { Proc } from './processes';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const CONNECTIONS = 50;
const KEYS = 1000;
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const LIMITER_OPS = 20_000;

interface Row {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** Server CPU per request, summed over the case's processes, µs. */
  readonly cpuUs: number;
  /** Redis server CPU per request, µs (INFO cpu). */
  readonly redisUs: number;
  readonly non2xx: number;
}

/** CPU seconds the Redis server has used (user + system). */
async function redisCpuSec(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

async function load(procs: readonly Proc[], keys: readonly string[], redis: Redis): Promise<Row> {
  let i = 0;
  const cpuBefore = procs.reduce((sum, p) => sum + p.cpuMs(), 0);
  const redisBefore = await redisCpuSec(redis);
  const urls = procs.map((p) => `http://127.0.0.1:${p.port}/api/hello`);
  const result = await autocannon({
    // Several URLs: autocannon gives connection n to urls[n % urls.length] — the round-robin driver.
    url: (urls.length === 1 ? urls[0] : urls) as string,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          headers: { ...req.headers, authorization: `Bearer ${keys[i++ % keys.length] ?? ''}` },
        }),
      },
    ],
  });
  const cpuMs = procs.reduce((sum, p) => sum + p.cpuMs(), 0) - cpuBefore;
  const total = Math.max(1, result.requests.total);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUs: (cpuMs * 1000) / total,
    redisUs: (((await redisCpuSec(redis)) - redisBefore) * 1e6) / total,
    non2xx: result.non2xx + result.errors,
  };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

async function limiterCost(name: string, limiter: Limiter): Promise<string> {
  const keys = Array.from({ length: KEYS }, (_, n) => `bench${n}`);
  for (let n = 0; n < 1000; n++) {
    await limiter.consume(keys[n % KEYS] ?? '', 1_000_000_000); // warm-up
  }
  let started = performance.now();
  for (let n = 0; n < LIMITER_OPS; n++) {
    await limiter.consume(keys[n % KEYS] ?? '', 1_000_000_000);
  }
  const serialUs = ((performance.now() - started) * 1000) / LIMITER_OPS;
  started = performance.now();
  for (let n = 0; n < LIMITER_OPS; n += CONNECTIONS) {
    await Promise.all(
      Array.from({ length: CONNECTIONS }, (_, j) => limiter.consume(keys[(n + j) % KEYS] ?? '', 1_000_000_000)),
    );
  }
  const opsPerSec = LIMITER_OPS / ((performance.now() - started) / 1000);
  return `| ${name} | ${serialUs.toFixed(1)} | ${Math.round(opsPerSec)} |`;
}

async function main(): Promise<void> {
  const run = randomUUID().slice(0, 8);
  const namespace = `sheetgate-bench:{${run}}`;
  const rlPrefix = `sheetgate-bench:${run}:rl`;
  const { path: credentialsPath, credentials } = makeCredentials(mkdtempSync(join(tmpdir(), 'sheetgate-bench-')));
  const emulator = await startEmulator();
  emulator.trust(credentials);
  const keys = Array.from({ length: KEYS }, () => `sk-convergence-${randomUUID()}`);
  const id = emulator.createSpreadsheet({
    tabs: {
      API_Keys: [
        ['api_key', 'client_name', 'is_active', 'rate_limit'],
        ...keys.map((k, n) => [k, `client-${n}`, true, 1_000_000_000]),
      ],
    },
  });
  const env: Record<string, string> = {
    GOOGLE_CREDENTIALS_PATH: credentialsPath,
    GOOGLE_SHEET_ID: id,
    GOOGLE_SHEETS_ROOT_URL: emulator.url,
    LOG_LEVEL: 'info',
    NODE_ENV: 'production',
    USAGE_FLUSH_INTERVAL: '5',
  };
  const redisEnv = { ...env, REDIS_URL, SHEETGATE_TEST_NAMESPACE: namespace, SHEETGATE_TEST_RL_PREFIX: rlPrefix };
  const memory = await startProcess('test/redis/instance.ts', { ...redisEnv, SHEETGATE_TEST_LIMITER: 'memory' });
  const single = await startProcess('test/redis/instance.ts', redisEnv);
  const trio = await Promise.all([0, 1, 2].map(() => startProcess('test/redis/instance.ts', redisEnv)));
  const cases = [
    { name: '1 instance, memory limiter', procs: [memory] },
    { name: '1 instance, Redis limiter', procs: [single] },
    { name: '3 instances, Redis limiter, round-robin', procs: trio },
  ];
  const rows = new Map<string, Row[]>(cases.map((c) => [c.name, []]));
  const redis = new Redis(REDIS_URL);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1500)); // key tables loaded, leases settled
    for (const c of cases) {
      await load(c.procs, keys, redis); // warm-up
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of cases) {
        rows.get(c.name)?.push(await load(c.procs, keys, redis));
      }
    }
    const limiterRows = [
      await limiterCost('memory', createRlfLimiter()),
      await limiterCost('Redis (127.0.0.1)', createRlfLimiter({ redis, prefix: rlPrefix })),
    ];

    console.log(`\n${CONNECTIONS} connections, ${ROUNDS} rounds × ${SECONDS} s per case, ${KEYS} keys rotating,`);
    console.log(`127.0.0.1, node ${process.version}, the load generator in this same process\n`);
    console.log(
      '| case | req/s (median) | p50 ms | p99 ms | sheetgate CPU µs/req (all instances) | Redis CPU µs/req | non-2xx |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const c of cases) {
      const r = rows.get(c.name) ?? [];
      console.log(
        `| ${c.name} | ${Math.round(median(r.map((x) => x.rps)))} | ${median(r.map((x) => x.p50))} | ${median(r.map((x) => x.p99))} | ${Math.round(median(r.map((x) => x.cpuUs)))} | ${Math.round(median(r.map((x) => x.redisUs)))} | ${r.reduce((n, x) => n + x.non2xx, 0)} |`,
      );
    }
    console.log(`\nThe limiter alone (${LIMITER_OPS} consumes over ${KEYS} keys):\n`);
    console.log('| limiter | µs per consume, one at a time | consumes/s, 50 in flight |');
    console.log('|---|---:|---:|');
    console.log(limiterRows.join('\n'));
  } finally {
    await Promise.all([memory, single, ...trio].map((p) => p.stop()));
    for await (const found of redis.scanStream({ match: `sheetgate-bench*${run}*`, count: 1000 })) {
      const stale = found as string[];
      if (stale.length > 0) {
        await redis.del(...stale);
      }
    }
    redis.disconnect();
    await emulator.close();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
