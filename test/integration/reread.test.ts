/**
 * A sheet read again: rows streamed as text (a `values.get` body) are parsed only when their text changed since the
 * snapshot being replaced; the others are copied from it. Whatever changed in between, the result must be exactly the
 * snapshot a build from scratch gives, and a key whose row did not change must keep its record.
 */
import fc from 'fast-check';
import { hashKey } from '../../src/keys/key-id';
import { loadSnapshot } from '../../src/keys/load-snapshot';
import type { SheetSource } from '../../src/keys/sheet-source';
import { buildSnapshot } from '../../src/keys/snapshot';
import { parseValueRange, streamValueRange } from '../../src/keys/snapshot-json';
import type { CellValue, SheetTable, Snapshot } from '../../src/keys/types';
import { ValueRangeScanner } from '../../src/keys/value-range-scanner';
import { cell, chunked, stream } from '../helpers/json-body';
import { table } from '../helpers/sheet-tables';

const NOW = Date.UTC(2026, 0, 1);
const TARGET = { spreadsheetId: 'reread', sheetName: 'API_Keys', clientEmail: 'test@example.iam' };

/**
 * A source that streams `t` as Google sends it: one `values.get` body, in UTF-8 chunks cut at `cuts`, its `range`
 * as given (another range is another body for the same rows).
 */
function bodySource(
  t: SheetTable,
  sliceChars: number,
  cuts: readonly number[] = [],
  range = 'API_Keys!A1:Z',
): SheetSource {
  return {
    target: TARGET,
    streamTable: async (sink) => {
      sink.start(t.timeZone);
      const body = JSON.stringify({ range, majorDimension: 'ROWS', values: t.rows });
      await streamValueRange(stream(chunked(body, cuts)), sink, { sliceChars, budgetMs: 0, otherShapes: 'refuse' });
    },
  };
}

function read(
  t: SheetTable,
  previous: Snapshot | undefined,
  defaultRateLimit = 60,
  sliceChars = 64,
  cuts: readonly number[] = [],
  range?: string,
): Promise<Snapshot> {
  const source = bodySource(t, sliceChars, cuts, range);
  return loadSnapshot(source, { defaultRateLimit }, () => NOW, previous ? { previous } : {});
}

function plain(s: Snapshot): unknown {
  return { byHash: [...s.byHash.entries()], problems: s.problems, timeZone: s.timeZone, loadedAt: s.loadedAt };
}

type Edit =
  | { readonly kind: 'keep' }
  | { readonly kind: 'delete' }
  | { readonly kind: 'copy'; readonly from: number }
  | { readonly kind: 'insert'; readonly from: number }
  | { readonly kind: 'cell'; readonly at: number; readonly value: CellValue };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'keep' as const }) },
  fc.constant({ kind: 'delete' as const }),
  fc.record({ kind: fc.constant('copy' as const), from: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), from: fc.nat() }),
  fc.record({ kind: fc.constant('cell' as const), at: fc.nat({ max: 7 }), value: cell }),
);

/** `t` after an admin's edits, one per data row: rows deleted, inserted, overwritten by another, a cell retyped. */
function edited(t: SheetTable, edits: readonly Edit[]): SheetTable {
  const [header = [], ...data] = t.rows;
  const out: (readonly CellValue[])[] = [];
  data.forEach((row, i) => {
    const e = edits[i % Math.max(1, edits.length)] ?? { kind: 'keep' };
    const other = (n: number): CellValue[] => [...(data[n % data.length] ?? [])];
    switch (e.kind) {
      case 'keep':
        out.push(row);
        break;
      case 'delete':
        break;
      case 'copy':
        out.push(other(e.from));
        break;
      case 'insert':
        out.push(other(e.from), row);
        break;
      case 'cell': {
        const changed = [...row];
        changed[e.at % Math.max(1, header.length)] = e.value;
        out.push(changed);
        break;
      }
    }
  });
  return { timeZone: t.timeZone, rows: [header, ...out.map((row) => [...row])] };
}

