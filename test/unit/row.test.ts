import { mapHeader } from '../../src/keys/header';
import { formatKeyHash, hashKey, keyIdOf } from '../../src/keys/key-id';
import { parseRow } from '../../src/keys/row';
import type { RowResult } from '../../src/keys/row';
import type { CellValue } from '../../src/keys/types';

const KEY = 'sk-convergence-0f0f0f0f-0000-4000-8000-00000000abcd';
const HASH = hashKey(KEY);
const ctx = { timeZone: 'Europe/Paris', defaultRateLimit: 60 };
const BAD_IP = 'allowed_ips: not an IP address or CIDR range: ';
const HEADER = [
  'api_key',
  'key_hash',
  'client_name',
  'created_at',
  'expires_at',
  'is_active',
  'rate_limit',
  'scopes',
  'allowed_ips',
  'usage_count',
];
const { columns } = mapHeader(HEADER);

/** A row of HEADER's columns: a valid key by default, with `overrides` by column name. */
function row(overrides: Partial<Record<string, CellValue>> = {}): CellValue[] {
  const merged: Record<string, CellValue> = { api_key: KEY, client_name: 'Acme', is_active: true, ...overrides };
  return HEADER.map((h) => merged[h] ?? '');
}

const parse = (cells: readonly CellValue[]): RowResult => parseRow(cells, columns, 7, ctx);

function record(cells: readonly CellValue[]) {
  const result = parse(cells);
  if (result.kind !== 'key') {
    throw new Error(`expected a key, got ${JSON.stringify(result)}`);
  }
  return result.record;
}

function refusal(cells: readonly CellValue[]) {
  const result = parse(cells);
  if (result.kind !== 'refused') {
    throw new Error(`expected a refusal, got ${result.kind}`);
  }
  return result;
}

describe('parseRow: a full row', () => {
  it('reads every column', () => {
    const r = record(
      row({
        api_key: `  ${KEY} `,
        client_name: '  Acme Corp ',
        created_at: '2025-01-15 09:30',
        expires_at: '2030-01-01',
        rate_limit: 10,
        scopes: 'read, write  read',
        allowed_ips: '10.0.0.0/8, ::ffff:192.0.2.1 2001:DB8::/32',
        usage_count: 5,
      }),
    );
    expect(r).toEqual({
      hash: HASH,
      keyId: keyIdOf(HASH),
      preview: 'sk-con…abcd',
      clientName: 'Acme Corp',
      createdAt: Date.parse('2025-01-15T08:30:00Z'),
      expiresAt: Date.parse('2030-01-01T22:59:59.999Z'),
      active: true,
      rateLimit: 10,
      scopes: ['read', 'write'],
      allowedIps: ['10.0.0.0/8', '192.0.2.1', '2001:db8::/32'],
      row: 7,
      usageCount: 5,
      quota: undefined,
      quotaUsed: 0,
      quotaPeriod: '',
    });
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r.scopes)).toBe(true);
    expect(Object.isFrozen(r.allowedIps)).toBe(true);
  });

  it('reads a ragged row shorter than the header (trailing cells omitted by the API)', () => {
    const r = record([KEY, '', 'Acme', '', '', 'TRUE']);
    expect(r).toMatchObject({ rateLimit: 60, expiresAt: undefined, createdAt: undefined, scopes: [], usageCount: 0 });
  });

  it('takes a number cell as a key, in its string form', () => {
    expect(record(row({ api_key: 12345 })).hash).toBe(hashKey('12345'));
  });
});

