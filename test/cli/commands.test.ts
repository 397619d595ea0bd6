/**
 * Every command against the Sheets emulator through the real googleapis client: argv in, sheet state and stdout out.
 * Commands are called directly with an injected output and clock.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { check } from '../../src/cli/check';
import { EXIT_OK, EXIT_SHEET, EXIT_USAGE } from '../../src/cli/context';
import { create } from '../../src/cli/create';
import { init } from '../../src/cli/init';
import { list } from '../../src/cli/list';
import type { ListedKey } from '../../src/cli/list';
import { revoke } from '../../src/cli/revoke';
import { rotate } from '../../src/cli/rotate';
import { epochToSerial } from '../../src/keys/dates';
import { COLUMNS } from '../../src/keys/header';
import { formatKeyHash, hashKey, keyIdOf } from '../../src/keys/key-id';
import { generateKey } from '../../src/cli/new-key';
import { cliHarness, rowObject } from './harness';
import type { CliHarness, RunResult } from './harness';

/** 2026-01-15 12:00:00 in Paris. */
const NOW = Date.UTC(2026, 0, 15, 11, 0, 0);
const HOUR = 3_600_000;
const PARIS = 'Europe/Paris';
const KEY_LINE = /^sk-convergence-[0-9a-f-]{36}$/m;
const HEADER = ['api_key', 'key_hash', 'client_name', 'expires_at', 'is_active', 'rate_limit', 'scopes'];

let h: CliHarness;
const secrets: string[] = [];

/** A key for a seeded row, remembered so the final check can prove no log line ever held one. */
function key(): string {
  const k = generateKey();
  secrets.push(k);
  return k;
}

/** The key `create`/`rotate` printed on its own line. */
function printedKey(result: RunResult): string {
  const k = KEY_LINE.exec(result.stdout)?.[0];
  expect(k).toBeDefined();
  secrets.push(k!);
  return k!;
}

function expectNoKey(text: string, keys: readonly string[]): void {
  for (const k of keys) {
    expect(text).not.toContain(k);
    expect(text).not.toContain(k.slice(15)); // the UUID part alone is the secret too
  }
}

const serial = (ms: number, zone = PARIS): number => epochToSerial(ms, zone);

beforeAll(async () => {
  h = await cliHarness();
});

afterEach(() => {
  h.emulator.clearFaults();
});

afterAll(async () => {
  expectNoKey(h.logs.text(), secrets);
  await h.close();
});

describe('init', () => {
  it('writes the header row to an empty tab', async () => {
    const id = h.seed([]);
    const result = await h.run(init, id, []);
    expect(result).toMatchObject({ code: EXIT_OK, stdout: 'Wrote the header row to tab "API_Keys".\n' });
    expect(h.values(id)).toEqual([[...COLUMNS]]);
  });

  it('succeeds without writing when the header is already there', async () => {
    const id = h.seed([[...COLUMNS]]);
    h.emulator.resetStats();
    const result = await h.run(init, id, ['--json']);
    expect(result.code).toBe(EXIT_OK);
    expect(JSON.parse(result.stdout)).toMatchObject({ initialized: false, tab: 'API_Keys' });
    expect(h.emulator.stats.writes).toBe(0);
  });

  it('refuses to overwrite a tab that has content (exit 1)', async () => {
    const rows = [['notes'], ['keep me']];
    const id = h.seed(rows);
    const result = await h.run(init, id, []);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stderr).toMatch(/not empty/);
    expect(h.values(id)).toEqual(rows);
  });

  it('exits 2 when the tab does not exist', async () => {
    const id = h.seed([], { tab: 'Other' });
    const result = await h.run(init, id, []);
    expect(result.code).toBe(EXIT_SHEET);
    expect(result.stderr).toMatch(/no tab "API_Keys".*GOOGLE_SHEET_NAME/);
  });
});

