import fc from 'fast-check';
import { COLUMNS, mapHeader } from '../../src/keys/header';
import { formatKeyHash, hashKey, keyIdOf } from '../../src/keys/key-id';
import { parseRow } from '../../src/keys/row';
import { buildSnapshot } from '../../src/keys/snapshot';
import type { CellValue, KeyRecord, Snapshot } from '../../src/keys/types';

// Hostile input: whatever an admin (or a script) puts in the sheet, the row parser and the snapshot answer
// with a key, a refusal or nothing — never an exception — and never accept a row docs/sheet.md says to refuse.

const NOW = Date.UTC(2026, 0, 1);
const ZONES = ['Etc/UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham'];
const zone = fc.constantFrom(...ZONES);

/** Any code point, lone surrogate halves included (Sheets can hand back anything a script wrote). */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const anyChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('\0', ' ', '\t', '\n', '\u00a0', '\ufeff', ',', '"', '\\', 'é', '鍵', '🔑') },
  { weight: 1, arbitrary: loneSurrogate },
);
const hostileText = fc.string({ unit: anyChar, maxLength: 40 });
/** Forms the parser gives meaning to, with surrounding noise sometimes. */
const meaningfulText = fc.constantFrom(
  '',
  '   ',
  'TRUE',
  'true',
  ' Yes ',
  'no',
  'FALSE',
  '1',
  '0',
  '01',
  '2',
  '-1',
  '1.5',
  '1e3',
  '00123',
  ' 42 ',
  '9007199254740993',
  'maybe',
  '2025-12-31',
  '2025-12-31 23:59:59',
  '2025-12-31T23:59:59.999Z',
  '2025-02-30',
  '12/31/2025 11:59 PM',
  '03/04/2025',
  '31/12/2025',
  '2025-03-30 02:30',
  '9999-12-31',
  '1899-12-30',
  'read, write  admin',
  'sha256:',
  `sha256:${'A'.repeat(64)}`,
  `SHA256:${'f'.repeat(64)}`,
  `sha256:${'g'.repeat(64)}`,
);
const hugeText = fc
  .tuple(fc.constantFrom('x', '1', ' ', '\0', '鍵', 'TRUE'), fc.integer({ min: 1_000, max: 200_000 }))
  .map(([s, n]) => s.repeat(n));
const anyNumber = fc.oneof(
  fc.double(), // NaN, ±Infinity, -0, subnormals included
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.constantFrom(0, 1, -1, 0.5, 1.5, 60, 2 ** 53, 2 ** 53 + 2, Number.MAX_VALUE, 46_022, 46_022.999_99, 2_958_466),
  fc.double({ min: 1, max: 3_000_000, noNaN: true }), // date-serial-ish
);
const anyCell: fc.Arbitrary<CellValue> = fc.oneof(
  { weight: 4, arbitrary: hostileText },
  { weight: 4, arbitrary: meaningfulText },
  { weight: 1, arbitrary: hugeText },
  { weight: 3, arbitrary: anyNumber },
  { weight: 2, arbitrary: fc.boolean() },
);

/** A key distinctive enough that no fixed phrase of a reason can contain it by chance, wrapped in hostile noise. */
const distinctKey = fc
  .tuple(
    hostileText,
    fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: 16, maxLength: 16 }),
  )
  .map(([noise, marker]) => `${noise}K${marker}`.trim())
  .filter((k) => k.length >= 17);

