/**
 * Shared pieces of the Redis tests: is the real Redis there, a unique key prefix per run (deleted afterwards),
 * sheetgate instances as child processes, and a TCP proxy to Redis that a test can cut and restore.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, Socket } from 'node:net';
import type { Server } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach } from '@jest/globals';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** True when a Redis answers PING at `REDIS_URL`; otherwise prints why the suite is skipped. */
export async function redisReachable(suite: string): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    console.warn(
      `${suite}: SKIPPED — no Redis at ${REDIS_URL}. Start one (redis-server --daemonize yes --port 6379) or set TEST_REDIS_URL.`,
    );
    return false;
  } finally {
    probe.disconnect();
  }
}

/** A fresh prefix for one test run: namespace (hash-tagged like production) and rate-limit prefix. */
export function testPrefix(): { namespace: string; rl: string; all: string } {
  const run = randomUUID().slice(0, 8);
  return { namespace: `sheetgate-test:{${run}}`, rl: `sheetgate-test:${run}:rl`, all: `sheetgate-test:*${run}*` };
}

/** What {@link redisSuite} gives a suite: read its fields inside tests and hooks (they are set by hooks). */
export interface RedisSuite {
  /** False when no Redis answers: each test then returns at once (the suite printed why). */
  reachable: boolean;
  /** One connection for the whole suite. */
  readonly client: Redis;
  /** A fresh prefix for each test; its keys are deleted after the test. */
  prefix: ReturnType<typeof testPrefix>;
}

/** Registers the hooks of a suite that talks to the real Redis through one client. Call inside `describe`. */
export function redisSuite(suite: string): RedisSuite {
  const redis: RedisSuite = {
    reachable: false,
    client: new Redis(REDIS_URL, { lazyConnect: true }),
    prefix: testPrefix(),
  };
  beforeAll(async () => {
    redis.reachable = await redisReachable(suite);
    if (redis.reachable) {
      await redis.client.connect();
    }
  });
  beforeEach(() => {
    redis.prefix = testPrefix();
  });
  afterEach(async () => {
    if (redis.reachable) {
      await deleteKeys(redis.prefix.all);
    }
  });
  afterAll(() => {
    redis.client.disconnect();
  });
  return redis;
}

/** Deletes every key matching `pattern` (SCAN, never KEYS on a shared server); returns how many there were. */
export async function deleteKeys(pattern: string): Promise<number> {
  const client = new Redis(REDIS_URL);
  let deleted = 0;
  try {
    for await (const keys of client.scanStream({ match: pattern, count: 500 })) {
      const batch = keys as string[];
      if (batch.length > 0) {
        deleted += await client.del(...batch);
      }
    }
  } finally {
    client.disconnect();
  }
  return deleted;
}

export interface Instance {
  readonly port: number;
  readonly base: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
  /** `GET /auth/status` body. */
  status(): Promise<Record<string, unknown> & { redis: RedisSection; usage: { pendingRequests: number } }>;
}

export interface RedisSection {
  connected: boolean;
  insurance: boolean;
  pendingLocal: number;
  leader: boolean;
  table?: { from: string | null; version: number };
}

/** Starts test/redis/instance.ts with `env`; resolves once it listens. Killed after `maxLifeMs` whatever happens. */
export function startInstance(env: Record<string, string>, maxLifeMs = 120_000): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/redis/instance.ts'], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), maxLifeMs);
  killer.unref();
  let output = '';
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve(code);
    });
  });
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      const port = /listening on port (\d+)/.exec(output)?.[1];
      if (port !== undefined) {
        clearInterval(poll);
        const base = `http://127.0.0.1:${port}`;
        resolve({
          port: Number(port),
          base,
          child,
          exited,
          output: () => output,
          status: async () =>
            (await (await fetch(`${base}/auth/status`)).json()) as Awaited<ReturnType<Instance['status']>>,
        });
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(poll);
      reject(new Error(`instance exited (${String(code)}) before listening:\n${output}`));
    });
  });
}

/** Polls `check` every 50 ms until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Waits until nothing is left to write anywhere: no instance of `group` holds a delta, and Redis holds none pooled,
 * taken or in doubt under `namespace`. From then on no usage write can come, so the sheet's counts are final and a
 * test can check that nothing was counted twice.
 */
export async function usageSettled(namespace: string, group: readonly Instance[], timeoutMs = 15_000): Promise<void> {
  const client = new Redis(REDIS_URL);
  const ledgerKeys = ['pending', 'taken', 'sent'].map((k) => `${namespace}:usage:${k}`);
  try {
    await waitFor(
      'usage settled',
      async () => {
        const statuses = await Promise.all(group.map((g) => g.status()));
        return (await client.exists(...ledgerKeys)) === 0 && statuses.every((s) => s.usage.pendingRequests === 0);
      },
      timeoutMs,
    );
  } finally {
    client.disconnect();
  }
}

/** Sends a request with `key`; resolves with the status. */
export async function hit(base: string, key: string, path = '/api/hello'): Promise<number> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
  await res.arrayBuffer();
  return res.status;
}

/** A TCP proxy to Redis that the test can cut (every connection reset, new ones refused) and restore. */
export class RedisProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const server = createServer((socket) => {
      const upstream = new Socket();
      upstream.connect(this.target.port, this.target.host);
      for (const s of [socket, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
    const address = server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
  }

  async down(): Promise<void> {
    for (const socket of this.sockets) {
      socket.destroy();
    }
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
    this.server = undefined;
  }
}