describe('create', () => {
  it('appends a row by header position, adds missing columns after the widest row, prints the key once', async () => {
    // Scrambled columns, and a stray unlabelled note in column E that must not become a new column's value.
    const old = key();
    const id = h.seed([
      ['notes', 'is_active', 'client_name', 'api_key'],
      ['first', 'TRUE', 'Old', old, 'stray note'],
    ]);
    const result = await h.run(
      create,
      id,
      ['--client', 'Acme', '--rate-limit', '7', '--scopes', 'audio:generate, admin', '--expires', '2026-12-31'],
      NOW,
    );
    expect(result.code).toBe(EXIT_OK);
    const k = printedKey(result);
    expect(result.stdout.split(k)).toHaveLength(2); // printed exactly once
    expect(result.stderr).toBe('Added column(s) created_at, rate_limit, scopes, expires_at to the header row.\n');

    const values = h.values(id);
    expect(values[0]).toEqual([
      'notes',
      'is_active',
      'client_name',
      'api_key',
      '',
      'created_at',
      'rate_limit',
      'scopes',
      'expires_at',
    ]);
    expect(values[1]).toEqual(['first', true, 'Old', old, 'stray note']);
    const row = rowObject(values, 3);
    expect(row).toMatchObject({
      notes: '',
      is_active: true,
      client_name: 'Acme',
      api_key: k,
      rate_limit: 7,
      scopes: 'audio:generate admin',
      expires_at: serial(Date.UTC(2026, 11, 31, 0, 0, 0), 'Etc/UTC'), // a bare date cell: valid through that day
    });
    expect(row['created_at']).toBeCloseTo(serial(NOW), 6); // a real date cell, in the sheet's zone
    expect(result.stdout).toContain(`row 3, id ${keyIdOf(hashKey(k))}`);
  });

  it('writes key and client name RAW: text that USER_ENTERED would turn into a formula, boolean or number stays text', async () => {
    const id = h.seed([HEADER]);
    for (const name of ['=1+1', 'TRUE', '00123', '2026-01-01']) {
      const result = await h.run(create, id, ['--client', name], NOW);
      expect(result.code).toBe(EXIT_OK);
      printedKey(result);
    }
    expect(
      h
        .values(id)
        .slice(1)
        .map((r) => r[2]),
    ).toEqual(['=1+1', 'TRUE', '00123', '2026-01-01']);
  });

  it('--json prints one parseable object with the key', async () => {
    const id = h.seed([HEADER]);
    const result = await h.run(create, id, ['--client', 'Bot', '--expires', '30d', '--json'], NOW);
    expect(result.code).toBe(EXIT_OK);
    const out = JSON.parse(result.stdout) as { key: string };
    secrets.push(out.key);
    expect(out).toEqual({
      key: expect.stringMatching(KEY_LINE),
      keyId: keyIdOf(hashKey(out.key)),
      row: 2,
      clientName: 'Bot',
      hashed: false,
      rateLimit: null,
      scopes: [],
      allowedIps: [],
      quota: null,
      createdAt: new Date(NOW).toISOString(),
      expiresAt: new Date(NOW + 30 * 24 * HOUR).toISOString(),
    });
    expect(rowObject(h.values(id), 2)['expires_at']).toBeCloseTo(serial(NOW + 30 * 24 * HOUR), 6);
  });

  it('--allowed-ips writes the canonical list (adding the column); the service then reads it back', async () => {
    const id = h.seed([HEADER]);
    const result = await h.run(
      create,
      id,
      ['--client', 'Office', '--allowed-ips', '203.0.113.7 10.0.0.0/8,2001:DB8::/32', '--json'],
      NOW,
    );
    expect(result.code).toBe(EXIT_OK);
    expect(result.stderr).toBe('Added column(s) created_at, allowed_ips to the header row.\n');
    const out = JSON.parse(result.stdout) as { key: string; allowedIps: string[] };
    secrets.push(out.key);
    expect(out.allowedIps).toEqual(['203.0.113.7', '10.0.0.0/8', '2001:db8::/32']);
    expect(rowObject(h.values(id), 2)['allowed_ips']).toBe('203.0.113.7, 10.0.0.0/8, 2001:db8::/32');
    const checked = await h.run(check, id, ['--json'], NOW);
    expect(JSON.parse(checked.stdout)).toMatchObject({ ok: true, keys: 1 });
  });

  it('refuses a bad --allowed-ips entry before any Sheets call (exit 1)', async () => {
    const id = h.seed([HEADER]);
    h.emulator.resetStats();
    const result = await h.run(create, id, ['--client', 'X', '--allowed-ips', '10.0.0.0/8, 10.0.0.300'], NOW);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stderr).toMatch(/--allowed-ips: "10\.0\.0\.300" is not an IP address or CIDR range/);
    expect(h.emulator.stats.reads).toBe(0);
    expect(h.emulator.stats.writes).toBe(0);
  });

  it('--quota writes the canonical cell (adding the column); check and the service read it back', async () => {
    const id = h.seed([HEADER]);
    const result = await h.run(create, id, ['--client', 'Metered', '--quota', ' 10000 / Day ', '--json'], NOW);
    expect(result.code).toBe(EXIT_OK);
    expect(result.stderr).toBe('Added column(s) created_at, quota to the header row.\n');
    const out = JSON.parse(result.stdout) as { key: string; quota: string };
    secrets.push(out.key);
    expect(out.quota).toBe('10000/day');
    expect(rowObject(h.values(id), 2)['quota']).toBe('10000/day');
    const checked = await h.run(check, id, ['--json'], NOW);
    expect(JSON.parse(checked.stdout)).toMatchObject({ ok: true, keys: 1 });
    const listed = JSON.parse((await h.run(list, id, ['--json'], NOW)).stdout) as { keys: ListedKey[] };
    expect(listed.keys[0]).toMatchObject({ quota: '10000/day', quotaUsed: 0 });
    const text = await h.run(create, id, ['--client', 'Monthly', '--quota', '250000/month'], NOW);
    printedKey(text);
    expect(text.stdout).toContain('quota 250000/month');
  });

  it.each(['10000', '0/day', '5/week', '1.5/day', '3 per month'])(
    'refuses --quota %j before any Sheets call (exit 1)',
    async (bad) => {
      const id = h.seed([HEADER]);
      h.emulator.resetStats();
      const result = await h.run(create, id, ['--client', 'X', '--quota', bad], NOW);
      expect(result.code).toBe(EXIT_USAGE);
      expect(result.stderr).toContain(
        `--quota ${JSON.stringify(bad)}: expected a whole number of requests per day or month`,
      );
      expect(h.emulator.stats.reads + h.emulator.stats.writes).toBe(0);
    },
  );

  it('--hash stores only key_hash (adding the column); api_key stays empty and the sheet never holds the key', async () => {
    const id = h.seed([['api_key', 'client_name', 'is_active']]);
    const result = await h.run(create, id, ['--client', 'Hashed', '--hash'], NOW);
    expect(result.code).toBe(EXIT_OK);
    const k = printedKey(result);
    expect(result.stdout).toContain('The sheet holds only its sha256 hash.');
    const row = rowObject(h.values(id), 2);
    expect(row).toMatchObject({ api_key: '', key_hash: formatKeyHash(hashKey(k)), client_name: 'Hashed' });
    expectNoKey(h.displayed(id), [k]);
  });

  it.each([
    [[], /--client NAME is required/],
    [['--client', '  '], /--client NAME is required/],
    [['--client', 'A', '--rate-limit', '0'], /--rate-limit "0"/],
    [['--client', 'A', '--rate-limit', '1.5'], /--rate-limit/],
    [['--client', 'A', '--expires', '2020-01-01'], /not in the future/],
    [['--client', 'A', '--expires', 'soon'], /--expires "soon"/],
    [['--client', 'A', '--bogus'], /Unknown option '--bogus'/],
    [['--client', 'A', 'extra'], /Unexpected argument 'extra'/],
    [['--client'], /argument missing/],
  ])('%j exits 1 before any Sheets call', async (argv, message) => {
    const id = h.seed([HEADER]);
    h.emulator.resetStats();
    const result = await h.run(create, id, argv, NOW);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(h.emulator.stats).toMatchObject({ reads: 0, writes: 0 });
  });

  it('exits 2 without printing the key when Sheets appends away from column A (an empty column A)', async () => {
    const id = h.seed([
      ['', 'api_key', 'client_name', 'is_active'],
      ['', key(), 'Old', 'TRUE'],
    ]);
    const result = await h.run(create, id, ['--client', 'Shifted'], NOW);
    expect(result.code).toBe(EXIT_SHEET);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/appended the new row at B3, not in column A.*delete row 3/s);
  });

  it('exits 1 on a tab without a header row', async () => {
    const result = await h.run(create, h.seed([]), ['--client', 'A'], NOW);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stderr).toMatch(/run `sheetgate init`/);
  });

  it('exits 2 and leaves the new row inactive when the dated write fails: an unseen key never works', async () => {
    const id = h.seed([HEADER]);
    h.emulator.fault({ method: 'values.batchUpdate', status: 500 });
    const result = await h.run(create, id, ['--client', 'Half'], NOW);
    expect(result.code).toBe(EXIT_SHEET);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/Row 2 was added but left inactive/);
    expect(rowObject(h.values(id), 2)).toMatchObject({ client_name: 'Half', is_active: false });
  });
});