/** Header cells as an admin might type them: any case, padding, spaces or dashes for underscores. */
const headerName = fc.tuple(fc.constantFrom(...COLUMNS), fc.boolean(), fc.boolean()).map(([name, upper, spaced]) => {
  const n = spaced ? name.replace(/_/g, ' ') : name;
  return upper ? ` ${n.toUpperCase()} ` : n;
});
/** Known columns in any order, some missing or repeated, mixed with unknown ones. */
const anyHeader = fc.array(fc.oneof(headerName, headerName, hostileText, anyNumber, fc.boolean()), { maxLength: 14 });
/** A usable header: the required columns, then any others, shuffled. */
const usableHeader = fc
  .tuple(
    fc.subarray(['key_hash', 'created_at', 'expires_at', 'rate_limit', 'scopes', 'usage_count', 'last_used_at']),
    fc.array(fc.constantFrom('notes', 'owner', 'revoked at', ''), { maxLength: 3 }),
    fc.boolean(),
  )
  .chain(([optional, extra, hashOnly]) =>
    fc.shuffledSubarray(
      [
        ...(hashOnly ? [] : ['api_key']),
        ...(hashOnly ? ['key_hash'] : []),
        'client_name',
        'is_active',
        ...optional,
        ...extra,
      ],
      { minLength: 3 + optional.length + extra.length },
    ),
  )
  .map((h) => [...new Set(h)]);

const ragged = (width: number) => fc.array(anyCell, { maxLength: width + 3 });

/** A value that makes sense in `column`, so that rows get past the first check often enough to test the later ones. */
function plausible(column: string): fc.Arbitrary<CellValue> {
  switch (
    column
      .trim()
      .toLowerCase()
      .replace(/[\s-]+/g, '_')
  ) {
    case 'api_key':
      return distinctKey;
    case 'key_hash':
      return fc.constantFrom('', formatKeyHash(hashKey('sk-other')));
    case 'client_name':
      return hostileText.filter((t) => t.trim() !== '');
    case 'is_active':
      return fc.constantFrom(true, false, 'TRUE', ' yes', 'No', 1, 0, '');
    case 'rate_limit':
      return fc.constantFrom('', 1, 42, ' 1000 ', 2 ** 53 - 1);
    case 'expires_at':
    case 'created_at':
      return fc.constantFrom('', 46_022, 46_022.5, '2030-01-01', '2030-01-01T10:00:00+05:30', '12/31/2030 11:59 PM');
    case 'scopes':
      return fc.constantFrom('', 'read', 'read, write read', ' admin\twrite ');
    default:
      return anyCell;
  }
}

/** A row under `header`: each cell hostile or plausible for its column, then cut short or padded (ragged). */
const rowFor = (header: readonly CellValue[]): fc.Arbitrary<CellValue[]> =>
  fc
    .tuple(
      fc.tuple(...header.map((h) => fc.oneof(anyCell, plausible(String(h)), plausible(String(h))))),
      fc.integer({ min: 0, max: header.length }),
      fc.array(anyCell, { maxLength: 2 }),
    )
    .map(([cells, cut, extra]) => (cut < header.length ? cells.slice(0, cut) : [...cells, ...extra]));

function text(cell: CellValue | undefined): string {
  return typeof cell === 'string' ? cell.trim() : cell === undefined ? '' : String(cell);
}

function isBlankRow(cells: readonly CellValue[]): boolean {
  return cells.every((c) => c === false || (typeof c === 'string' && c.trim() === ''));
}

function isTrueForm(cell: CellValue | undefined): boolean {
  return (
    cell === true || cell === 1 || (typeof cell === 'string' && ['true', 'yes', '1'].includes(text(cell).toLowerCase()))
  );
}

function isFalseForm(cell: CellValue | undefined): boolean {
  return (
    cell === undefined ||
    cell === false ||
    cell === 0 ||
    (typeof cell === 'string' && ['', 'false', 'no', '0'].includes(text(cell).toLowerCase()))
  );
}

/** `rate_limit` values the sheet format accepts: empty, or a positive whole number (cell or digits). */
function acceptableLimit(cell: CellValue | undefined): boolean {
  if (cell === undefined || (typeof cell === 'string' && cell.trim() === '')) {
    return true;
  }
  const n = typeof cell === 'number' ? cell : typeof cell === 'string' && /^\s*\d+\s*$/.test(cell) ? Number(cell) : NaN;
  return Number.isSafeInteger(n) && n > 0;
}

