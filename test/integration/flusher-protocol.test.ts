/**
 * The usage flusher's write protocol, once for each ledger: the in-memory one and the Redis one (real Redis, a fresh
 * key prefix per test). The real googleapis client talks to the emulator over HTTP; every assertion reads the sheet
 * or an awaited flush result, never a clock.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { hashKey, keyIdOf } from '../../src/keys/key-id';
import { GoogleSheet } from '../../src/keys/sheet-source';
import type { CellValue } from '../../src/keys/types';
import { Lease } from '../../src/redis/lease';
import type { CountedKey } from '../../src/usage/counter';
import { UsageFlusher } from '../../src/usage/flusher';
import type { UsageLedger } from '../../src/usage/ledger';
import { MemoryLedger } from '../../src/usage/memory-ledger';
import { RedisUsageLedger } from '../../src/usage/redis-ledger';
import { captureLogger } from '../helpers/log-capture';
import { redisSuite } from '../redis/harness';
import type { RedisSuite } from '../redis/harness';
import { emulatorSuite } from '../helpers/emulator';

const TAB = 'API_Keys';
const HEADER = ['api_key', 'client_name', 'is_active', 'rate_limit', 'usage_count', 'last_used_at'];
const NOW = Date.UTC(2026, 2, 2, 15, 4, 5, 678);
const { logger, capture } = captureLogger();

/** Makes the ledger of one test. `redis`: the real Redis, with a fresh key prefix per test. */
interface LedgerFactory {
  readonly needsRedis: boolean;
  make(redis: RedisSuite): Promise<UsageLedger>;
}

/** The Redis ledger of an instance that holds the leader lease (the instance that writes usage back). */
async function redisLeader(redis: RedisSuite): Promise<UsageLedger> {
  const lease = new Lease({ client: redis.client, key: `${redis.prefix.namespace}:leader`, logger, ttlMs: 60_000 });
  expect(await lease.tick()).toBe(true);
  return new RedisUsageLedger(redis.client, redis.prefix.namespace, lease, { logger, pushIntervalMs: 3_600_000 });
}

const ledgers: [string, LedgerFactory][] = [
  ['memory', { needsRedis: false, make: () => Promise.resolve(new MemoryLedger()) }],
  ['redis', { needsRedis: true, make: redisLeader }],
];

