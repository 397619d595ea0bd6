/**
 * The shared key table (stored as a Sheets ValueRange body) against the real Redis: what a follower
 * does with each kind of entry it can find there. The Google side is a fake of our own `SheetSource` port that counts
 * its reads; the lease is a fixed answer, held or not.
 */
import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../../src/app';
import { createMetrics } from '../../src/http/metrics';
import { metricsRoutes } from '../../src/http/metrics-route';
import { formatKeyHash, hashKey } from '../../src/keys/key-id';
import { readWholeTable, streamRows } from '../../src/keys/load-snapshot';
import type { SheetSource, TableSink } from '../../src/keys/sheet-source';
import { SharedSource } from '../../src/redis/shared-source';
import type { SharedSourceOptions } from '../../src/redis/shared-source';
import type { SheetTable } from '../../src/keys/types';
import { createLogger } from '../../src/log';
import { sheetgate } from '../../src/sheetgate';
import { captureLogger } from '../helpers/log-capture';
import { REDIS_URL, redisSuite } from './harness';
import { Redis } from 'ioredis';

const logger = createLogger({ level: 'error', format: 'json' });
const KEY = 'sk-shared-source-test-0000000000000001';
const TABLE: SheetTable = {
  timeZone: 'Europe/Paris',
  rows: [
    ['api_key', 'client_name', 'is_active', 'rate_limit'],
    [KEY, 'acme', true, 30],
    ['sk-shared-source-test-0000000000000002', 'globex', false, 60],
  ],
};

class CountingSheet implements SheetSource {
  readonly target = { spreadsheetId: 'sheet-1', sheetName: 'API_Keys', clientEmail: 'svc@example.test' };
  reads = 0;

  constructor(public table: SheetTable = TABLE) {}

  async streamTable(sink: TableSink): Promise<void> {
    this.reads += 1;
    await streamRows(this.table, sink);
  }
}