/** The invariants of every record, whatever row it came from. */
function checkRecord(record: KeyRecord, cellOf: (name: string) => CellValue | undefined, defaultLimit: number): void {
  expect(record.hash).toMatch(/^[0-9a-f]{64}$/);
  expect(record.keyId).toBe(keyIdOf(record.hash));
  expect(record.clientName).not.toBe('');
  expect(record.clientName).toBe(text(cellOf('client_name')));
  expect(Number.isSafeInteger(record.rateLimit) && record.rateLimit > 0).toBe(true);
  if (text(cellOf('rate_limit')) === '') {
    expect(record.rateLimit).toBe(defaultLimit);
  }
  expect(record.active ? isTrueForm(cellOf('is_active')) : isFalseForm(cellOf('is_active'))).toBe(true);
  if (record.expiresAt !== undefined) {
    expect(Number.isFinite(record.expiresAt)).toBe(true);
  } else {
    expect(text(cellOf('expires_at'))).toBe('');
  }
  for (const scope of record.scopes) {
    expect(scope).toMatch(/^[^\s,]+$/);
  }
  expect(new Set(record.scopes).size).toBe(record.scopes.length);
  expect(Number.isSafeInteger(record.usageCount) && record.usageCount >= 0).toBe(true);
  expect(Object.isFrozen(record)).toBe(true);
}