describe('list', () => {
  it('shows every key masked, with state, limit, usage, last use, expiry and scopes; never a full key', async () => {
    const [active, inactive, expired, invalid, hashed] = [key(), key(), key(), key(), key()];
    const id = h.seed([
      [...HEADER, 'usage_count', 'last_used_at'],
      [active, '', 'Active', '', 'TRUE', '10', 'a b', 42, '2026-01-14 09:30:00'],
      [inactive, '', 'Inactive', '', 'FALSE', '', '', '', ''],
      [expired, '', 'Expired', '2026-01-01', 'TRUE', '', '', '', ''],
      [invalid, '', 'Invalid', '', 'maybe', '', '', '', ''],
      ['', formatKeyHash(hashKey(hashed)), 'Hashed', '2026-06-30 18:00', 'TRUE', '', '', '', ''],
    ]);
    const json = await h.run(list, id, ['--json'], NOW);
    expect(json.code).toBe(EXIT_OK);
    const parsed = JSON.parse(json.stdout) as { timeZone: string; keys: ListedKey[] };
    expect(parsed.timeZone).toBe(PARIS);
    expect(parsed.keys.map((k) => [k.row, k.clientName, k.state])).toEqual([
      [2, 'Active', 'active'],
      [3, 'Inactive', 'inactive'],
      [4, 'Expired', 'expired'],
      [5, 'Invalid', 'invalid'],
      [6, 'Hashed', 'active'],
    ]);
    expect(parsed.keys[0]).toEqual({
      row: 2,
      keyId: keyIdOf(hashKey(active)),
      preview: `sk-con…${active.slice(-4)}`,
      clientName: 'Active',
      state: 'active',
      reason: null,
      rateLimit: 10,
      quota: null,
      quotaUsed: null,
      usageCount: 42,
      lastUsedAt: new Date(Date.UTC(2026, 0, 14, 8, 30)).toISOString(),
      expiresAt: null,
      scopes: ['a', 'b'],
    });
    expect(parsed.keys[3]?.reason).toMatch(/is_active/);
    expect(parsed.keys[4]).toMatchObject({
      preview: `sha256:${hashKey(hashed).slice(0, 6)}…`,
      expiresAt: new Date(Date.UTC(2026, 5, 30, 16, 0)).toISOString(),
    });

    const text = await h.run(list, id, [], NOW);
    expect(text.code).toBe(EXIT_OK);
    expect(text.stdout).toMatch(
      /^ROW\s+ID\s+KEY\s+CLIENT\s+STATE\s+LIMIT\s+QUOTA\s+USAGE\s+LAST USED\s+EXPIRES\s+SCOPES$/m,
    );
    expect(text.stdout).toContain(`sk-con…${active.slice(-4)}`);
    expect(text.stdout).toMatch(/Active\s+active\s+10\/min\s+-\s+42\s+2026-01-14 09:30:00\s+never\s+a b/);
    expect(text.stdout).toMatch(/invalid: is_active/);
    expect(text.stdout).toContain('Times in Europe/Paris.');
    expectNoKey(json.stdout + text.stdout + json.stderr + text.stderr, [active, inactive, expired, invalid, hashed]);
  });

  it('shows each quota as used in the current period of the sheet zone, and its limit', async () => {
    const [today, stale, monthly, none, bad] = [key(), key(), key(), key(), key()];
    const id = h.seed([
      ['api_key', 'client_name', 'is_active', 'quota', 'quota_used', 'quota_period'],
      [today, 'Today', 'TRUE', '100/day', 37, "'2026-01-15"],
      [stale, 'Stale', 'TRUE', '100/day', 99, "'2026-01-14"], // yesterday's count: today starts at 0
      [monthly, 'Monthly', 'TRUE', '5000/month', 1234, "'2026-01"],
      [none, 'None', 'TRUE', '', '', ''],
      [bad, 'Bad', 'TRUE', '100/week', '', ''],
    ]);
    const json = JSON.parse((await h.run(list, id, ['--json'], NOW)).stdout) as { keys: ListedKey[] };
    expect(json.keys.map((k) => [k.clientName, k.quotaUsed, k.quota])).toEqual([
      ['Today', 37, '100/day'],
      ['Stale', 0, '100/day'],
      ['Monthly', 1234, '5000/month'],
      ['None', null, null],
      ['Bad', null, '100/week'],
    ]);
    const text = await h.run(list, id, [], NOW);
    expect(text.stdout).toMatch(/Today\s+active\s+60\/min\s+37 of 100\/day\s/);
    expect(text.stdout).toMatch(/Monthly\s+active\s+60\/min\s+1234 of 5000\/month\s/);
    expect(text.stdout).toMatch(/invalid: quota: expected N\/day or N\/month/);
    expectNoKey(text.stdout + text.stderr, [today, stale, monthly, none, bad]);
  });

  it('says so when there are no keys yet', async () => {
    const result = await h.run(list, h.seed([HEADER]), [], NOW);
    expect(result).toMatchObject({ code: EXIT_OK, stdout: 'No keys yet: `sheetgate create --client NAME`.\n' });
  });
});

