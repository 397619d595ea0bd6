/**
 * Issue 6: the table followers read from Redis holds no raw key, and the snapshot built from it accepts and refuses
 * exactly what the snapshot of the sheet itself does (only previews and some refusal wordings differ).
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { formatKeyHash, hashKey } from '../../src/keys/key-id';
import { buildSnapshot } from '../../src/keys/snapshot';
import { runToEnd } from '../../src/slicing';
import type { CellValue, Snapshot, SheetTable } from '../../src/keys/types';
import { parseValueRange, valueRangeJsonSteps } from '../../src/keys/snapshot-json';
import { UNREAD_CELL, UnredactableTableError, redactTable, redactTableSteps } from '../../src/redis/redact-table';

const NOW = Date.UTC(2026, 0, 1);
const KEYS = ['sk-convergence-one-0000000000000001', 'sk-convergence-two-0000000000000002', ' 12345 '];
const keyCell = fc.oneof(fc.constantFrom<CellValue>(...KEYS, '', true, 12345), fc.constant<CellValue>('  '));
const hashCell = fc.constantFrom<CellValue>(
  '',
  formatKeyHash(hashKey(KEYS[0] as string)),
  formatKeyHash(hashKey(KEYS[1] as string)).toUpperCase(),
  formatKeyHash(hashKey('12345')),
  'sha256:nothex',
);
const row = fc.tuple(
  keyCell,
  hashCell,
  fc.constantFrom<CellValue>('Acme', '', ' Beta '),
  fc.constantFrom<CellValue>(true, false, 'yes', 'maybe', ''),
  fc.constantFrom<CellValue>('', 5, 'x'),
  fc.constantFrom<CellValue>('', 'read admin'),
);

/** Headers with and without `key_hash`, in other orders, with a trailing notes column. */
function table(withHash: boolean, rows: CellValue[][]): SheetTable {
  const header = ['API Key', 'key_hash', 'client_name', 'is_active', 'rate_limit', 'scopes'];
  const pick = (cells: CellValue[]): CellValue[] => (withHash ? cells : cells.filter((_, i) => i !== 1));
  return { timeZone: 'Europe/Paris', rows: [pick(header), ...rows.map((r) => [...pick(r), 'notes'])] };
}

function comparable(snapshot: Snapshot) {
  return {
    // Previews differ by design: a follower only ever sees the hash (`sha256:3f2a9c…`).
    keys: [...snapshot.byHash.values()].map((record) => ({ ...record, preview: undefined })),
    problems: snapshot.problems.map((p) => ({ row: p.row, keyId: p.keyId })),
  };
}

