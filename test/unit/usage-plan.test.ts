import { describe, expect, it } from '@jest/globals';
import { epochToSerial } from '../../src/keys/dates';
import { formatKeyHash, hashKey, keyIdOf } from '../../src/keys/key-id';
import { buildSnapshot } from '../../src/keys/snapshot';
import { runToEnd } from '../../src/slicing';
import type { CellValue } from '../../src/keys/types';
import type { KeyUsage, UsageBatch } from '../../src/usage/counter';
import { rowIdentity } from '../../src/keys/row-key';
import { locateRowsSteps, planUsageWrite, planUsageWriteSteps } from '../../src/usage/plan';
import type { Attempts, RowsByHash, UsagePlan } from '../../src/usage/plan';

const ZONE = 'Europe/Paris';
const HEADER = ['api_key', 'client_name', 'is_active', 'usage_count', 'last_used_at'];
const A = 'sk-convergence-00000000-0000-4000-8000-00000000000a';
const B = 'sk-convergence-00000000-0000-4000-8000-00000000000b';
const C = 'sk-convergence-00000000-0000-4000-8000-00000000000c';
/** 2026-01-15 10:20:30.456 UTC = 11:20:30 in Paris. */
const USED = Date.UTC(2026, 0, 15, 10, 20, 30, 456);

function usage(key: string, count: number, lastUsedAt = USED): KeyUsage {
  const hash = hashKey(key);
  return { hash, keyId: keyIdOf(hash), count, lastUsedAt };
}

function batch(...list: KeyUsage[]): UsageBatch {
  return new Map(list.map((u) => [u.hash, u]));
}

function plan(rows: CellValue[][], b: UsageBatch, inDoubt?: Attempts): UsagePlan {
  const result = planUsageWrite(rows, ZONE, b, inDoubt);
  if (!result.ok) {
    throw new Error(result.reason);
  }
  return result;
}