describe.each(ledgers)('the usage flusher over the %s ledger', (_name, ledger) => {
  const redis = redisSuite('test/integration/flusher-protocol.test.ts');
  const ready = (): boolean => !ledger.needsRedis || redis.reachable;
  const suite = emulatorSuite();
  const { credentials } = suite;
  const flushers: UsageFlusher[] = [];
  const usedKeys: string[] = [];

  afterEach(async () => {
    await Promise.all(flushers.splice(0).map((f) => f.stop()));
  });

  afterAll(() => {
    for (const key of usedKeys) {
      expect(capture.text()).not.toContain(key);
    }
  });

  /** A sheet with one row per key (usage_count from `counts`), and a flusher over a fresh ledger. */
  async function setup(counts: readonly number[], timeoutMs?: number) {
    const keys = counts.map(() => `sk-protocol-${randomUUID()}`);
    usedKeys.push(...keys);
    const id = suite.emulator.createSpreadsheet({
      timeZone: 'UTC',
      tabs: { [TAB]: [HEADER, ...keys.map((k, i): CellValue[] => [k, `client ${i}`, true, '', counts[i] ?? 0])] },
    });
    const sheet = new GoogleSheet({
      credentials,
      spreadsheetId: id,
      sheetName: TAB,
      rootUrl: suite.emulator.url,
      logger,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    const flusher = new UsageFlusher({ sheet, logger, ledger: await ledger.make(redis), timeZone: () => 'UTC' });
    flushers.push(flusher);
    const counted: CountedKey[] = keys.map((k) => ({ hash: hashKey(k), keyId: keyIdOf(hashKey(k)) }));
    const hit = (index: number, times: number): void => {
      const key = counted[index];
      for (let i = 0; key !== undefined && i < times; i++) {
        flusher.record(key, NOW);
      }
    };
    const countOf = (index: number): CellValue | undefined =>
      suite.emulator.getValues(id, TAB).find((r) => r[0] === keys[index])?.[4];
    suite.emulator.resetStats();
    return { flusher, hit, countOf };
  }

  it('writes N requests once, and makes no Sheets call when nothing was used', async () => {
    if (!ready()) {
      return;
    }
    const { flusher, hit, countOf } = await setup([10, 3]);
    expect(await flusher.flush()).toMatchObject({ outcome: 'idle' });
    expect(suite.emulator.stats).toMatchObject({ reads: 0, writes: 0 });

    hit(0, 17);
    expect(await flusher.flush()).toMatchObject({ outcome: 'written', keys: 1, requests: 17 });
    expect(await flusher.flush()).toMatchObject({ outcome: 'idle' });
    expect([countOf(0), countOf(1)]).toEqual([27, 3]);
    expect(suite.emulator.stats.byMethod).toEqual({ 'values.get': 1, 'values.batchUpdate': 1 });
  });

  it('keeps the deltas through a refused write and a failed read, then writes exact totals', async () => {
    if (!ready()) {
      return;
    }
    const { flusher, hit, countOf } = await setup([50, 0]);
    hit(0, 6);
    suite.emulator.fault({ method: 'values.batchUpdate', status: 429 });
    expect(await flusher.flush()).toMatchObject({ outcome: 'failed', requests: 6 });
    expect(flusher.status()).toMatchObject({ consecutiveFailures: 1, lastError: { code: 'quota' } });

    hit(1, 2);
    suite.emulator.fault({ method: 'values.get', status: 503 });
    expect(await flusher.flush()).toMatchObject({ outcome: 'failed', requests: 8 });
    expect(countOf(0)).toBe(50);

    expect(await flusher.flush()).toMatchObject({ outcome: 'written', requests: 8 });
    expect([countOf(0), countOf(1)]).toEqual([56, 2]);
    expect(flusher.status()).toMatchObject({ consecutiveFailures: 0, writtenRequests: 8, inDoubtRequests: 0 });
  });

  describe('a write whose answer never came (client timeout)', () => {
    it('applied by Google: the next flush reads it back and does not count it again', async () => {
      if (!ready()) {
        return;
      }
      const { flusher, hit, countOf } = await setup([100], 300);
      hit(0, 5);
      suite.emulator.fault({ method: 'values.batchUpdate', applyThenDelayMs: 2000 });
      expect(await flusher.flush()).toMatchObject({ outcome: 'in_doubt', requests: 5 });
      expect(countOf(0)).toBe(105);
      expect(flusher.status().inDoubtRequests).toBe(5);

      hit(0, 2);
      expect(await flusher.flush()).toMatchObject({ outcome: 'written', requests: 2 });
      expect(await flusher.flush()).toMatchObject({ outcome: 'idle' });
      expect(countOf(0)).toBe(107);
      expect(flusher.status().inDoubtRequests).toBe(0);
    });

    it('not applied: the next flush writes it once', async () => {
      if (!ready()) {
        return;
      }
      const { flusher, hit, countOf } = await setup([100], 300);
      hit(0, 5);
      suite.emulator.fault({ method: 'values.batchUpdate', latencyMs: 2000 });
      expect(await flusher.flush()).toMatchObject({ outcome: 'in_doubt', requests: 5 });
      expect(countOf(0)).toBe(100);

      hit(0, 2);
      expect(await flusher.flush()).toMatchObject({ outcome: 'written', requests: 7 });
      expect(await flusher.flush()).toMatchObject({ outcome: 'idle' });
      expect(countOf(0)).toBe(107);
    });

    it('applied, and the settling read fails first: still counted once', async () => {
      if (!ready()) {
        return;
      }
      const { flusher, hit, countOf } = await setup([0], 300);
      hit(0, 5);
      suite.emulator.fault({ method: 'values.batchUpdate', applyThenDelayMs: 2000 });
      expect(await flusher.flush()).toMatchObject({ outcome: 'in_doubt' });
      suite.emulator.fault({ method: 'values.get', status: 503 });
      hit(0, 1);
      expect(await flusher.flush()).toMatchObject({ outcome: 'failed' });
      expect(flusher.status().inDoubtRequests).toBe(5);

      expect(await flusher.flush()).toMatchObject({ outcome: 'written', requests: 1 });
      expect(await flusher.flush()).toMatchObject({ outcome: 'idle' });
      expect(countOf(0)).toBe(6);
    });
  });

  it('stop() writes what is pending, and the loop makes no flush after it', async () => {
    if (!ready()) {
      return;
    }
    const { flusher, hit, countOf } = await setup([0, 0]);
    flusher.start();
    hit(0, 3);
    hit(1, 1);
    expect(await flusher.stop()).toMatchObject({ outcome: 'written', keys: 2, requests: 4 });
    expect([countOf(0), countOf(1)]).toEqual([3, 1]);
    expect(flusher.status()).toMatchObject({ nextFlushAt: undefined, pendingRequests: 0, inDoubtRequests: 0 });
  });
});