describe('parseRow properties', () => {
  it('never throws, and every record it accepts is well-formed', () => {
    const headerAndCells = usableHeader.chain((header) => fc.tuple(fc.constant(header), rowFor(header)));
    fc.assert(
      fc.property(
        headerAndCells,
        fc.integer({ min: 2, max: 1_000_000 }),
        zone,
        fc.integer({ min: 1, max: 10_000 }),
        ([header, cells], rowNo, tz, limit) => {
          const { columns } = mapHeader(header);
          const result = parseRow(cells, columns, rowNo, { timeZone: tz, defaultRateLimit: limit });
          const cellOf = (name: string): CellValue | undefined => {
            const i = columns[name as keyof typeof columns];
            return i === undefined ? undefined : cells[i];
          };
          switch (result.kind) {
            case 'blank':
              expect(isBlankRow(cells)).toBe(true);
              break;
            case 'key':
              expect(result.record.row).toBe(rowNo);
              checkRecord(result.record, cellOf, limit);
              break;
            case 'refused':
              expect(result.problem.row).toBe(rowNo);
              expect(result.problem.reason).not.toBe('');
              break;
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('refuses what the sheet format says to refuse', () => {
    const { columns } = mapHeader(['api_key', 'client_name', 'is_active', 'rate_limit', 'expires_at']);
    // Each cell plausible or hostile, so that one bad cell in an otherwise good row is common.
    const cell = (column: string): fc.Arbitrary<CellValue> => fc.oneof(plausible(column), plausible(column), anyCell);
    const cells = fc.tuple(
      cell('api_key'),
      cell('client_name'),
      cell('is_active'),
      cell('rate_limit'),
      cell('expires_at'),
    );
    fc.assert(
      fc.property(cells, zone, ([key, name, active, limit, expires], tz) => {
        const result = parseRow([key, name, active, limit, expires], columns, 2, {
          timeZone: tz,
          defaultRateLimit: 60,
        });
        const mustRefuse =
          typeof key === 'boolean' ||
          text(name) === '' ||
          !(isTrueForm(active) || isFalseForm(active)) ||
          !acceptableLimit(limit) ||
          typeof expires === 'boolean' ||
          (typeof expires === 'number' && !Number.isFinite(expires)) ||
          (typeof expires === 'string' && expires.trim() !== '' && !/\d{4}/.test(expires));
        if (mustRefuse) {
          expect(result.kind).not.toBe('key');
        }
      }),
      { numRuns: 5000 },
    );
  });

  it("never puts the row's key in a refusal reason, wherever else the key is pasted", () => {
    const header = ['api_key', 'key_hash', 'client_name', 'is_active', 'rate_limit', 'expires_at', 'scopes'];
    const { columns } = mapHeader(header);
    /**
     * Other cells: hostile values, or the key pasted into a wrong column, alone or with text around it. In a
     * `key_hash`-only row the parser cannot know the key, so it only recognises an exact paste: there, a key inside
     * other text must be over 24 characters, the length above which every shown cell is masked (row.ts SHOWN_MAX).
     */
    const around = (key: string, hashOnly: boolean): fc.Arbitrary<CellValue> =>
      fc.oneof(
        anyCell,
        fc.constant(key),
        fc
          .tuple(hostileText, hostileText)
          .map(([a, b]) => `${a}${key}${b}`)
          .filter((t) => !hashOnly || t.trim().length > 24),
        fc.constant(` ${key.slice(0, 20)} `),
      );
    const rowWithKey = fc
      .tuple(distinctKey, fc.boolean())
      .chain(([key, hashOnly]) =>
        fc.tuple(
          fc.constant(key),
          fc.constant(hashOnly),
          fc.constantFrom('', formatKeyHash(hashKey(key)), 'sha256:0'),
          fc.array(around(key, hashOnly), { minLength: 5, maxLength: 5 }),
        ),
      );
    fc.assert(
      fc.property(rowWithKey, ([key, hashOnly, hashCell, rest]) => {
        const cells: CellValue[] = hashOnly ? ['', formatKeyHash(hashKey(key)), ...rest] : [key, hashCell, ...rest];
        const result = parseRow(cells, columns, 9, { timeZone: 'Europe/Paris', defaultRateLimit: 60 });
        if (result.kind === 'refused') {
          expect(result.problem.reason).not.toContain(key);
          if (result.problem.keyId !== undefined) {
            expect(result.problem.keyId).toBe(keyIdOf(hashKey(key)));
          }
        }
        if (result.kind === 'key') {
          expect(result.record.preview).not.toContain(key);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

/** A table: any header (usable or not), ragged rows of hostile cells, and some keys repeated on several rows. */
const anyTable = fc
  .tuple(fc.oneof(usableHeader, anyHeader), fc.array(distinctKey, { minLength: 1, maxLength: 6 }))
  .chain(([header, keys]) =>
    fc.tuple(
      fc.constant(header),
      fc.constant(keys),
      fc.array(
        fc.tuple(
          fc.oneof(ragged(header.length), rowFor(header)),
          fc.option(fc.constantFrom(...keys), { nil: undefined }),
          fc.boolean(),
          fc.boolean(),
        ),
        { maxLength: 25 },
      ),
    ),
  )
  .map(([header, keys, specs]) => {
    const { columns } = mapHeader(header);
    const rows = specs.map(([cells, key, hashed, valid]) => {
      const row = [...cells];
      const put = (col: number | undefined, value: CellValue): void => {
        if (col !== undefined) {
          while (row.length <= col) {
            row.push('');
          }
          row[col] = value;
        }
      };
      if (key !== undefined) {
        // The same key on several rows, as plain text (padded differently) or as its hash.
        if (hashed || columns.api_key === undefined) {
          put(columns.api_key, '');
          put(columns.key_hash, formatKeyHash(hashKey(key)));
        } else {
          put(columns.api_key, ` ${key}\t`);
          put(columns.key_hash, '');
        }
        if (valid) {
          put(columns.client_name, 'Client');
          put(columns.is_active, true);
          put(columns.rate_limit, '');
          put(columns.expires_at, '');
        }
      }
      return row;
    });
    return { header, rows, keys };
  });

function checkSnapshot(snap: Snapshot, rows: readonly (readonly CellValue[])[]): void {
  const recordRows = [...snap.byHash.values()].map((r) => r.row);
  const problemRows = snap.problems.map((p) => p.row);
  // Every non-blank data row is exactly one record or exactly one problem (one problem per row, in row order).
  expect(new Set([...recordRows, ...problemRows]).size).toBe(recordRows.length + problemRows.length);
  expect([...problemRows].sort((a, b) => a - b)).toEqual(problemRows);
  for (const [hash, record] of snap.byHash) {
    expect(record.hash).toBe(hash);
  }
  if (snap.problems.some((p) => p.row === 1)) {
    expect(snap.byHash.size).toBe(0);
    expect(snap.problems).toHaveLength(1);
    return;
  }
  const nonBlank = rows.flatMap((cells, i) => (isBlankRow(cells) ? [] : [i + 2]));
  expect([...recordRows, ...problemRows].sort((a, b) => a - b)).toEqual(nonBlank);
}

describe('buildSnapshot properties', () => {
  it('never throws, whatever the header, rows or time zone', () => {
    fc.assert(
      fc.property(anyTable, fc.oneof(zone, hostileText), ({ header, rows }, tz) => {
        const snap = buildSnapshot({ timeZone: tz, rows: [header, ...rows] }, { defaultRateLimit: 60 }, NOW);
        expect(snap.loadedAt).toBe(NOW);
        expect(Object.isFrozen(snap)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('accounts for every row once, and never lets a key that appears twice into byHash', () => {
    fc.assert(
      fc.property(anyTable, zone, ({ header, rows, keys }, tz) => {
        const snap = buildSnapshot({ timeZone: tz, rows: [header, ...rows] }, { defaultRateLimit: 60 }, NOW);
        checkSnapshot(snap, rows);
        const { columns, problems } = mapHeader(header);
        if (problems.length > 0) {
          return;
        }
        for (const key of keys) {
          const hash = hashKey(key);
          const on = rows.flatMap((cells, i) => {
            const plain = columns.api_key === undefined ? '' : text(cells[columns.api_key]);
            const stored = columns.key_hash === undefined ? '' : text(cells[columns.key_hash]);
            return plain === key || stored === formatKeyHash(hash) ? [i + 2] : [];
          });
          if (on.length > 1) {
            expect(snap.byHash.has(hash)).toBe(false);
            for (const row of on) {
              expect(snap.problems.find((p) => p.row === row)?.reason).toMatch(/duplicate key/);
            }
          }
        }
        for (const p of snap.problems) {
          for (const key of keys) {
            expect(p.reason).not.toContain(key);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('never quotes a key of the sheet in a refusal, short keys pasted into any cell of any row included', () => {
    // Short keys (any non-empty string is a key), distinctive enough that no fixed phrase contains one.
    const shortKey = fc
      .string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: 7, maxLength: 12 })
      .map((hex) => `K${hex}`);
    const header = ['api_key', 'key_hash', 'client_name', 'is_active', 'rate_limit', 'expires_at'];
    const table = fc.uniqueArray(shortKey, { minLength: 1, maxLength: 4 }).chain((keys) => {
      const pasted = fc
        .tuple(
          fc.constantFrom(...keys),
          fc.constantFrom('', ' ', 'x', 'yes ', '1,'),
          fc.constantFrom('', ' ', '!', ' no'),
        )
        .map(([key, before, after]) => `${before}${key}${after}`);
      const cell = fc.oneof(anyCell, pasted);
      const row = fc
        .tuple(fc.constantFrom(...keys), fc.boolean(), fc.array(cell, { minLength: 4, maxLength: 4 }))
        .map(([key, hashed, rest]): CellValue[] => [
          ...(hashed ? ['', formatKeyHash(hashKey(key))] : [key, '']),
          ...rest,
        ]);
      return fc.tuple(fc.constant(keys), fc.array(row, { minLength: 1, maxLength: 8 }));
    });
    fc.assert(
      fc.property(table, ([keys, rows]) => {
        const snap = buildSnapshot({ timeZone: 'Etc/UTC', rows: [header, ...rows] }, { defaultRateLimit: 60 }, NOW);
        const shown = JSON.stringify(snap.problems);
        // Keys some row holds (a pasted string that is no row's key is just text, and may be quoted).
        const ofTheSheet = keys.filter((k) => rows.some((r) => r[0] === k || r[1] === formatKeyHash(hashKey(k))));
        for (const key of ofTheSheet) {
          expect(shown).not.toContain(key);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