describe('revoke', () => {
  function seedThree() {
    const keys = [key(), key(), key()];
    const id = h.seed([
      ['api_key', 'key_hash', 'client_name', 'is_active'],
      [keys[0]!, '', 'Alpha', 'TRUE'],
      ['', formatKeyHash(hashKey(keys[1]!)), 'Beta', 'TRUE'],
      [keys[2]!, '', 'Gamma', 'TRUE'],
    ]);
    return { id, keys };
  }

  it('by whole key: is_active FALSE and revoked_at (column added) as a date cell in the sheet zone', async () => {
    const { id, keys } = seedThree();
    const result = await h.run(revoke, id, [keys[0]!], NOW);
    expect(result.code).toBe(EXIT_OK);
    expect(result.stdout).toBe(
      `Revoked sk-con…${keys[0]!.slice(-4)} "Alpha" (row 2) at 2026-01-15 12:00:00 Europe/Paris.\n`,
    );
    expect(result.stderr).toBe('Added column(s) revoked_at to the header row.\n');
    const values = h.values(id);
    expect(rowObject(values, 2)).toMatchObject({ is_active: false, revoked_at: serial(NOW) });
    expect(rowObject(values, 3)).toMatchObject({ is_active: true, revoked_at: '' });
    expect(rowObject(values, 4)).toMatchObject({ is_active: true, revoked_at: '' });
  });

  it('by the key id that list shows (hashed row), and by row number', async () => {
    const { id, keys } = seedThree();
    const byId = await h.run(revoke, id, [keyIdOf(hashKey(keys[1]!)).slice(0, 8), '--json'], NOW);
    expect(byId.code).toBe(EXIT_OK);
    expect(JSON.parse(byId.stdout)).toEqual({
      revoked: [
        {
          row: 3,
          keyId: keyIdOf(hashKey(keys[1]!)),
          preview: `sha256:${hashKey(keys[1]!).slice(0, 6)}…`,
          clientName: 'Beta',
        },
      ],
      alreadyRevoked: [],
      revokedAt: new Date(NOW).toISOString(),
    });
    expect((await h.run(revoke, id, ['4'], NOW)).code).toBe(EXIT_OK);
    expect(h.values(id).map((r) => r[3])).toEqual(['is_active', true, false, false]);
  });

  it('leaves an already revoked key alone', async () => {
    const { id, keys } = seedThree();
    await h.run(revoke, id, [keys[2]!], NOW);
    h.emulator.resetStats();
    const again = await h.run(revoke, id, [keys[2]!], NOW + HOUR);
    expect(again.code).toBe(EXIT_OK);
    expect(again.stdout).toMatch(/was already revoked/);
    expect(h.emulator.stats.writes).toBe(0);
    expect(rowObject(h.values(id), 4)['revoked_at']).toBe(serial(NOW));
  });

  it('revokes a key on every row it appears on (a duplicate)', async () => {
    const k = key();
    const id = h.seed([
      ['api_key', 'key_hash', 'client_name', 'is_active', 'revoked_at'],
      [k, '', 'Dup', 'TRUE'],
      ['', formatKeyHash(hashKey(k)), 'Dup again', 'TRUE'],
    ]);
    const result = await h.run(revoke, id, [k], NOW);
    expect(result.code).toBe(EXIT_OK);
    expect(result.stderr).toBe('');
    expect(
      h
        .values(id)
        .slice(1)
        .map((r) => r[3]),
    ).toEqual([false, false]);
  });

  it.each([
    ['sk-convergence-', /matches 2 keys/],
    ['sk-convergence-00000000-0000-4000-8000-000000000000', /no key matches sk-con…0000/],
    ['1', /row 1 is the header row/],
    ['99', /row 99 is empty/],
    ['abcdef', /no key matches "abcdef"/],
  ])('%j exits 1 without writing, and never echoes a key', async (input, message) => {
    const { id, keys } = seedThree();
    h.emulator.resetStats();
    const result = await h.run(revoke, id, [input], NOW);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stderr).toMatch(message);
    expect(h.emulator.stats.writes).toBe(0);
    expectNoKey(result.stdout + result.stderr, keys);
  });

  it('needs exactly one KEY|ID|ROW', async () => {
    const { id } = seedThree();
    expect((await h.run(revoke, id, [], NOW)).stderr).toMatch(/missing KEY, ID or ROW/);
    expect((await h.run(revoke, id, ['2', '3'], NOW)).code).toBe(EXIT_USAGE);
  });
});

