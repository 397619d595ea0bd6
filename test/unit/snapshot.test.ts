import { formatKeyHash, hashKey } from '../../src/keys/key-id';
import { buildSnapshot } from '../../src/keys/snapshot';
import type { CellValue } from '../../src/keys/types';

const A = 'sk-convergence-aaaaaaaa-0000-4000-8000-000000000001';
const B = 'sk-convergence-bbbbbbbb-0000-4000-8000-000000000002';
const C = 'sk-convergence-cccccccc-0000-4000-8000-000000000003';
const HEADER = ['api_key', 'key_hash', 'client_name', 'is_active', 'rate_limit'];
const NOW = Date.UTC(2026, 0, 1);

function build(rows: CellValue[][], header: CellValue[] = HEADER) {
  return buildSnapshot({ timeZone: 'Etc/UTC', rows: [header, ...rows] }, { defaultRateLimit: 60 }, NOW);
}

describe('buildSnapshot', () => {
  it('indexes usable keys by hash and reports refused rows by row number', () => {
    const snap = build([[A, '', 'Acme', true, ''], [], [B, '', '', true, ''], [C, '', 'Cee', 'maybe', '']]);
    expect([...snap.byHash.keys()]).toEqual([hashKey(A)]);
    expect(snap.problems.map((p) => p.row)).toEqual([4, 5]);
    expect(snap.loadedAt).toBe(NOW);
    expect(snap.timeZone).toBe('Etc/UTC');
    expect(Object.isFrozen(snap)).toBe(true);
  });

  it.each([
    [
      'two plaintext rows',
      [
        [A, '', 'One', true, ''],
        [A, '', 'Two', true, ''],
      ],
      [2, 3],
    ],
    [
      'plaintext and hashed',
      [
        [A, '', 'One', true, ''],
        ['', formatKeyHash(hashKey(A)), 'Two', true, ''],
      ],
      [2, 3],
    ],
    [
      'valid and invalid row',
      [
        [A, '', 'One', true, ''],
        [A, '', 'Two', 'maybe', ''],
      ],
      [2, 3],
    ],
    [
      'three rows',
      [
        [A, '', 'One', true, ''],
        [B, '', 'B', true, ''],
        [A, '', 'Two', true, ''],
        [A, '', 'Three', false, ''],
      ],
      [2, 4, 5],
    ],
  ])('refuses a duplicated key on every row (%s)', (_name, rows, dupRows) => {
    const snap = build(rows);
    expect(snap.byHash.has(hashKey(A))).toBe(false);
    const dup = snap.problems.filter((p) => p.reason.startsWith('duplicate key'));
    expect(dup.map((p) => p.row)).toEqual(dupRows);
    expect(dup[0]?.reason).toMatch(/also on row \d/);
  });

  it('gives no keys and one row-1 problem when the header is unusable', () => {
    const snap = build([[A, 'Acme', true]], ['key', 'name', 'active']);
    expect(snap.byHash.size).toBe(0);
    expect(snap.problems).toEqual([{ row: 1, reason: expect.stringMatching(/no "api_key"/) }]);
  });

  it('handles an empty tab', () => {
    expect(buildSnapshot({ timeZone: 'Etc/UTC', rows: [] }, { defaultRateLimit: 60 }, NOW).problems[0]?.row).toBe(1);
  });

  it('never puts a key in a problem or preview', () => {
    const keys = [A, B, C];
    const snap = build([
      [A, '', '', true, ''],
      [B, '', 'B', 'x', ''],
      [C, '', 'C', true, 'y'],
      [C, '', 'C', true, ''],
    ]);
    const text = JSON.stringify(snap.problems) + JSON.stringify([...snap.byHash.values()].map((r) => r.preview));
    for (const k of keys) {
      expect(text).not.toContain(k);
    }
  });

  it('builds 100,000 rows', () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => [`sk-convergence-${i}`, '', `client ${i}`, true, 100]);
    const snap = build(rows);
    expect(snap.byHash.size).toBe(100_000);
  });
});
