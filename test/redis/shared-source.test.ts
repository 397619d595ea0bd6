/**
 * The shared key table (issue 6, stored as a ValueRange body since issue 8) against the real Redis: what a follower
 * does with each kind of entry it can find there. The Google side is a fake of our own `SheetSource` port that counts
 * its reads; the lease is a fixed answer, held or not.
 */
import { describe, expect, it } from '@jest/globals';
import { SharedSource } from '../../src/keys/shared-source';
import type { SharedSourceOptions } from '../../src/keys/shared-source';
import type { SheetSource } from '../../src/keys/sheet-source';
import type { SheetTable } from '../../src/keys/types';
import { createLogger } from '../../src/log';
import { redisSuite } from './harness';

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

  constructor(private readonly table: SheetTable = TABLE) {}

  readTable(): Promise<SheetTable> {
    this.reads += 1;
    return Promise.resolve(this.table);
  }
}

describe('issue-8: what a follower does with the table it finds in Redis', () => {
  const redis = redisSuite('test/redis/shared-source.test.ts');

  function source(
    leads: boolean,
    inner = new CountingSheet(),
    slicing?: SharedSourceOptions['slicing'],
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
    await leader.shared.readTable();
    expect(leader.inner.reads).toBe(1);
    const stored = await redis.client.hgetall(`${redis.prefix.namespace}:table`);
    expect(stored['zone']).toBe('Europe/Paris');
    expect(stored['json']).toMatch(/^\{"values":\[/);
    expect(stored['json']).not.toContain(KEY);

    const follower = source(false);
    const table = await follower.shared.readTable();
    expect(follower.inner.reads).toBe(0);
    expect(follower.shared.status()).toEqual({ from: 'redis', version: leader.shared.status().version });
    expect(table.timeZone).toBe('Europe/Paris');
    expect(table.rows).toHaveLength(TABLE.rows.length);
  });

  it('an entry with no zone field (written before issue 8) is not used: the follower reads Google', async () => {
    if (!redis.reachable) {
      return;
    }
    await storeByHand({ json: '{"values":[["key_hash","client_name"]]}', readAt: String(Date.now()), version: '1' });
    const follower = source(false);
    const table = await follower.shared.readTable();
    expect(follower.inner.reads).toBe(1);
    expect(follower.shared.status().from).toBe('google');
    expect(table).toBe(TABLE);
  });

  it('an entry that is not valid JSON, or older than maxAgeMs, is not used either', async () => {
    if (!redis.reachable) {
      return;
    }
    await storeByHand({ json: '{"values":[[', readAt: String(Date.now()), version: '1', zone: 'UTC' });
    const broken = source(false);
    await broken.shared.readTable();
    expect(broken.inner.reads).toBe(1);

    await storeByHand({ json: '{"values":[]}', readAt: String(Date.now() - 61_000), version: '2', zone: 'UTC' });
    const stale = source(false);
    await stale.shared.readTable();
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
    await leader.shared.readTable();
    expect(turns).toBeGreaterThanOrEqual(20);
    const follower = source(false);
    expect((await follower.shared.readTable()).rows).toHaveLength(2001);
    expect(follower.inner.reads).toBe(0);
  });
});