describe('what a follower does with the table it finds in Redis', () => {
  const redis = redisSuite('test/redis/shared-source.test.ts');

  function source(
    leads: boolean,
    inner = new CountingSheet(),
    slicing?: SharedSourceOptions['slicing'],
    now?: () => number,
  ): { shared: SharedSource; inner: CountingSheet } {
    const lease = {
      key: `${redis.prefix.namespace}:lease`,
      token: leads ? 'leader-token' : 'follower-token',
      held: () => leads,
      tick: () => Promise.resolve(leads),
    };
    const shared = new SharedSource({
      inner,
      client: redis.client,
      namespace: redis.prefix.namespace,
      lease,
      maxAgeMs: 60_000,
      logger,
      waitForLeaderMs: 50,
      ...(slicing === undefined ? {} : { slicing }),
      ...(now === undefined ? {} : { now }),
    });
    return { shared, inner };
  }

  /** Writes an entry into the table hash by hand, as some other (older or broken) instance would have. */
  async function storeByHand(fields: Record<string, string>): Promise<void> {
    await redis.client.hset(`${redis.prefix.namespace}:table`, fields);
  }

  it("a leader's table is read from Redis, with its time zone, and holds no raw key", async () => {
    if (!redis.reachable) {
      return;
    }
    await redis.client.set(`${redis.prefix.namespace}:lease`, 'leader-token');
    const leader = source(true);
    await readWholeTable(leader.shared);
    expect(leader.inner.reads).toBe(1);
    const stored = await redis.client.hgetall(`${redis.prefix.namespace}:table`);
    expect(stored['zone']).toBe('Europe/Paris');
    expect(stored['json']).toMatch(/^\{"values":\[/);
    expect(stored['json']).not.toContain(KEY);

    const follower = source(false);
    const table = await readWholeTable(follower.shared);
    expect(follower.inner.reads).toBe(0);
    expect(follower.shared.status()).toEqual({ from: 'redis', version: leader.shared.status().version });
    expect(table.timeZone).toBe('Europe/Paris');
    expect(table.rows).toHaveLength(TABLE.rows.length);
  });

  it('an entry with no zone field (written by an older version) is not used: the follower reads Google', async () => {
    if (!redis.reachable) {
      return;
    }
    await storeByHand({ json: '{"values":[["key_hash","client_name"]]}', readAt: String(Date.now()), version: '1' });
    const follower = source(false);
    const table = await readWholeTable(follower.shared);
    expect(follower.inner.reads).toBe(1);
    expect(follower.shared.status().from).toBe('google');
    expect(table).toEqual({ ...TABLE, readAt: expect.any(Number) });
  });

  it('an entry that is not valid JSON, or older than maxAgeMs, is not used either', async () => {
    if (!redis.reachable) {
      return;
    }
    await storeByHand({ json: '{"values":[[', readAt: String(Date.now()), version: '1', zone: 'UTC' });
    const broken = source(false);
    await readWholeTable(broken.shared);
    expect(broken.inner.reads).toBe(1);

    await storeByHand({ json: '{"values":[]}', readAt: String(Date.now() - 61_000), version: '2', zone: 'UTC' });
    const stale = source(false);
    await readWholeTable(stale.shared);
    expect(stale.inner.reads).toBe(1);
    expect(stale.shared.status().from).toBe('google');
  });

  it('a leader redacts and stringifies a big table in slices, giving the event loop turns', async () => {
    if (!redis.reachable) {
      return;
    }
    await redis.client.set(`${redis.prefix.namespace}:lease`, 'leader-token');
    const rows = Array.from({ length: 2000 }, (_, i) => [`sk-shared-source-slices-${i}`, `client-${i}`, true, 60]);
    const big = new CountingSheet({ timeZone: 'UTC', rows: [TABLE.rows[0] ?? [], ...rows] });
    let turns = 0;
    // No budget: a turn at every step (100 rows redacted, 1,000 rows stringified), so the count shows the slicing.
    const leader = source(true, big, { budgetMs: 0, pause: () => Promise.resolve((turns += 1)) });
    await readWholeTable(leader.shared);
    expect(turns).toBeGreaterThanOrEqual(20);
    const follower = source(false);
    expect((await readWholeTable(follower.shared)).rows).toHaveLength(2001);
    expect(follower.inner.reads).toBe(0);
  });

  it("a follower tells the age of the leader's read in /auth/status and the metrics, and refreshes before it is too old", async () => {
    if (!redis.reachable) {
      return;
    }
    await redis.client.set(`${redis.prefix.namespace}:lease`, 'leader-token');
    const readAt = Date.now() - 40_000; // the leader read Google 40 s ago (its clock says so)
    await readWholeTable(source(true, new CountingSheet(), undefined, () => readAt).shared);
    const follower = source(false);
    const metrics = createMetrics({ defaultMetrics: false });
    const gate = sheetgate({ source: follower.shared, logger, cacheDurationSec: 60, onSnapshot: metrics.onSnapshot });
    await gate.ready();
    try {
      expect(follower.inner.reads).toBe(0);
      const app = createApp({ gate, logger, publicRoutes: [metricsRoutes(metrics.registry)] });
      const status = (await request(app).get('/auth/status').expect(200)).body as Record<string, unknown>;
      expect(status['lastRefresh']).toBe(new Date(readAt).toISOString());
      expect(status['snapshotAgeSec']).toBeGreaterThanOrEqual(40);
      const exposition = (await request(app).get('/metrics').expect(200)).text;
      const age = Number(/^sheetgate_snapshot_age_seconds (\S+)$/m.exec(exposition)?.[1]);
      expect(age).toBeGreaterThanOrEqual(40);
      // The next refresh comes while the data is younger than API_KEY_CACHE_DURATION (60 s), not 48 s from now.
      expect(gate.status()?.nextRefreshAt).toBeLessThanOrEqual(readAt + 60_000);
    } finally {
      await gate.close();
    }
  });
});

/** Every value under `pattern` in Redis, as text: strings, hashes (fields and values), lists, sets, sorted sets. */
async function everythingStored(pattern: string): Promise<string> {
  const client = new Redis(REDIS_URL);
  const parts: string[] = [];
  try {
    for await (const batch of client.scanStream({ match: pattern, count: 500 })) {
      for (const key of batch as string[]) {
        const type = await client.type(key);
        parts.push(key, type);
        if (type === 'string') {
          parts.push((await client.get(key)) ?? '');
        } else if (type === 'hash') {
          parts.push(JSON.stringify(await client.hgetall(key)));
        } else if (type === 'list') {
          parts.push(...(await client.lrange(key, 0, -1)));
        } else if (type === 'set') {
          parts.push(...(await client.smembers(key)));
        } else if (type === 'zset') {
          parts.push(...(await client.zrange(key, '0', '-1')));
        }
      }
    }
  } finally {
    client.disconnect();
  }
  return parts.join('\n');
}

describe('no raw key is ever stored in Redis', () => {
  const redis = redisSuite('test/redis/shared-source.test.ts (no raw key)');
  const RAW = 'sk-raw-key-that-must-stay-in-the-sheet-0001';
  const OTHER = 'sk-other-key-of-this-sheet-000000000002';
  /** A SharedSource that holds the lease, over `inner`. */
  function leaderOf(inner: SheetSource, log: typeof logger): SharedSource {
    const lease = `${redis.prefix.namespace}:lease`;
    return new SharedSource({
      inner,
      client: redis.client,
      namespace: redis.prefix.namespace,
      lease: { key: lease, token: 'leader-token', held: () => true, tick: () => Promise.resolve(true) },
      maxAgeMs: 60_000,
      logger: log,
    });
  }

  const GOOD: SheetTable = {
    timeZone: 'UTC',
    rows: [
      ['api_key', 'client_name', 'is_active'],
      [OTHER, 'acme', true],
    ],
  };

  it.each<[string, SheetTable['rows'], RegExp]>([
    [
      'no recognisable key column',
      [
        ['apikey', 'client_name', 'is_active'],
        [RAW, 'acme', true],
      ],
      /row 1: .*api_key/,
    ],
    [
      'a raw key typed into key_hash, on a sheet of hashes',
      [
        ['key_hash', 'client_name', 'is_active'],
        [formatKeyHash(hashKey(OTHER)), 'acme', true],
        [RAW, 'globex', true],
      ],
      /row 3: key_hash is not sha256/,
    ],
    [
      'a raw key typed into key_hash, beside an empty api_key',
      [
        ['api_key', 'key_hash', 'client_name', 'is_active'],
        [OTHER, '', 'acme', true],
        ['', ` ${RAW}`, 'globex', true],
      ],
      /row 3: key_hash is not sha256/,
    ],
    [
      "a key of the sheet pasted into another row's client_name",
      [
        ['api_key', 'client_name', 'is_active', 'scopes'],
        [RAW, 'acme', true, ''],
        [OTHER, ` ${RAW} `, true, ''],
      ],
      /row 3: the client_name cell holds a key of this sheet/,
    ],
    [
      'a hashed key typed among the scopes of its row',
      [
        ['key_hash', 'client_name', 'is_active', 'scopes'],
        [formatKeyHash(hashKey(RAW)), 'acme', true, `read, ${RAW}`],
      ],
      /row 2: the scopes cell holds a key of this sheet/,
    ],
  ])(
    '%s: the refresh fails, the last good table stays, the error names the row, not the key',
    async (_name, rows, why) => {
      if (!redis.reachable) {
        return;
      }
      const { logger: captured, capture } = captureLogger();
      await redis.client.set(`${redis.prefix.namespace}:lease`, 'leader-token');
      const inner = new CountingSheet(GOOD);
      const leader = leaderOf(inner, captured);
      const gate = sheetgate({ source: leader, logger: captured, cacheDurationSec: 60 });
      await gate.ready();
      try {
        const good = await redis.client.hget(`${redis.prefix.namespace}:table`, 'json');
        expect(gate.status()?.keys).toBe(1);
        inner.table = { timeZone: 'UTC', rows };
        await gate.store?.refresh();
        const status = gate.status();
        expect(status?.lastError?.code).toBe('bad_table');
        expect(status?.lastError?.message).toMatch(why);
        expect(status?.keys).toBe(1); // the last good snapshot
        expect(await redis.client.hget(`${redis.prefix.namespace}:table`, 'json')).toBe(good);
        const stored = await everythingStored(redis.prefix.all);
        expect(stored).toContain(formatKeyHash(hashKey(OTHER))); // the scan does see the table
        expect(stored).not.toContain(RAW);
        expect(stored).not.toContain(OTHER);
        expect(capture.text()).toMatch(why);
        expect(capture.text()).not.toContain(RAW);
        expect(JSON.stringify(status)).not.toContain(RAW);
      } finally {
        await gate.close();
      }
    },
  );

  it('a key in a column sheetgate does not read is emptied, and the table is shared', async () => {
    if (!redis.reachable) {
      return;
    }
    await redis.client.set(`${redis.prefix.namespace}:lease`, 'leader-token');
    const inner = new CountingSheet({
      timeZone: 'UTC',
      rows: [
        ['api_key', 'client_name', 'is_active', 'notes'],
        [OTHER, 'acme', true, `old key was ${RAW}, replaced`],
      ],
    });
    const leader = leaderOf(inner, logger);
    await readWholeTable(leader);
    const stored = await everythingStored(redis.prefix.all);
    expect(stored).toContain(formatKeyHash(hashKey(OTHER)));
    expect(stored).not.toContain(RAW);
    expect(stored).not.toContain(OTHER);
  });
});