describe('a sheet read again', () => {
  it('gives exactly what a build from scratch gives, whatever changed in between', async () => {
    await fc.assert(
      fc.asyncProperty(
        table,
        fc.array(edit, { minLength: 1, maxLength: 12 }),
        fc.constantFrom('same', 'same', 'same', 'zone', 'limit', 'header'),
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        async (t1, edits, what, sliceChars, cuts, askFirst) => {
          const first = await read(t1, undefined, 60, sliceChars, cuts);
          if (askFirst) {
            expect([...first.byHash.values()]).toHaveLength(first.byHash.size); // makes every record, for the next build to keep
          }
          let t2 = edited(t1, edits);
          let limit = 60;
          if (what === 'zone') {
            t2 = { ...t2, timeZone: 'Pacific/Kiritimati' };
          } else if (what === 'limit') {
            limit = 61;
          } else if (what === 'header') {
            const [header = [], ...data] = t2.rows;
            t2 = { ...t2, rows: [[...header, 'notes 2'], ...data] };
          }
          const second = await read(t2, first, limit, sliceChars, cuts);
          expect(plain(second)).toEqual(plain(buildSnapshot(t2, { defaultRateLimit: limit }, NOW)));
          // and a third read of the same table, from the second
          const third = await read(t2, second, limit, sliceChars);
          expect(plain(third)).toEqual(plain(second));
        },
      ),
      { numRuns: 400 },
    );
  });

  const header = ['api_key', 'client_name', 'is_active', 'rate_limit', 'usage_count'];
  const keys = Array.from({ length: 6 }, (_, i) => `sk-convergence-reread-${i}-0000-4000-8000-000000000000`);
  const rows = keys.map((key, i): CellValue[] => [key, `client ${i}`, true, 10 + i, 0]);
  const record = (s: Snapshot, key: string) => s.byHash.get(hashKey(key));

  it('keeps the record of a key whose row did not change, and makes a new one for a row that did', async () => {
    const first = await read({ timeZone: 'Europe/Paris', rows: [header, ...rows] }, undefined);
    const before = keys.map((key) => record(first, key));
    const changed = rows.map((row, i) => (i === 2 ? [...row.slice(0, 4), 41] : row)); // usage written back on row 4
    const second = await read({ timeZone: 'Europe/Paris', rows: [header, ...changed] }, first);
    keys.forEach((key, i) => {
      if (i === 2) {
        expect(record(second, key)).not.toBe(before[i]);
        expect(record(second, key)?.usageCount).toBe(41);
      } else {
        expect(record(second, key)).toBe(before[i]);
      }
    });
  });

  it('shares the key table itself when no row changed, and builds its own when one did, even the last', async () => {
    const t = { timeZone: 'Europe/Paris', rows: [header, ...rows] };
    const first = await read(t, undefined);
    const same = await read(t, first);
    expect(same).not.toBe(first);
    expect(same.byHash).toBe(first.byHash);
    const changedTable = { ...t, rows: [header, ...rows.slice(0, -1), ['sk-convergence-last', 'Last', true]] };
    const droppedTable = { ...t, rows: [header, ...rows.slice(0, -1)] };
    const lastChanged = await read(changedTable, first);
    const lastDropped = await read(droppedTable, first);
    for (const [next, table] of [
      [lastChanged, changedTable],
      [lastDropped, droppedTable],
    ] as const) {
      expect(next.byHash).not.toBe(first.byHash);
      expect(plain(next)).toEqual(plain(buildSnapshot(table, { defaultRateLimit: 60 }, NOW)));
    }
    expect(lastDropped.byHash.size).toBe(rows.length - 1);
    expect(record(lastDropped, keys[5] ?? '')).toBeUndefined();
    expect(lastChanged.byHash.get(hashKey('sk-convergence-last'))?.clientName).toBe('Last');
    // A table that dropped a duplicate is not shared row by row (another body, the same rows): the next build must
    // drop it again itself. The same body byte for byte gives the previous result whole, duplicate dropped.
    const duplicated = { ...t, rows: [header, ...rows, [keys[0] ?? '', 'again', true]] };
    const withDuplicate = await read(duplicated, undefined);
    const again = await read(duplicated, withDuplicate, 60, 64, [], 'API_Keys!A1:Z1000');
    expect(again.byHash).not.toBe(withDuplicate.byHash);
    expect(plain(again)).toEqual(plain(withDuplicate));
    const sameBody = await read(duplicated, withDuplicate);
    expect(sameBody.byHash).toBe(withDuplicate.byHash);
    expect(plain(sameBody)).toEqual(plain(withDuplicate));
  });

  it('neither decodes nor scans a body byte for byte the one before: its content is the previous, stamped anew', async () => {
    const t = {
      timeZone: 'Europe/Paris',
      rows: [header, ...rows, ['sk-convergence-refused-0000', 'refused', true, 'lots']],
    };
    const first = await read(t, undefined, 60, 64, [5, 17, 40]);
    const scanned = jest.spyOn(ValueRangeScanner.prototype, 'push');
    try {
      // the same bytes cut elsewhere, read an hour later
      const source = bodySource(t, 64, [3, 90]);
      const later = await loadSnapshot(source, { defaultRateLimit: 60 }, () => NOW + 3_600_000, { previous: first });
      expect(scanned).not.toHaveBeenCalled();
      expect(later).not.toBe(first);
      expect(later.byHash).toBe(first.byHash);
      expect(later.problems).toEqual(first.problems);
      expect(later.problems).toHaveLength(1);
      expect(later.loadedAt).toBe(NOW + 3_600_000);
      await read(t, later); // the memory goes on to the next snapshot
      expect(scanned).not.toHaveBeenCalled();

      // One byte changed, the length the same, near the end or in the middle: the body is read again.
      const refusedRow = rows.length + 1;
      for (const [at, column, text] of [
        [refusedRow, 1, 'refuser'],
        [2, 1, 'client X'],
      ] as const) {
        scanned.mockClear();
        const changedRows = t.rows.map((row, n) => (n === at ? row.map((c, i) => (i === column ? text : c)) : row));
        const changedTable = { ...t, rows: changedRows };
        expect(JSON.stringify(changedRows)).toHaveLength(JSON.stringify(t.rows).length);
        const changed = await read(changedTable, later);
        expect(scanned).toHaveBeenCalled();
        expect(plain(changed)).toEqual(plain(buildSnapshot(changedTable, { defaultRateLimit: 60 }, NOW)));
      }
      // The same bytes under another default limit or zone are another sheet.
      for (const [table, limit] of [
        [t, 61],
        [{ ...t, timeZone: 'Asia/Tokyo' }, 60],
      ] as const) {
        scanned.mockClear();
        const next = await read(table, later, limit);
        expect(scanned).toHaveBeenCalled();
        expect(plain(next)).toEqual(plain(buildSnapshot(table, { defaultRateLimit: limit }, NOW)));
      }
    } finally {
      scanned.mockRestore();
    }
  });

  it('reads every row again after a row moved, a header, zone or default limit changed', async () => {
    const t = { timeZone: 'Europe/Paris', rows: [header, ...rows] };
    const first = await read(t, undefined);
    const before = record(first, keys[5] ?? '');
    const cases: [string, Promise<Snapshot>][] = [
      ['a row inserted above', read({ ...t, rows: [header, ['sk-convergence-new', 'new', true], ...rows] }, first)],
      ['a column added', read({ ...t, rows: [[...header, 'notes'], ...rows] }, first)],
      ['another zone', read({ ...t, timeZone: 'Asia/Tokyo' }, first)],
      ['another default limit', read(t, first, 61)],
    ];
    for (const [, next] of cases) {
      const after = record(await next, keys[5] ?? '');
      expect(after).toBeDefined();
      expect(after).not.toBe(before);
    }
    // the same table again, for contrast: the record is kept
    expect(record(await read(t, first), keys[5] ?? '')).toBe(before);
  });

  it('reports a copied key that another row now repeats as a duplicate on both rows', async () => {
    const first = await read({ timeZone: 'Europe/Paris', rows: [header, ...rows] }, undefined);
    const kept = record(first, keys[0] ?? '');
    const repeated = [...rows, [keys[1] ?? '', 'impostor', true, 1000, 0]];
    const second = await read({ timeZone: 'Europe/Paris', rows: [header, ...repeated] }, first);
    expect(record(second, keys[1] ?? '')).toBeUndefined();
    expect(second.problems.map((p) => [p.row, p.reason])).toEqual([
      [3, 'duplicate key (also on row 8)'],
      [8, 'duplicate key (also on row 3)'],
    ]);
    expect(record(second, keys[0] ?? '')).toBe(kept);
  });

  it('reports a copied key as a duplicate when a refused row above now holds it', async () => {
    const first = await read({ timeZone: 'Europe/Paris', rows: [header, ...rows] }, undefined);
    // Row 2 now holds row 3's key, refused for its is_active; row 3 did not change.
    const refusedAbove = [[keys[1] ?? '', 'impostor', 'maybe', 1000, 0], ...rows.slice(1)];
    const second = await read({ timeZone: 'Europe/Paris', rows: [header, ...refusedAbove] }, first);
    expect(record(second, keys[1] ?? '')).toBeUndefined();
    expect(second.problems.map((p) => p.row)).toEqual([2, 3]);
    expect(second.problems[1]?.reason).toBe('duplicate key (also on row 2)');
  });
});

describe('the separators between rows, which the rows parsed one by one do not check', () => {
  it.each([
    '{"values":[["a"] ["b"]]}',
    '{"values":[["a"],,["b"]]}',
    '{"values":[,["a"]]}',
    '{"values":[["a"],]}',
    '{"values":[["a"],["b"],]}',
  ])('refuses %j with a SyntaxError, as JSON.parse does, row texts or rows', async (text) => {
    expect(() => JSON.parse(text) as unknown).toThrow(SyntaxError);
    await expect(parseValueRange(text, { sliceChars: 1 })).rejects.toThrow(SyntaxError);
    const sink = { push: () => undefined, pushTexts: () => undefined, restart: () => undefined };
    await expect(streamValueRange([text], sink, { otherShapes: 'refuse' })).rejects.toThrow(SyntaxError);
  });
});
