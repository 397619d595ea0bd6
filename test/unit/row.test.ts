import { mapHeader } from '../../src/keys/header';
import { formatKeyHash, hashKey } from '../../src/keys/key-id';
import { parseRow } from '../../src/keys/row';
import type { CellValue } from '../../src/keys/types';

const KEY = 'sk-convergence-0f0f0f0f-0000-4000-8000-00000000abcd';
const ctx = { timeZone: 'Etc/UTC', defaultRateLimit: 60 };
const HEADER = [
  'api_key',
  'client_name',
  'created_at',
  'expires_at',
  'is_active',
  'rate_limit',
  'scopes',
  'usage_count',
];
const { columns } = mapHeader(HEADER);

function row(overrides: Partial<Record<string, CellValue>>): CellValue[] {
  const base: Record<string, CellValue> = { api_key: KEY, client_name: 'Acme', is_active: true };
  const merged = { ...base, ...overrides };
  return HEADER.map((h) => merged[h] ?? '');
}

function parse(cells: CellValue[]) {
  return parseRow(cells, columns, 7, ctx);
}

describe('mapHeader', () => {
  it('matches names case-insensitively, trimmed, in any order, ignoring unknown columns', () => {
    const result = mapHeader(['Notes', ' IS_ACTIVE ', 'Client Name', 'API Key', 'owner', 'Rate-Limit']);
    expect(result.problems).toEqual([]);
    expect(result.columns).toEqual({ is_active: 1, client_name: 2, api_key: 3, rate_limit: 5 });
  });

  it.each([
    [['client_name', 'is_active'], /no "api_key"/],
    [['api_key', 'is_active'], /no "client_name"/],
    [['api_key', 'client_name'], /no "is_active"/],
    [['api_key', 'API_KEY', 'client_name', 'is_active'], /"api_key" appears twice/],
  ])('refuses %j', (header, problem) => {
    expect(mapHeader(header).problems.join(' ')).toMatch(problem);
  });
});

describe('parseRow', () => {
  it('parses a full row', () => {
    const result = parse(
      row({ rate_limit: 10, scopes: 'read, write  read', usage_count: 5, expires_at: '2030-01-01' }),
    );
    expect(result).toEqual({
      kind: 'key',
      record: expect.objectContaining({
        hash: hashKey(KEY),
        keyId: hashKey(KEY).slice(0, 16),
        preview: 'sk-con…abcd',
        clientName: 'Acme',
        active: true,
        rateLimit: 10,
        scopes: ['read', 'write'],
        usageCount: 5,
        row: 7,
        expiresAt: Date.UTC(2030, 0, 1, 23, 59, 59, 999),
      }),
    });
  });

  it.each([
    [true, true],
    [false, false],
    ['TRUE', true],
    ['true', true],
    ['Yes', true],
    ['YES', true],
    ['1', true],
    [1, true],
    ['FALSE', false],
    ['no', false],
    ['0', false],
    [0, false],
    ['', false],
    ['  ', false],
  ])('is_active %p → %p', (cell, active) => {
    const result = parse(row({ is_active: cell }));
    expect(result.kind === 'key' && result.record.active).toBe(active);
  });

  it.each([
    ['', 60],
    [5, 5],
    ['25', 25],
    [' 7 ', 7],
  ])('rate_limit %p → %p', (cell, limit) => {
    const result = parse(row({ rate_limit: cell }));
    expect(result.kind === 'key' && result.record.rateLimit).toBe(limit);
  });

  it.each([
    ['missing client_name', { client_name: '  ' }, /client_name is empty/],
    ['bad boolean', { is_active: 'maybe' }, /is_active: expected TRUE\/FALSE, got "maybe"/],
    ['boolean number 2', { is_active: 2 }, /is_active/],
    ['zero limit', { rate_limit: 0 }, /rate_limit/],
    ['negative limit', { rate_limit: -5 }, /rate_limit/],
    ['fractional limit', { rate_limit: 1.5 }, /rate_limit/],
    ['text limit', { rate_limit: 'lots' }, /rate_limit: expected a positive whole number, got "lots"/],
    ['bad date', { expires_at: 'someday' }, /expires_at: not a date/],
    ['boolean date', { expires_at: true }, /expires_at/],
  ])('refuses %s with the row number and without the key', (_name, overrides, reason) => {
    const result = parse(row(overrides));
    expect(result.kind).toBe('refused');
    if (result.kind === 'refused') {
      expect(result.problem.row).toBe(7);
      expect(result.problem.reason).toMatch(reason);
      expect(JSON.stringify(result.problem)).not.toContain(KEY);
      expect(result.hash).toBe(hashKey(KEY));
    }
  });

  it('ignores an unreadable created_at (informational) and an unreadable usage_count', () => {
    const result = parse(row({ created_at: 'long ago', usage_count: 'n/a' }));
    expect(result.kind === 'key' && result.record.createdAt).toBeUndefined();
    expect(result.kind === 'key' && result.record.usageCount).toBe(0);
  });

  it('skips blank rows, including ragged and whitespace-only ones', () => {
    expect(parse([])).toEqual({ kind: 'blank' });
    expect(parse(['', '  ', ''])).toEqual({ kind: 'blank' });
  });

  it('refuses a row with data but no key', () => {
    expect(parse(row({ api_key: '' }))).toMatchObject({
      kind: 'refused',
      problem: { reason: 'no api_key or key_hash' },
    });
  });

  it('reads a ragged row shorter than the header', () => {
    const result = parse([KEY, 'Acme', '', '', 'TRUE']);
    expect(result.kind).toBe('key');
  });

  it('accepts a number cell as a key and trims text keys', () => {
    expect(parse(row({ api_key: 12345 }))).toMatchObject({ kind: 'key', record: { hash: hashKey('12345') } });
    expect(parse(row({ api_key: `  ${KEY} ` }))).toMatchObject({ kind: 'key', record: { hash: hashKey(KEY) } });
  });

  describe('hashed rows', () => {
    const hashed = mapHeader(['api_key', 'key_hash', 'client_name', 'is_active']).columns;
    const parseHashed = (cells: CellValue[]) => parseRow(cells, hashed, 3, ctx);

    it('indexes a key_hash row by its hash with a hash preview', () => {
      const result = parseHashed([
        '',
        formatKeyHash(hashKey(KEY)).toUpperCase().replace('SHA256', 'sha256'),
        'Acme',
        true,
      ]);
      expect(result).toMatchObject({
        kind: 'key',
        record: { hash: hashKey(KEY), preview: `sha256:${hashKey(KEY).slice(0, 6)}…` },
      });
    });

    it('accepts api_key and key_hash when they agree, refuses when they do not', () => {
      expect(parseHashed([KEY, formatKeyHash(hashKey(KEY)), 'Acme', true]).kind).toBe('key');
      expect(parseHashed([KEY, formatKeyHash(hashKey('other')), 'Acme', true])).toMatchObject({
        kind: 'refused',
        problem: { reason: 'api_key and key_hash disagree' },
      });
    });

    it('refuses a malformed key_hash', () => {
      expect(parseHashed(['', 'sha256:xyz', 'Acme', true])).toMatchObject({
        kind: 'refused',
        problem: { reason: /key_hash/ },
      });
    });
  });
});