describe('parseRow: each column', () => {
  it.each<[CellValue, boolean]>([
    [true, true],
    [false, false],
    ['TRUE', true],
    ['true', true],
    ['True', true],
    [' true ', true],
    ['YES', true],
    ['yes', true],
    ['Yes', true],
    ['1', true],
    [1, true],
    ['FALSE', false],
    ['false', false],
    ['False', false],
    ['NO', false],
    ['no', false],
    ['0', false],
    [0, false],
    ['', false],
    ['  ', false],
  ])('is_active %p → %p', (cell, active) => {
    expect(record(row({ is_active: cell })).active).toBe(active);
  });

  it.each<[CellValue, number]>([
    ['', 60],
    ['  ', 60],
    [1, 1],
    [5, 5],
    [1_000_000, 1_000_000],
    ['25', 25],
    [' 7 ', 7],
  ])('rate_limit %p → %p', (cell, limit) => {
    expect(record(row({ rate_limit: cell })).rateLimit).toBe(limit);
  });

  it.each<[CellValue, readonly string[]]>([
    ['', []],
    ['read', ['read']],
    ['read write', ['read', 'write']],
    ['read, write  read', ['read', 'write']],
    ['a,b,,c,', ['a', 'b', 'c']],
    [' read\twrite\nadmin ', ['read', 'write', 'admin']],
    [5, ['5']],
  ])('scopes %p → %j', (cell, scopes) => {
    expect(record(row({ scopes: cell })).scopes).toEqual(scopes);
  });

  it.each<[CellValue, readonly string[]]>([
    ['', []],
    ['  ', []],
    ['203.0.113.7', ['203.0.113.7']],
    ['203.0.113.7, 10.0.0.0/8, 2001:db8::/32', ['203.0.113.7', '10.0.0.0/8', '2001:db8::/32']],
    ['10.0.0.0/8,10.0.0.0/8 10.0.0.0/8', ['10.0.0.0/8']],
    ['10.1.2.3/8', ['10.1.2.3/8']],
    ['0.0.0.0/0 ::/0', ['0.0.0.0/0', '::/0']],
    ['10.0.0.1/32', ['10.0.0.1']],
    ['2001:0DB8:0000::0001', ['2001:db8::1']],
    ['::ffff:10.0.0.0/104', ['10.0.0.0/8']],
    ['::ffff:127.0.0.1', ['127.0.0.1']],
    ['::ffff:0:0/95', ['::ffff:0:0/95']],
  ])('allowed_ips %p → %j', (cell, entries) => {
    expect(record(row({ allowed_ips: cell })).allowedIps).toEqual(entries);
  });

  it.each<[CellValue, number]>([
    ['', 0],
    [0, 0],
    [5, 5],
    ['12', 12],
    ['n/a', 0],
    [-3, 0],
    [1.5, 0],
    ['0x10', 0],
    ['1e3', 0],
    [true, 0],
  ])('usage_count %p → %p (ours: never a refusal)', (cell, count) => {
    expect(record(row({ usage_count: cell })).usageCount).toBe(count);
  });

  it.each<[CellValue, string | undefined]>([
    ['', undefined],
    ['2030-01-01', '2030-01-01T22:59:59.999Z'],
    ['2030-01-01 12:00', '2030-01-01T11:00:00Z'],
    ['2030-01-01T12:00:00+05:30', '2030-01-01T06:30:00Z'],
    [47484, '2030-01-01T22:59:59.999Z'],
  ])('expires_at %p → %p (a bare date lasts through that day)', (cell, expected) => {
    expect(record(row({ expires_at: cell })).expiresAt).toBe(expected === undefined ? undefined : Date.parse(expected));
  });

  it.each<[CellValue, string | undefined]>([
    ['', undefined],
    ['2025-01-15', '2025-01-14T23:00:00Z'],
    [45672.5, '2025-01-15T11:00:00Z'],
    ['long ago', undefined],
    [true, undefined],
  ])('created_at %p → %p (informational: unreadable is ignored)', (cell, expected) => {
    expect(record(row({ created_at: cell })).createdAt).toBe(expected === undefined ? undefined : Date.parse(expected));
  });

  it.each<[CellValue, string]>([
    ['  Acme Corp ', 'Acme Corp'],
    [42, '42'],
  ])('client_name %p → %p', (cell, name) => {
    expect(record(row({ client_name: cell })).clientName).toBe(name);
  });
});

describe('parseRow: blank rows', () => {
  it.each<[string, CellValue[]]>([
    ['empty (ragged to nothing)', []],
    ['empty strings', ['', '', '']],
    ['whitespace', ['  ', '\t', ' ']],
    ['only unchecked checkboxes', ['', '', '', '', '', false]],
  ])('%s', (_name, cells) => {
    expect(parse(cells)).toEqual({ kind: 'blank' });
  });
});

