import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { batchTotals, mergeBatches, UsageCounter } from '../../src/usage/counter';
import type { KeyUsage, UsageBatch } from '../../src/usage/counter';

const alpha = { hash: 'a'.repeat(64), keyId: 'a'.repeat(16) };
const beta = { hash: 'b'.repeat(64), keyId: 'b'.repeat(16) };
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

function counts(batch: UsageBatch): Record<string, [number, number]> {
  return Object.fromEntries([...batch.values()].map((u: KeyUsage) => [u.keyId, [u.count, u.lastUsedAt - T0]]));
}

describe('UsageCounter', () => {
  it('counts per key and keeps the latest use', () => {
    const counter = new UsageCounter();
    counter.record(alpha, T0 + 5);
    counter.record(alpha, T0 + 1); // out-of-order arrival: the latest use still wins
    counter.record(beta, T0 + 2);
    expect(counter.pending()).toEqual({ keys: 2, requests: 3 });
    expect(counts(counter.take())).toEqual({ [alpha.keyId]: [2, 5], [beta.keyId]: [1, 2] });
  });

  it('take() drains: the next batch holds only what came after', () => {
    const counter = new UsageCounter();
    counter.record(alpha, T0);
    const first = counter.take();
    expect(counter.pending()).toEqual({ keys: 0, requests: 0 });
    counter.record(alpha, T0 + 10);
    expect(counts(first)).toEqual({ [alpha.keyId]: [1, 0] });
    expect(counts(counter.take())).toEqual({ [alpha.keyId]: [1, 10] });
    expect(counter.take().size).toBe(0);
  });

  it('restore() merges a failed batch with what was counted since: nothing lost, nothing doubled', () => {
    const counter = new UsageCounter();
    for (let i = 0; i < 7; i++) {
      counter.record(alpha, T0 + i);
    }
    counter.record(beta, T0 + 100);
    const failed = counter.take();
    counter.record(alpha, T0 + 50);
    counter.record(alpha, T0 + 51);
    counter.restore(failed);
    expect(counter.pending()).toEqual({ keys: 2, requests: 10 });
    expect(counts(counter.take())).toEqual({ [alpha.keyId]: [9, 51], [beta.keyId]: [1, 100] });
  });

  it('restoring into an empty counter gives the batch back unchanged', () => {
    const counter = new UsageCounter();
    counter.record(alpha, T0);
    counter.record(beta, T0 + 1);
    const batch = counter.take();
    counter.restore(batch);
    expect(counts(counter.take())).toEqual(counts(batch));
  });

  it.each([
    ['many takes and restores', 5],
    ['a single round', 1],
  ])('the total over %s equals the number of records', (_name, rounds) => {
    const counter = new UsageCounter();
    let recorded = 0;
    let written = 0;
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < 13; i++) {
        counter.record(i % 2 === 0 ? alpha : beta, T0 + round * 100 + i);
        recorded += 1;
      }
      const batch = counter.take();
      if (round % 2 === 0) {
        counter.restore(batch); // this round's write failed
      } else {
        written += batchTotals(batch).requests;
      }
    }
    written += batchTotals(counter.take()).requests;
    expect(written).toBe(recorded);
  });

  it('a taken batch is not changed by later records or restores', () => {
    const counter = new UsageCounter();
    counter.record(alpha, T0);
    const batch = counter.take();
    counter.restore(batch);
    counter.record(alpha, T0 + 1);
    expect(counts(batch)).toEqual({ [alpha.keyId]: [1, 0] });
  });

  it('counts in place, yet a peek() is not changed by later records (entries are copied out)', () => {
    const counter = new UsageCounter();
    counter.record(alpha, T0 + 5);
    counter.record(alpha, T0 + 2); // an earlier time never moves lastUsedAt back
    const seen = counter.peek();
    counter.record(alpha, T0 + 9);
    expect(counts(seen)).toEqual({ [alpha.keyId]: [2, 5] });
    expect(counts(counter.take())).toEqual({ [alpha.keyId]: [3, 9] });
  });
});

describe('UsageCounter.recorderFor', () => {
  type Step = { kind: 'use'; key: 0 | 1; via: 'recorder' | 'record'; at: number } | { kind: 'take'; restore: boolean };
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('use' as const),
        key: fc.constantFrom(0 as const, 1 as const),
        via: fc.constantFrom('recorder' as const, 'record' as const),
        at: fc.integer({ min: 0, max: 1000 }),
      }),
    },
    fc.record({ kind: fc.constant('take' as const), restore: fc.boolean() }),
  );

  it('counts what record counts, through takes and restores: nothing lost, nothing counted into a taken batch', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const counter = new UsageCounter();
        const reference = new UsageCounter();
        const keys = [alpha, beta];
        const recorders = keys.map((key) => counter.recorderFor(key));
        const taken: UsageBatch[] = [];
        const taken2: UsageBatch[] = [];
        for (const s of steps) {
          if (s.kind === 'use') {
            const key = keys[s.key] ?? alpha;
            if (s.via === 'recorder') {
              recorders[s.key]?.(T0 + s.at);
            } else {
              counter.record(key, T0 + s.at);
            }
            reference.record(key, T0 + s.at);
          } else {
            const batch = counter.take();
            const batch2 = reference.take();
            if (s.restore) {
              counter.restore(batch);
              reference.restore(batch2);
            } else {
              taken.push(batch);
              taken2.push(batch2);
            }
          }
        }
        expect(counts(mergeBatches(...taken, counter.peek()))).toEqual(
          counts(mergeBatches(...taken2, reference.peek())),
        );
        expect(taken.map(counts)).toEqual(taken2.map(counts));
        expect(counter.pending()).toEqual(reference.pending());
      }),
      { numRuns: 500 },
    );
  });
});

describe('mergeBatches / batchTotals', () => {
  it('adds counts and keeps the latest use, leaving the inputs alone', () => {
    const a = new Map([[alpha.hash, { ...alpha, count: 2, lastUsedAt: T0 + 9 }]]);
    const b = new Map([
      [alpha.hash, { ...alpha, count: 3, lastUsedAt: T0 + 4 }],
      [beta.hash, { ...beta, count: 1, lastUsedAt: T0 }],
    ]);
    const merged = mergeBatches(a, b);
    expect(counts(merged)).toEqual({ [alpha.keyId]: [5, 9], [beta.keyId]: [1, 0] });
    expect(batchTotals(merged)).toEqual({ keys: 2, requests: 6 });
    expect(counts(a)).toEqual({ [alpha.keyId]: [2, 9] });
  });
});
