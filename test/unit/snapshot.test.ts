import { formatKeyHash, hashKey, keyIdOf } from '../../src/keys/key-id';
import { buildSnapshot } from '../../src/keys/snapshot';
import type { CellValue, Snapshot } from '../../src/keys/types';

const A = 'sk-convergence-aaaaaaaa-0000-4000-8000-000000000001';
const B = 'sk-convergence-bbbbbbbb-0000-4000-8000-000000000002';
const C = 'sk-convergence-cccccccc-0000-4000-8000-000000000003';
const D = 'short-key';
const HEADER = ['api_key', 'key_hash', 'client_name', 'is_active', 'rate_limit'];
const NOW = Date.UTC(2026, 0, 1);
const hashed = (key: string): string => formatKeyHash(hashKey(key));

function build(rows: CellValue[][], header: CellValue[] = HEADER, timeZone = 'Etc/UTC'): Snapshot {
  return buildSnapshot({ timeZone, rows: [header, ...rows] }, { defaultRateLimit: 60 }, NOW);
}

const reasons = (snap: Snapshot): [number, string][] => snap.problems.map((p) => [p.row, p.reason]);

describe('buildSnapshot', () => {
  it('indexes usable keys by hash and reports refused rows by their sheet row number', () => {
    const snap = build([[A, '', 'Acme', true, ''], [], ['', '  '], [B, '', '', true, ''], [C, '', 'Cee', 'maybe', '']]);
    expect([...snap.byHash.keys()]).toEqual([hashKey(A)]);
    expect(snap.byHash.get(hashKey(A))).toMatchObject({ clientName: 'Acme', row: 2, rateLimit: 60 });
    expect(snap.problems).toEqual([
      { row: 5, reason: 'client_name is empty', keyId: keyIdOf(hashKey(B)) },
      { row: 6, reason: 'is_active: expected TRUE/FALSE, got "maybe"', keyId: keyIdOf(hashKey(C)) },
    ]);
    expect(snap.loadedAt).toBe(NOW);
    expect(snap.timeZone).toBe('Etc/UTC');
  });

  it('reads headers in any order and case, with extra columns, and ragged rows', () => {
    const header = ['Notes', 'Rate Limit', ' IS_ACTIVE', 'owner', 'Client_Name', 'API KEY', 'revoked_at'];
    const snap = build(
      [
        ['vip', 5, 'yes', 'ops', 'Acme', A],
        ['', '', 'TRUE', '', 'Bee', B],
        ['', '', false],
      ],
      header,
    );
    expect(snap.problems).toEqual([]);
    expect(snap.byHash.get(hashKey(A))).toMatchObject({ clientName: 'Acme', rateLimit: 5, active: true });
    expect(snap.byHash.get(hashKey(B))).toMatchObject({ clientName: 'Bee', rateLimit: 60, active: true });
  });

  it("reads dates in the table's time zone", () => {
    const header = ['api_key', 'client_name', 'is_active', 'expires_at'];
    const rows = [[A, 'Acme', true, 46022]];
    expect(build(rows, header, 'Europe/Paris').byHash.get(hashKey(A))?.expiresAt).toBe(Date.UTC(2025, 11, 31, 23) - 1);
    expect(build(rows, header, 'America/New_York').byHash.get(hashKey(A))?.expiresAt).toBe(Date.UTC(2026, 0, 1, 5) - 1);
  });

  it.each<[string, CellValue[][], [number, string][]]>([
    [
      'two plaintext rows',
      [
        [A, '', 'One', true, ''],
        [A, '', 'Two', true, ''],
      ],
      [
        [2, 'duplicate key (also on row 3)'],
        [3, 'duplicate key (also on row 2)'],
      ],
    ],
    [
      'plaintext and hashed',
      [
        [A, '', 'One', true, ''],
        ['', hashed(A), 'Two', true, ''],
      ],
      [
        [2, 'duplicate key (also on row 3)'],
        [3, 'duplicate key (also on row 2)'],
      ],
    ],
    [
      'two hashed rows',
      [
        ['', hashed(A), 'One', true, ''],
        ['', hashed(A).toUpperCase(), 'Two', true, ''],
      ],
      [
        [2, 'duplicate key (also on row 3)'],
        [3, 'duplicate key (also on row 2)'],
      ],
    ],
    [
      'a valid and an invalid row',
      [
        [A, '', 'One', true, ''],
        [A, '', 'Two', 'maybe', ''],
      ],
      [
        [2, 'duplicate key (also on row 3)'],
        [3, 'duplicate key (also on row 2); is_active: expected TRUE/FALSE, got "maybe"'],
      ],
    ],
    [
      'an invalid row first',
      [
        [A, '', 'One', true, 0],
        [A, '', 'Two', true, ''],
      ],
      [
        [2, 'duplicate key (also on row 3); rate_limit: expected a positive whole number, got "0"'],
        [3, 'duplicate key (also on row 2)'],
      ],
    ],
    [
      'three rows among others',
      [
        [A, '', 'One', true, ''],
        [B, '', 'Bee', true, ''],
        [A, '', 'Two', true, ''],
        [],
        ['', hashed(A), 'Three', false, ''],
      ],
      [
        [2, 'duplicate key (also on rows 4, 6)'],
        [4, 'duplicate key (also on rows 2, 6)'],
        [6, 'duplicate key (also on rows 2, 4)'],
      ],
    ],
  ])('refuses a key on several rows, on every one of them (%s)', (_name, rows, expected) => {
    const snap = build(rows);
    expect(snap.byHash.has(hashKey(A))).toBe(false);
    expect(reasons(snap)).toEqual(expected);
    expect(snap.problems.every((p) => p.keyId === keyIdOf(hashKey(A)))).toBe(true);
  });

  it('keeps the other keys when one is duplicated', () => {
    const snap = build([
      [A, '', 'One', true, ''],
      [B, '', 'Bee', true, ''],
      [A, '', 'Two', true, ''],
    ]);
    expect([...snap.byHash.keys()]).toEqual([hashKey(B)]);
  });

  it.each<[string, CellValue[][], CellValue[], string]>([
    ['no key column', [[A, 'Acme', true]], ['key', 'client_name', 'is_active'], 'no "api_key" (or "key_hash") column'],
    ['an empty tab', [], [], 'no "api_key" (or "key_hash") column; no "client_name" column; no "is_active" column'],
    [
      'a duplicated column',
      [[A, 'Acme', true, A]],
      ['api_key', 'client_name', 'is_active', 'API Key'],
      'column "api_key" appears twice (A, D)',
    ],
  ])('gives no keys and one row-1 problem for an unusable header (%s)', (_name, rows, header, reason) => {
    const snap = build(rows, header);
    expect(snap.byHash.size).toBe(0);
    expect(snap.problems).toEqual([{ row: 1, reason }]);
  });

  it('gives no keys and one row-1 problem for an unknown time zone', () => {
    const snap = build([[A, '', 'Acme', true, '']], HEADER, 'Mars/Olympus');
    expect(snap.byHash.size).toBe(0);
    expect(snap.problems).toEqual([
      { row: 1, reason: 'spreadsheet time zone "Mars/Olympus" is unknown (expected an IANA zone)' },
    ]);
  });

  it('is immutable: snapshot, problems, records and the key table', () => {
    const snap = build([
      [A, '', 'Acme', true, ''],
      [B, '', '', true, ''],
    ]);
    expect(Object.isFrozen(snap)).toBe(true);
    expect(Object.isFrozen(snap.problems)).toBe(true);
    expect(Object.isFrozen(snap.problems[0])).toBe(true);
    expect(Object.isFrozen(snap.byHash.get(hashKey(A)))).toBe(true);
    expect(Object.isFrozen(snap.byHash)).toBe(true);
    const table = snap.byHash as unknown as Record<string, unknown>;
    for (const method of ['set', 'delete', 'clear']) {
      expect(table[method]).toBeUndefined();
    }
    expect(() => {
      table['size'] = 5;
    }).toThrow(TypeError);
    expect(snap.byHash.size).toBe(1);
  });

  it('never puts a key in a problem or a preview', () => {
    const keys = [A, B, C, D];
    const snap = build([
      [A, '', '', true, ''],
      [B, '', 'B', B, ''],
      [C, '', 'C', true, C],
      [C, '', 'C', true, ''],
      [D, '', 'D', 'maybe', D],
      ['', hashed(A), 'A', A, ''],
      [D, hashed(B), 'D', true, ''],
      ['', A, 'A', true, ''],
    ]);
    expect(snap.problems.length).toBeGreaterThanOrEqual(7);
    const text = JSON.stringify(snap.problems) + JSON.stringify([...snap.byHash.values()]);
    for (const key of keys) {
      expect(text).not.toContain(key);
    }
  });

  it('masks a short key quoted in a refusal: a hashed row its own key among other text, or another row its key', () => {
    const own = 'k9-own'; // any non-empty string is a key: short ones are quoted unless recognised
    const other = 'k9-other';
    const snap = build([
      ['', hashed(own), 'Own', `yes ${own}`, ''],
      [other, '', 'Other', true, ''],
      [A, '', 'A', true, `${other}!`],
      [B, '', 'B', 'maybe', ''],
    ]);
    expect(reasons(snap)).toEqual([
      [2, 'is_active: expected TRUE/FALSE, got a key of this sheet'],
      [4, 'rate_limit: expected a positive whole number, got a key of this sheet'],
      [5, 'is_active: expected TRUE/FALSE, got "maybe"'], // no key in it: quoted as typed
    ]);
  });

  it('builds 100,000 rows with dates, every one of them (its speed is measured by bench/big-sheet.ts)', () => {
    const header = ['api_key', 'client_name', 'is_active', 'expires_at', 'created_at', 'rate_limit', 'scopes'];
    const rows = Array.from({ length: 100_000 }, (_, i) => [
      `sk-convergence-${i}`,
      `client ${i}`,
      true,
      46022 + (i % 365),
      '2025-01-15 10:00',
      100,
      'read write',
    ]);
    const snap = build(rows, header, 'Europe/Paris');
    expect(snap.byHash.size).toBe(100_000);
    expect(snap.problems).toEqual([]);
    // Data row 99,999 (sheet row 100,001): serial 46022 + 99999 % 365 = 46376 = 2026-12-20, valid through its last
    // millisecond in Paris (UTC+1).
    expect(snap.byHash.get(hashKey('sk-convergence-99999'))).toMatchObject({
      row: 100_001,
      clientName: 'client 99999',
      expiresAt: Date.UTC(2026, 11, 20, 23, 0, 0) - 1,
      createdAt: Date.UTC(2025, 0, 15, 9, 0),
      scopes: ['read', 'write'],
    });
  });
});