describe('parseRow: refusals', () => {
  it.each<[string, Partial<Record<string, CellValue>>, string]>([
    ['empty client_name', { client_name: '  ' }, 'client_name is empty'],
    ['is_active maybe', { is_active: 'maybe' }, 'is_active: expected TRUE/FALSE, got "maybe"'],
    ['is_active y', { is_active: 'y' }, 'is_active: expected TRUE/FALSE, got "y"'],
    ['is_active on', { is_active: 'on' }, 'is_active: expected TRUE/FALSE, got "on"'],
    ['is_active 2', { is_active: 2 }, 'is_active: expected TRUE/FALSE, got "2"'],
    ['is_active -1', { is_active: -1 }, 'is_active: expected TRUE/FALSE, got "-1"'],
    ['is_active 0.5', { is_active: 0.5 }, 'is_active: expected TRUE/FALSE, got "0.5"'],
    ['rate_limit 0', { rate_limit: 0 }, 'rate_limit: expected a positive whole number, got "0"'],
    ['rate_limit "0"', { rate_limit: '0' }, 'rate_limit: expected a positive whole number, got "0"'],
    ['rate_limit -5', { rate_limit: -5 }, 'rate_limit: expected a positive whole number, got "-5"'],
    ['rate_limit 1.5', { rate_limit: 1.5 }, 'rate_limit: expected a positive whole number, got "1.5"'],
    ['rate_limit "1.5"', { rate_limit: '1.5' }, 'rate_limit: expected a positive whole number, got "1.5"'],
    ['rate_limit lots', { rate_limit: 'lots' }, 'rate_limit: expected a positive whole number, got "lots"'],
    ['rate_limit 1,000', { rate_limit: '1,000' }, 'rate_limit: expected a positive whole number, got "1,000"'],
    ['rate_limit TRUE', { rate_limit: true }, 'rate_limit: expected a positive whole number, got "true"'],
    [
      'rate_limit 2^53',
      { rate_limit: 2 ** 53 },
      'rate_limit: expected a positive whole number, got "9007199254740992"',
    ],
    ['expires_at someday', { expires_at: 'someday' }, 'expires_at: not a date: "someday"'],
    ['expires_at day-first', { expires_at: '31/12/2025' }, 'expires_at: not a date: "31/12/2025"'],
    ['expires_at impossible', { expires_at: '2025-02-30' }, 'expires_at: not a date: "2025-02-30"'],
    ['expires_at TRUE', { expires_at: true }, 'expires_at: not a date: "true"'],
    ['malformed key_hash', { key_hash: 'sha256:xyz' }, 'key_hash: expected sha256:<64 hex digits>'],
    ['key_hash of another key', { key_hash: formatKeyHash(hashKey('other')) }, 'api_key and key_hash disagree'],
    ['allowed_ips out of range', { allowed_ips: '10.0.0.0/8, 10.0.0.300' }, `${BAD_IP}"10.0.0.300"`],
    ['allowed_ips prefix too long', { allowed_ips: '10.0.0.0/33' }, `${BAD_IP}"10.0.0.0/33"`],
    ['allowed_ips IPv6 prefix too long', { allowed_ips: '::1/129' }, `${BAD_IP}"::1/129"`],
    ['allowed_ips short IPv4', { allowed_ips: '10' }, `${BAD_IP}"10"`],
    ['allowed_ips octal IPv4', { allowed_ips: '010.0.0.1' }, `${BAD_IP}"010.0.0.1"`],
    ['allowed_ips a name', { allowed_ips: 'office.example.com' }, `${BAD_IP}"office.example.com"`],
    ['allowed_ips a range', { allowed_ips: '10.0.0.1-10.0.0.9' }, `${BAD_IP}"10.0.0.1-10.0.0.9"`],
    ['allowed_ips two slashes', { allowed_ips: '10.0.0.0/8/8' }, `${BAD_IP}"10.0.0.0/8/8"`],
    ['allowed_ips empty prefix', { allowed_ips: '10.0.0.0/' }, `${BAD_IP}"10.0.0.0/"`],
    ['allowed_ips zone id', { allowed_ips: 'fe80::1%eth0' }, `${BAD_IP}"fe80::1%eth0"`],
    ['allowed_ips TRUE', { allowed_ips: true }, `${BAD_IP}"true"`],
  ])('%s, with the row number and key id', (_name, overrides, reason) => {
    const result = refusal(row(overrides));
    expect(result).toMatchObject({ kind: 'refused', hash: HASH });
    expect(result.problem).toEqual({ row: 7, reason, keyId: keyIdOf(HASH) });
    // The cell the reason quotes as typed, for buildSnapshot's check against every key of the sheet.
    const quoted = /(?:got|not a date:|CIDR range:) "(.*)"$/.exec(reason);
    expect(result.quoted).toBe(quoted === null ? undefined : quoted[1]);
  });

  it.each<[string, Partial<Record<string, CellValue>>, string]>([
    ['no key cell but other data', { api_key: '' }, 'no api_key or key_hash'],
    ['a TRUE/FALSE api_key cell', { api_key: true }, 'api_key: expected text, got a TRUE/FALSE cell'],
    ['malformed key_hash alone', { api_key: '', key_hash: 'sha256:xyz' }, 'key_hash: expected sha256:<64 hex digits>'],
    ['raw key in key_hash', { api_key: '', key_hash: KEY }, 'key_hash: expected sha256:<64 hex digits>'],
  ])('%s: refused without a key id', (_name, overrides, reason) => {
    expect(refusal(row(overrides))).toEqual({ kind: 'refused', problem: { row: 7, reason } });
  });
});