describe('rotate', () => {
  it('creates a successor with the same client, limit and scopes; the old key expires at now + grace', async () => {
    const old = key();
    const id = h.seed([
      ['api_key', 'client_name', 'is_active', 'rate_limit', 'scopes'],
      [old, 'Acme', 'TRUE', '5', 'audio:generate'],
    ]);
    const result = await h.run(rotate, id, [keyIdOf(hashKey(old)), '--grace', '24h', '--json'], NOW);
    expect(result.code).toBe(EXIT_OK);
    expect(result.stderr).toBe('Added column(s) created_at, expires_at to the header row.\n');
    const out = JSON.parse(result.stdout) as { key: string };
    secrets.push(out.key);
    expect(out).toMatchObject({
      key: expect.stringMatching(KEY_LINE),
      row: 3,
      clientName: 'Acme',
      hashed: false,
      rateLimit: 5,
      scopes: ['audio:generate'],
      expiresAt: null,
      replaced: { row: 2, keyId: keyIdOf(hashKey(old)), expiresAt: new Date(NOW + 24 * HOUR).toISOString() },
    });
    const values = h.values(id);
    expect(rowObject(values, 2)).toMatchObject({ api_key: old, is_active: true, expires_at: serial(NOW + 24 * HOUR) });
    expect(rowObject(values, 3)).toMatchObject({
      api_key: out.key,
      client_name: 'Acme',
      is_active: true,
      rate_limit: 5,
      scopes: 'audio:generate',
      expires_at: '',
    });
  });

  it('gives the successor the same allowed_ips: rotating never loosens an address restriction', async () => {
    const old = key();
    const id = h.seed([
      ['api_key', 'client_name', 'is_active', 'allowed_ips'],
      [old, 'Office', 'TRUE', '10.0.0.0/8 ::ffff:192.0.2.1'],
    ]);
    const result = await h.run(rotate, id, [old, '--json'], NOW);
    expect(result.code).toBe(EXIT_OK);
    const out = JSON.parse(result.stdout) as { key: string; allowedIps: string[] };
    secrets.push(out.key);
    expect(out.allowedIps).toEqual(['10.0.0.0/8', '192.0.2.1']);
    expect(rowObject(h.values(id), 3)).toMatchObject({ api_key: out.key, allowed_ips: '10.0.0.0/8, 192.0.2.1' });
  });

  it('gives the successor the same quota, its own quota_used starting empty', async () => {
    const old = key();
    const id = h.seed([
      ['api_key', 'client_name', 'is_active', 'quota', 'quota_used', 'quota_period'],
      [old, 'Metered', 'TRUE', '500/month', 120, "'2026-01"],
    ]);
    const result = await h.run(rotate, id, [old, '--json'], NOW);
    expect(result.code).toBe(EXIT_OK);
    const out = JSON.parse(result.stdout) as { key: string; quota: string };
    secrets.push(out.key);
    expect(out.quota).toBe('500/month');
    const row = rowObject(h.values(id), 3);
    expect(row).toMatchObject({ api_key: out.key, quota: '500/month' });
    expect(row['quota_used'] ?? '').toBe('');
  });

  it('never extends an old key that expires before the grace ends; the successor inherits that expiry', async () => {
    const old = key();
    const id = h.seed([
      ['api_key', 'client_name', 'is_active', 'expires_at', 'rate_limit'],
      [old, 'Soon', 'TRUE', '2026-01-15 18:00', ''],
    ]);
    const result = await h.run(rotate, id, [old, '--grace', '7d'], NOW);
    expect(result.code).toBe(EXIT_OK);
    printedKey(result);
    expect(result.stdout).toMatch(/works until 2026-01-15 18:00:00 Europe\/Paris/);
    const values = h.values(id);
    expect(rowObject(values, 2)['expires_at']).toBeCloseTo(serial(Date.UTC(2026, 0, 15, 17)), 6);
    expect(rowObject(values, 3)['expires_at']).toBeCloseTo(serial(Date.UTC(2026, 0, 15, 17)), 6);
    expect(rowObject(values, 3)['rate_limit']).toBe(''); // an empty limit stays empty (follows DEFAULT_RATE_LIMIT)
  });

  it('gives a hashed key a hashed successor', async () => {
    const old = key();
    const id = h.seed([
      ['api_key', 'key_hash', 'client_name', 'is_active', 'expires_at'],
      ['', formatKeyHash(hashKey(old)), 'Hidden', 'TRUE', ''],
    ]);
    const result = await h.run(rotate, id, [old], NOW);
    expect(result.code).toBe(EXIT_OK);
    const k = printedKey(result);
    expect(rowObject(h.values(id), 3)).toMatchObject({ api_key: '', key_hash: formatKeyHash(hashKey(k)) });
    expect(rowObject(h.values(id), 2)['expires_at']).toBe(serial(NOW + 24 * HOUR)); // default grace 24h
    expectNoKey(h.displayed(id), [k, old]);
  });

  it.each([
    ['an inactive key', 'FALSE', '', /inactive: rotating would bring it back/],
    ['an expired key', 'TRUE', '2026-01-01', /has expired/],
    ['an invalid row', 'maybe', '', /not a usable key \(is_active/],
  ])('refuses %s (exit 1, nothing written)', async (_name, active, expires, message) => {
    const old = key();
    const id = h.seed([
      ['api_key', 'client_name', 'is_active', 'expires_at'],
      [old, 'X', active, expires],
    ]);
    h.emulator.resetStats();
    const result = await h.run(rotate, id, [old], NOW);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stderr).toMatch(message);
    expect(h.emulator.stats.writes).toBe(0);
  });

  it('refuses a bad --grace before any Sheets call', async () => {
    const id = h.seed([HEADER]);
    h.emulator.resetStats();
    const result = await h.run(rotate, id, ['abc123', '--grace', 'a while'], NOW);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stderr).toMatch(/--grace "a while"/);
    expect(h.emulator.stats.reads).toBe(0);
  });
});