describe('planUsageWrite', () => {
  it('adds the delta to the count found and writes last_used_at as wall-clock text in the sheet zone', () => {
    const rows = [HEADER, [B, 'Beta', true, 7], [A, 'Alpha', true, 40, 46000]];
    const p = plan(rows, batch(usage(A, 3)));
    expect(p.writes).toEqual([{ cells: 'D3:E3', values: [[43, '2026-01-15 11:20:30']] }]);
    expect(p.attempts.get(hashKey(A))).toMatchObject({
      count: 43,
      lastUsedSerial: epochToSerial(Date.UTC(2026, 0, 15, 10, 20, 30), ZONE),
      previousSerial: 46000,
    });
  });

  it.each<[string, CellValue | undefined, number]>([
    ['an empty cell', '', 2],
    ['a cell past the end of the row', undefined, 2],
    ['numeric text', '12', 14],
    ['a hand-reset 0', 0, 2],
  ])('counts from %s', (_name, cell, expected) => {
    const row: CellValue[] = [A, 'Alpha', true];
    if (cell !== undefined) {
      row.push(cell);
    }
    const p = plan([HEADER, row], batch(usage(A, 2)));
    expect(p.writes[0]?.values[0]?.[0]).toBe(expected);
    expect(p.unreadableCounts).toEqual([]);
  });

  it('counts from 0 over an unreadable usage_count, and says so', () => {
    const p = plan([HEADER, [A, 'Alpha', true, 'lots']], batch(usage(A, 2)));
    expect(p.writes[0]?.values[0]?.[0]).toBe(2);
    expect(p.unreadableCounts).toEqual([{ keyId: keyIdOf(hashKey(A)), row: 2 }]);
  });

  it('finds hashed rows by key_hash, and columns in any order and case', () => {
    const rows = [
      [' Last_Used_At ', 'KEY_HASH', 'client_name', 'is_active', 'notes', 'Usage_Count'],
      ['', formatKeyHash(hashKey(B)), 'Beta', true, 'n', 5],
    ];
    const p = plan(rows, batch(usage(B, 1)));
    expect(p.writes).toEqual([
      { cells: 'F2', values: [[6]] },
      { cells: 'A2', values: [['2026-01-15 11:20:30']] },
    ]);
  });

  it('adds missing usage columns after the widest row, once, in the same write', () => {
    const rows = [
      ['api_key', 'client_name', 'is_active'],
      [A, 'Alpha', true, 'an unlabelled note'],
    ];
    const p = plan(rows, batch(usage(A, 4)));
    expect(p.addedColumns).toEqual(['usage_count', 'last_used_at']);
    expect(p.writes).toEqual([
      { cells: 'E1', values: [['usage_count']] },
      { cells: 'F1', values: [['last_used_at']] },
      { cells: 'E2:F2', values: [[4, '2026-01-15 11:20:30']] },
    ]);
  });

  it('keeps a vanished or duplicated key out of the sheet and writes nothing when nothing is located', () => {
    const rows = [
      ['api_key', 'client_name', 'is_active'],
      [B, 'Beta', true],
      [B, 'Beta again', true],
    ];
    const p = plan(rows, batch(usage(A, 1), usage(B, 2)));
    expect(p.vanished.map((u) => u.count)).toEqual([1]);
    expect(p.ambiguous.map((u) => u.count)).toEqual([2]);
    expect(p.writes).toEqual([]);
    expect(p.addedColumns).toEqual([]);
  });

  it.each([
    ['no key column', [['client_name', 'is_active']]],
    ['usage_count twice', [['api_key', 'usage_count', 'Usage Count']]],
    ['an empty tab', []],
  ])('refuses a header with %s', (_name, rows) => {
    expect(planUsageWrite(rows, ZONE, batch(usage(A, 1)))).toMatchObject({ ok: false });
  });

  describe('settling a write that got no answer', () => {
    const serial = epochToSerial(Date.UTC(2026, 0, 15, 10, 20, 30), ZONE);
    const attempt = (count: number, previousSerial: number | undefined) =>
      new Map([[hashKey(A), { usage: usage(A, 3), count, lastUsedSerial: serial, previousSerial }]]);

    it.each<[string, CellValue[], number | undefined, 'confirmed' | 'retried', number]>([
      ['applied: the count we wrote is there', [13, serial], 46000, 'confirmed', 15],
      ['applied, then hand-reset to 0: our date is there', [0, serial], 46000, 'confirmed', 2],
      ['not applied: the old values are there', [10, 46000], 46000, 'retried', 15],
      ['not applied, then hand-reset to 0', [0, 46000], 46000, 'retried', 5],
      ['not applied, same second as before: the date cannot tell', [10, serial], serial, 'retried', 15],
    ])('%s', (_name, cells, previous, verdict, written) => {
      const rows = [HEADER, [A, 'Alpha', true, ...cells]];
      const p = plan(rows, batch(usage(A, 2)), attempt(13, previous));
      expect(p[verdict].map((u) => u.count)).toEqual([3]);
      expect(p.writes[0]?.values[0]?.[0]).toBe(written);
      expect(p.attempts.get(hashKey(A))?.usage.count).toBe(verdict === 'retried' ? 5 : 2);
    });

    it('settles without a new batch, and drops an in-doubt key whose row vanished', () => {
      const p = plan([HEADER, [B, 'Beta', true]], batch(), attempt(13, undefined));
      expect(p.vanished.map((u) => u.count)).toEqual([3]);
      expect(p.writes).toEqual([]);
    });
  });
});