describe('parseRow: hashed rows', () => {
  it.each([
    ['lower-case', formatKeyHash(HASH)],
    ['upper-case', formatKeyHash(HASH).toUpperCase()],
    ['padded', `  ${formatKeyHash(HASH)} `],
  ])('indexes a key_hash row (%s) by its hash, with a hash preview', (_name, cell) => {
    expect(record(row({ api_key: '', key_hash: cell }))).toMatchObject({
      hash: HASH,
      keyId: keyIdOf(HASH),
      preview: `sha256:${HASH.slice(0, 6)}…`,
    });
  });

  it('accepts api_key and key_hash together when they agree', () => {
    expect(record(row({ key_hash: formatKeyHash(HASH) }))).toMatchObject({ hash: HASH, preview: 'sk-con…abcd' });
  });
});

describe('parseRow: reasons never show a key', () => {
  const SHORT = 'tiny-key';
  const keys = [KEY, SHORT, 'sk-convergence-11111111-2222-4333-8444-555555555555'];
  const misplaced: [string, CellValue[]][] = [
    ['own key in is_active', row({ is_active: KEY })],
    ['own key in rate_limit', row({ rate_limit: `${KEY} ` })],
    ['own key in expires_at', row({ expires_at: KEY })],
    ['own key among allowed_ips', row({ allowed_ips: `10.0.0.0/8, ${KEY}` })],
    ['short key in allowed_ips', row({ api_key: SHORT, allowed_ips: SHORT })],
    ['short key in is_active', row({ api_key: SHORT, is_active: SHORT })],
    ['short key inside text', row({ api_key: SHORT, rate_limit: `x ${SHORT}` })],
    ['hashed row, raw key in is_active', row({ api_key: '', key_hash: formatKeyHash(HASH), is_active: KEY })],
    ["another row's key", row({ is_active: keys[2] })],
  ];

  it.each(misplaced)('%s', (_name, cells) => {
    const result = parse(cells);
    const shown = result.kind === 'refused' ? result.problem.reason : '';
    expect(shown).toMatch(/^(is_active|rate_limit|expires_at|allowed_ips): .*(this row's key|a \d+-character value)/);
    for (const key of keys) {
      expect(JSON.stringify(result.kind === 'refused' ? result.problem : result)).not.toContain(key);
    }
  });

  it('masks a short key in its preview', () => {
    expect(record(row({ api_key: SHORT })).preview).toBe('…(8 chars)');
  });
});

describe('mapHeader', () => {
  it('matches names case-insensitively and trimmed, in any order, ignoring unknown columns', () => {
    const result = mapHeader(['Notes', ' IS_ACTIVE ', 'Client Name', 'API Key', 'owner', 'Rate-Limit', 42, true]);
    expect(result).toEqual({ columns: { is_active: 1, client_name: 2, api_key: 3, rate_limit: 5 }, problems: [] });
  });

  it.each([
    ['API Key', 'api_key'],
    ['api_key', 'api_key'],
    ['Key Hash', 'key_hash'],
    ['CLIENT_NAME', 'client_name'],
    ['Is  Active', 'is_active'],
    ['Last-Used-At', 'last_used_at'],
    ['usage count', 'usage_count'],
    ['Expires_At', 'expires_at'],
  ])('%p is %p', (name, column) => {
    expect(mapHeader([name, 'api_key', 'client_name', 'is_active']).columns).toHaveProperty(column);
  });

  it.each(['apikey', 'key', 'client', 'active', 'api.key'])('%p is not a known column', (name) => {
    expect(Object.keys(mapHeader([name]).columns)).toEqual([]);
  });

  it.each<[CellValue[], string[]]>([
    [['client_name', 'is_active'], ['no "api_key" (or "key_hash") column']],
    [['api_key', 'is_active'], ['no "client_name" column']],
    [['api_key', 'client_name'], ['no "is_active" column']],
    [[], ['no "api_key" (or "key_hash") column', 'no "client_name" column', 'no "is_active" column']],
    [['api_key', 'client_name', 'is_active', 'API Key'], ['column "api_key" appears twice (A, D)']],
    [['api_key', 'client_name', 'is_active', 'Api_Key', 'API-KEY'], ['column "api_key" appears twice (A, D, E)']],
  ])('refuses %j', (header, problems) => {
    expect(mapHeader(header).problems).toEqual(problems);
  });

  it('accepts key_hash without api_key', () => {
    expect(mapHeader(['key_hash', 'client_name', 'is_active']).problems).toEqual([]);
  });
});