describe('check', () => {
  it('finds each kind of bad row, with its number and reason, and exits 1', async () => {
    const [good, boolKey, dateKey, limitKey, nameKey, dup] = [key(), key(), key(), key(), key(), key()];
    const id = h.seed([
      HEADER,
      [good, '', 'Good', '', 'TRUE', '', ''],
      [boolKey, '', 'Bool', '', 'maybe', '', ''],
      [dateKey, '', 'Date', 'someday', 'TRUE', '', ''],
      [limitKey, '', 'Limit', '', 'TRUE', 'lots', ''],
      [nameKey, '', '', '', 'TRUE', '', ''],
      ['', 'sha256:xyz', 'BadHash', '', 'TRUE', '', ''],
      ['', '', 'NoKey', '', 'TRUE', '', ''],
      [dup, '', 'Dup', '', 'TRUE', '', ''],
      ['', formatKeyHash(hashKey(dup)), 'Dup hashed', '', 'TRUE', '', ''],
    ]);
    const json = await h.run(check, id, ['--json'], NOW);
    expect(json.code).toBe(EXIT_USAGE);
    const out = JSON.parse(json.stdout) as { ok: boolean; keys: number; problems: { row: number; reason: string }[] };
    expect(out.ok).toBe(false);
    expect(out.keys).toBe(1);
    expect(out.problems.map((p) => [p.row, p.reason])).toEqual([
      [3, 'is_active: expected TRUE/FALSE, got "maybe"'],
      [4, 'expires_at: not a date: "someday"'],
      [5, 'rate_limit: expected a positive whole number, got "lots"'],
      [6, 'client_name is empty'],
      [7, 'key_hash: expected sha256:<64 hex digits>'],
      [8, 'no api_key or key_hash'],
      [9, 'duplicate key (also on row 10)'],
      [10, 'duplicate key (also on row 9)'],
    ]);

    const text = await h.run(check, id, [], NOW);
    expect(text.code).toBe(EXIT_USAGE);
    expect(text.stdout).toMatch(/^row 3: is_active: expected TRUE\/FALSE, got "maybe" \(key id [0-9a-f]{16}\)$/m);
    expect(text.stdout).toMatch(/^8 problem row\(s\); 1 usable key\(s\)\.$/m);
    expectNoKey(json.stdout + text.stdout, [good, boolKey, dateKey, limitKey, nameKey, dup]);
  });

  it.each([
    ['an unusable header', [['api_key', 'is_active']], /^row 1: no "client_name" column$/m],
    ['no header at all', [], /^row 1: no header row/m],
  ])('reports %s as row 1 (exit 1)', async (_name, rows, message) => {
    const result = await h.run(check, h.seed(rows), [], NOW);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stdout).toMatch(message);
  });

  it('reports an allowed_ips entry that is not an address or range, with the row number (exit 1)', async () => {
    const bad = key();
    const id = h.seed([
      ['api_key', 'client_name', 'is_active', 'allowed_ips'],
      [key(), 'Fine', 'TRUE', '10.0.0.0/8, ::1'],
      [bad, 'Typo', 'TRUE', '10.0.0.0/8, 192.168.1.0/33'],
    ]);
    const result = await h.run(check, id, [], NOW);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stdout).toMatch(
      /^row 3: allowed_ips: not an IP address or CIDR range: "192\.168\.1\.0\/33" \(key id [0-9a-f]{16}\)$/m,
    );
    expect(result.stdout).toMatch(/^1 problem row\(s\); 1 usable key\(s\)\.$/m);
  });

  it('reports a quota cell that is not N/day or N/month, with the row number (exit 1)', async () => {
    const id = h.seed([
      ['api_key', 'client_name', 'is_active', 'quota'],
      [key(), 'Fine', 'TRUE', '250000/month'],
      [key(), 'Weekly', 'TRUE', '1000/week'],
    ]);
    const result = await h.run(check, id, [], NOW);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stdout).toMatch(
      /^row 3: quota: expected N\/day or N\/month, got "1000\/week" \(key id [0-9a-f]{16}\)$/m,
    );
    expect(result.stdout).toMatch(/^1 problem row\(s\); 1 usable key\(s\)\.$/m);
  });

  it('exits 0 on a clean sheet', async () => {
    const id = h.seed([HEADER, [key(), '', 'Fine', '', 'TRUE', '', '']]);
    const result = await h.run(check, id, [], NOW);
    expect(result).toMatchObject({ code: EXIT_OK, stdout: 'OK: 1 usable key(s), no problem rows.\n' });
  });
});