describe('redactTable', () => {
  it('same keys, limits, scopes and refused rows (with key ids) as the sheet, and no raw key in the JSON', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(row, { maxLength: 6 }), (withHash, rows) => {
        const original = table(withHash, rows);
        const noKey = (key: CellValue | undefined): boolean => typeof key === 'boolean' || String(key).trim() === '';
        const unhashable = rows.findIndex(([key, hash]) => hash === 'sha256:nothex' && noKey(key));
        if (withHash && unhashable !== -1) {
          // A malformed key_hash beside no key may be a raw key typed there: the table is not redacted at all.
          expect(() => redactTable(original)).toThrow(new RegExp(`^row ${unhashable + 2}: key_hash is not`));
          return;
        }
        const redacted = redactTable(original);
        const json = JSON.stringify(redacted);
        for (const key of KEYS) {
          expect(json).not.toContain(key.trim());
        }
        const ctx = { defaultRateLimit: 60 };
        expect(comparable(buildSnapshot(redacted, ctx, NOW))).toEqual(comparable(buildSnapshot(original, ctx, NOW)));
      }),
      { numRuns: 500 },
    );
  });

  it.each<[string, CellValue[]]>([
    ['a column twice', ['api_key', 'api_key', 'client_name', 'is_active']],
    ['no key column it knows', ['apikey', 'client_name', 'is_active']],
  ])('an unusable header (%s) is not redacted: keys may sit in any column', (_name, header) => {
    const original: SheetTable = { timeZone: 'Etc/UTC', rows: [header, [KEYS[0] as string, 'x', 'A', true]] };
    const ctx = { defaultRateLimit: 60 };
    const headerProblem = buildSnapshot(original, ctx, NOW).problems[0]?.reason ?? '';
    expect(() => redactTable(original)).toThrow(UnredactableTableError);
    expect(() => redactTable(original)).toThrow(`row 1: ${headerProblem}`);
  });

  it.each<[string, CellValue[][], string]>([
    [
      'in a client_name',
      [
        ['sk-a', 'Acme', true],
        ['sk-b', 'sk-a', true],
      ],
      'row 3: the client_name cell',
    ],
    ['as a word of scopes', [['sk-a', 'Acme', true, 'read sk-a']], 'row 2: the scopes cell'],
    [
      'in is_active, a column to the side',
      [
        ['sk-a', 'Acme', true],
        ['sk-b', 'B', ' sk-a '],
      ],
      'row 3: the is_active',
    ],
  ])('a key of the sheet typed %s: not redacted, the row and column named, never the key', (_name, rows, where) => {
    const original: SheetTable = {
      timeZone: 'Etc/UTC',
      rows: [['api_key', 'client_name', 'is_active', 'scopes'], ...rows],
    };
    let message = '';
    try {
      redactTable(original);
    } catch (err) {
      message = err instanceof UnredactableTableError ? err.message : String(err);
    }
    expect(message).toContain(where);
    expect(message).not.toContain('sk-a');
  });

  it('replaces the cells of columns the snapshot does not read, keeping the header and blank cells', () => {
    const redacted = redactTable({
      timeZone: 'Etc/UTC',
      rows: [
        ['api_key', 'client_name', 'notes', 'is_active'],
        ['sk-a', 'Acme', 'was sk-old', true],
        ['sk-b', 'Beta', '', true],
      ],
    });
    expect(redacted.rows).toEqual([
      ['api_key', 'client_name', 'notes', 'is_active', 'key_hash'],
      ['', 'Acme', UNREAD_CELL, true, formatKeyHash(hashKey('sk-a'))],
      ['', 'Beta', '', true, formatKeyHash(hashKey('sk-b'))],
    ]);
  });
});

describe('the shared table is redacted and stringified in slices', () => {
  const anyCell = fc.oneof(
    fc.string(),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
  ) as fc.Arbitrary<CellValue>;

  it('valueRangeJsonSteps writes what JSON.stringify({ values }) writes, and parseValueRange reads it back', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(anyCell, { maxLength: 5 }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 7 }),
        async (rows, stepRows) => {
          const json = runToEnd(valueRangeJsonSteps(rows, stepRows));
          expect(json).toBe(JSON.stringify({ values: rows }));
          expect(await parseValueRange(json, { sliceChars: 16 })).toEqual(JSON.parse(json).values);
        },
      ),
    );
  });

  it('redacts a 200,000-row table in steps to the same table, without spreading every row into Math.max', () => {
    const rows: CellValue[][] = [['api_key', 'client_name', 'is_active']];
    for (let i = 0; i < 200_000; i++) {
      rows.push([`sk-convergence-big-${i}`, `c${i}`, true]);
    }
    const table: SheetTable = { timeZone: 'Etc/UTC', rows };
    const stepped = runToEnd(redactTableSteps(table, 1000));
    expect(stepped).toEqual(redactTable(table));
    expect(stepped.rows[0]).toEqual(['api_key', 'client_name', 'is_active', 'key_hash']);
    expect(stepped.rows[200_000]).toEqual(['', 'c199999', true, formatKeyHash(hashKey('sk-convergence-big-199999'))]);
  });
});