describe('rowIdentity', () => {
  it('agrees with the snapshot on every row (same hashing as src/keys/row.ts)', () => {
    const header = ['api_key', 'key_hash', 'client_name', 'is_active'];
    const rows: CellValue[][] = [
      [` ${A} `, '', 'plain, padded', true],
      ['', formatKeyHash(hashKey(B)).toUpperCase(), 'hashed', true],
      [C, formatKeyHash(hashKey(C)), 'both, agreeing', true],
    ];
    const snapshot = buildSnapshot({ timeZone: ZONE, rows: [header, ...rows] }, { defaultRateLimit: 60 }, 0);
    expect(rows.map((r) => rowIdentity(r, 0, 1))).toEqual([...snapshot.byHash.keys()]);
    expect(rowIdentity([A, formatKeyHash(hashKey(B))], 0, 1)).toBeUndefined(); // disagreeing cells: refused
    expect(rowIdentity(['', 'sha256:nothex'], 0, 1)).toBeUndefined();
  });

  it("with accept 'readable' (the CLI's rule) keeps the api_key's hash on a row refused for its key cells", () => {
    const disagreeing = [A, formatKeyHash(hashKey(B))];
    const malformed = [A, 'sha256:nothex'];
    expect(rowIdentity(disagreeing, 0, 1, { accept: 'readable' })).toBe(hashKey(A));
    expect(rowIdentity(malformed, 0, 1, { accept: 'readable' })).toBe(hashKey(A));
    expect(rowIdentity(malformed, 0, 1)).toBeUndefined();
    expect(rowIdentity(['', 'sha256:nothex'], 0, 1, { accept: 'readable' })).toBeUndefined();
    expect(rowIdentity([true, formatKeyHash(hashKey(B))], 0, 1, { accept: 'readable' })).toBeUndefined();
  });
});

describe('locating rows in slices', () => {
  function drain(rows: CellValue[][], stepRows: number): { yields: number; located: RowsByHash } {
    const steps = locateRowsSteps(rows, stepRows);
    let yields = 0;
    for (;;) {
      const step = steps.next();
      if (step.done === true) {
        return { yields, located: step.value };
      }
      yields++;
    }
  }

  it('finds the same rows, duplicates included, whatever the slice size, and plans the same write', () => {
    const rows: CellValue[][] = [HEADER];
    for (let i = 0; i < 250; i++) {
      rows.push([`sk-convergence-slice-${i}`, `client-${i}`, true, i]);
    }
    rows.push([A, 'Alpha', true, 1], [B, 'Beta', true, 2], [A, 'Alpha again', true, 3]);
    const { yields, located } = drain(rows, 100);
    expect(yields).toBe(2); // after rows 100 and 200 of 253
    expect(located.get(hashKey(A))).toEqual([252, 254]);
    expect(located.get(hashKey(B))).toEqual([253]);
    expect(located.get(hashKey('sk-convergence-slice-0'))).toEqual([2]);
    const b = batch(usage(B, 5), usage(A, 1), usage('sk-convergence-slice-7', 2));
    for (const step of [1, 7, 100]) {
      expect(runToEnd(planUsageWriteSteps(rows, ZONE, b, new Map(), step))).toEqual(planUsageWrite(rows, ZONE, b));
    }
  });

  it('yields while it plans the keys too, not only while it locates the rows', () => {
    const rows: CellValue[][] = [HEADER];
    const touched: KeyUsage[] = [];
    for (let i = 0; i < 250; i++) {
      rows.push([`sk-convergence-plan-${i}`, `client-${i}`, true, i]);
      touched.push(usage(`sk-convergence-plan-${i}`, 1));
    }
    const steps = planUsageWriteSteps(rows, ZONE, batch(...touched), new Map(), 100);
    const yielded: number[] = [];
    let step = steps.next();
    for (; step.done !== true; step = steps.next()) {
      yielded.push(step.value);
    }
    expect(yielded).toEqual([100, 200, 100, 200]); // rows 100 and 200 of 250, then keys 100 and 200 of 250
    expect(step.value).toEqual(planUsageWrite(rows, ZONE, batch(...touched)));
    expect(step.value.ok && step.value.attempts.size).toBe(250);
  });

  it('plans a tab wider than the header row without spreading every row into Math.max', () => {
    const rows: CellValue[][] = [['api_key', 'client_name']];
    for (let i = 0; i < 200_000; i++) {
      rows.push([`k${i}`, 'c']);
    }
    rows.push([A, 'Alpha', '', '', 'a note']);
    const p = plan(rows, batch(usage(A, 1)));
    // usage_count and last_used_at go after the widest row (5 cells: A..E), so F and G.
    expect(p.addedColumns).toEqual(['usage_count', 'last_used_at']);
    expect(p.writes.map((w) => w.cells)).toEqual(['F1', 'G1', `F${rows.length}:G${rows.length}`]);
  });
});
