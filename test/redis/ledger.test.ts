/**
 * Issue 6: the Redis side of pooled usage, step by step against the real Redis — what a leader that dies between
 * any two steps leaves behind, and that a retried step never counts twice.
 */
import { describe, expect, it } from '@jest/globals';
import { createLogger } from '../../src/log';
import { Lease } from '../../src/redis/lease';
import { RedisError } from '../../src/redis/redis-error';
import type { KeyUsage, UsageBatch } from '../../src/usage/counter';
import type { Attempt, Attempts } from '../../src/usage/plan';
import { RedisUsageLedger } from '../../src/usage/redis-ledger';
import { redisSuite } from './harness';

const logger = createLogger({ level: 'error', format: 'json' });
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function usage(hash: string, count: number, lastUsedAt: number): KeyUsage {
  return { hash, keyId: hash.slice(0, 16), count, lastUsedAt };
}

function batch(...list: KeyUsage[]): UsageBatch {
  return new Map(list.map((u) => [u.hash, u]));
}

function attempts(...list: KeyUsage[]): Attempts {
  return new Map(
    list.map((u): [string, Attempt] => [
      u.hash,
      { usage: u, count: 100 + u.count, lastUsedSerial: 46000.5, previousSerial: 46000 },
    ]),
  );
}

describe('Redis usage ledger', () => {
  const redis = redisSuite('test/redis/ledger.test.ts');

  /** Two instances: their leases on the same key, their ledgers on the same namespace. A leads. */
  async function twoInstances() {
    const key = `${redis.prefix.namespace}:leader`;
    const leaseA = new Lease({ client: redis.client, key, logger, ttlMs: 5000 });
    const leaseB = new Lease({ client: redis.client, key, logger, ttlMs: 5000 });
    expect(await leaseA.tick()).toBe(true);
    expect(await leaseB.tick()).toBe(false);
    return {
      a: new RedisUsageLedger(redis.client, redis.prefix.namespace, leaseA, { logger }),
      b: new RedisUsageLedger(redis.client, redis.prefix.namespace, leaseB, { logger }),
      leaseA,
      leaseB,
      /** A dies: its lease expires, B takes it. */
      failOver: async () => {
        await redis.client.del(key);
        expect(await leaseB.tick()).toBe(true);
      },
    };
  }

  it('a push retried with the same id (its reply was lost) counts once; counts add, the latest use wins', async () => {
    if (!redis.reachable) {
      return;
    }
    const { a, b } = await twoInstances();
    await b.push('push-1', batch(usage(A, 3, 1000)));
    await b.push('push-1', batch(usage(A, 3, 1000)));
    await a.push('push-2', batch(usage(A, 2, 500), usage(B, 1, 2000)));

    const taken = await a.take();
    expect(taken.batch).toEqual(batch(usage(A, 5, 1000), usage(B, 1, 2000)));
    expect(taken.inDoubt.size).toBe(0);
  });

  it('only the lease holder may take or send', async () => {
    if (!redis.reachable) {
      return;
    }
    const { b } = await twoInstances();
    await expect(b.take()).rejects.toMatchObject({ name: 'RedisError', code: 'not_leader' });
    await expect(b.sending(attempts(usage(A, 1, 1)))).rejects.toBeInstanceOf(RedisError);
  });

  it('a leader that dies after taking: the next leader takes the same deltas, plus what was pushed since', async () => {
    if (!redis.reachable) {
      return;
    }
    const { a, b, failOver } = await twoInstances();
    await b.push('p1', batch(usage(A, 4, 1000)));
    expect((await a.take()).batch.get(A)?.count).toBe(4);
    await failOver();
    await a.push('p2', batch(usage(A, 1, 3000)));

    expect([...(await b.take()).batch.values()]).toEqual([usage(A, 5, 3000)]);
    await expect(a.take()).rejects.toMatchObject({ code: 'not_leader' });
  });

  it('a leader that dies after sending: the next leader gets that write as in doubt, never as new deltas', async () => {
    if (!redis.reachable) {
      return;
    }
    const { a, b, failOver } = await twoInstances();
    await b.push('p1', batch(usage(A, 4, 1000)));
    const taken = await a.take();
    const sent = attempts(...taken.batch.values());
    await a.sending(sent);
    await b.push('p2', batch(usage(B, 2, 2000)));
    await failOver();

    const next = await b.take();
    expect([...next.batch.values()]).toEqual([usage(B, 2, 2000)]);
    expect([...next.inDoubt.entries()]).toEqual([...sent.entries()]);
    // A's late "written" cannot erase B's newer in-doubt write.
    const idB = await b.sending(attempts(usage(A, 4, 1000), usage(B, 2, 2000)));
    await a.written('an-old-id');
    expect((await b.take()).inDoubt.size).toBe(2);
    await b.written(idB);
    expect((await b.take()).inDoubt.size).toBe(0);
  });

  it('a refused write puts its deltas back once; a leader that lost the lease cannot', async () => {
    if (!redis.reachable) {
      return;
    }
    const { a, b, failOver } = await twoInstances();
    await b.push('p1', batch(usage(A, 4, 1000)));
    const sent = attempts(...(await a.take()).batch.values());
    const id = await a.sending(sent);
    await a.refused(id, sent);
    await a.refused(id, sent); // a retried reply: no second merge
    expect([...(await a.take()).batch.values()]).toEqual([usage(A, 4, 1000)]);

    const id2 = await a.sending(sent);
    await failOver();
    await a.refused(id2, sent); // too late: B settles it by reading the sheet
    const next = await b.take();
    expect(next.batch.size).toBe(0);
    expect(next.inDoubt.size).toBe(1);
  });

  it('the lease: one holder at a time; a release hands it over at once', async () => {
    if (!redis.reachable) {
      return;
    }
    const { leaseA, leaseB } = await twoInstances();
    expect([leaseA.held(), leaseB.held()]).toEqual([true, false]);
    expect(await leaseA.tick()).toBe(true); // renewal by the holder
    await leaseA.release();
    expect(await leaseB.tick()).toBe(true);
    expect(await leaseA.tick()).toBe(false);
    await leaseB.release();
  });
});
