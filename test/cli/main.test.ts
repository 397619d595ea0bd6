/**
 * `main`: argv dispatch, global flags, configuration from the environment and `.env`, exit codes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HELP, main } from '../../src/cli/index';
import type { ListedKey } from '../../src/cli/list';
import { generateKey } from '../../src/cli/new-key';
import { bufferOutput, cliHarness } from './harness';
import type { CliHarness } from './harness';

let h: CliHarness;
const HEADER = ['api_key', 'client_name', 'is_active', 'rate_limit'];

beforeAll(async () => {
  h = await cliHarness();
});

afterAll(() => h.close());

describe('help and dispatch', () => {
  it('--help prints the commands and exit codes on stdout (exit 0); no command prints it on stderr (exit 1)', async () => {
    expect(await h.main(['--help'], {})).toEqual({ code: 0, stdout: HELP, stderr: '' });
    expect(await h.main([], {})).toEqual({ code: 1, stdout: '', stderr: HELP });
    for (const name of ['init', 'create', 'list', 'revoke', 'rotate', 'check']) {
      expect(HELP).toMatch(new RegExp(`^  ${name} `, 'm'));
    }
  });

  it.each(['init', 'create', 'list', 'revoke', 'rotate', 'check'])(
    '%s --help works with no configuration and makes no Sheets call',
    async (command) => {
      h.emulator.resetStats();
      for (const flag of ['--help', '-h']) {
        const result = await h.main([command, flag], { GOOGLE_CREDENTIALS_PATH: '', GOOGLE_SHEETS_ROOT_URL: '' });
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(new RegExp(`^Usage: sheetgate ${command}`));
      }
      expect(h.emulator.stats).toMatchObject({ reads: 0, writes: 0 });
    },
  );

  it('an unknown command exits 1', async () => {
    const result = await h.main(['delete', 'everything'], {});
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/unknown command "delete"/);
  });
});

describe('configuration', () => {
  function sheetWithKey(tab = 'API_Keys', limit = ''): string {
    return h.seed([HEADER, [generateKey(), 'Client', 'TRUE', limit]], { tab });
  }

  it('--sheet-id and --tab override GOOGLE_SHEET_ID and GOOGLE_SHEET_NAME, before or after the command', async () => {
    const envSheet = sheetWithKey();
    const flagSheet = sheetWithKey('Keys', '9');
    const env = { GOOGLE_SHEET_ID: envSheet, GOOGLE_SHEET_NAME: 'API_Keys' };
    for (const argv of [
      ['list', '--json', '--sheet-id', flagSheet, '--tab', 'Keys'],
      ['--sheet-id', flagSheet, '--tab=Keys', 'list', '--json'],
      [`--sheet-id=${flagSheet}`, 'list', '--tab', 'Keys', '--json'],
    ]) {
      const result = await h.main(argv, env);
      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as { keys: ListedKey[] }).keys[0]?.rateLimit).toBe(9);
    }
    const fromEnv = await h.main(['list', '--json'], env);
    expect((JSON.parse(fromEnv.stdout) as { keys: ListedKey[] }).keys[0]?.rateLimit).toBe(60);
  });

  it('uses DEFAULT_RATE_LIMIT for empty rate_limit cells, as the service does', async () => {
    const result = await h.main(['list', '--json', '--sheet-id', sheetWithKey()], { DEFAULT_RATE_LIMIT: '17' });
    expect((JSON.parse(result.stdout) as { keys: ListedKey[] }).keys[0]?.rateLimit).toBe(17);
  });

  it('reads .env under the real environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sheetgate-cli-'));
    const dotenvPath = join(dir, '.env');
    writeFileSync(dotenvPath, `GOOGLE_SHEET_ID=${sheetWithKey('Tab', '3')}\nGOOGLE_SHEET_NAME=Tab\n`);
    const out = bufferOutput();
    const code = await main(['list', '--json'], { env: h.env(), out, dotenvPath });
    expect(code).toBe(0);
    expect((JSON.parse(out.stdout()) as { keys: ListedKey[] }).keys[0]?.rateLimit).toBe(3);
  });

  it.each([
    ['no spreadsheet', {}, ['list'], /set GOOGLE_SHEET_ID or pass --sheet-id/],
    ['no credentials', { GOOGLE_CREDENTIALS_PATH: '' }, ['list', '--sheet-id', 'x'], /set GOOGLE_CREDENTIALS_PATH/],
    [
      'unreadable credentials',
      { GOOGLE_CREDENTIALS_PATH: '/nonexistent/sa.json' },
      ['list', '--sheet-id', 'x'],
      /GOOGLE_CREDENTIALS_PATH=\/nonexistent\/sa.json: cannot read/,
    ],
    [
      'an invalid variable',
      { GOOGLE_SHEETS_ROOT_URL: 'not a url' },
      ['list', '--sheet-id', 'x'],
      /GOOGLE_SHEETS_ROOT_URL="not a url"/,
    ],
    ['a flag without its value', {}, ['list', '--sheet-id'], /--sheet-id needs a value/],
  ])('%s exits 1', async (_name, env, argv, message) => {
    const result = await h.main(argv, env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
  });

  it('a spreadsheet that does not exist, or is not shared, exits 2 with the reason', async () => {
    const missing = await h.main(['list', '--sheet-id', 'no-such-sheet'], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/not found: check GOOGLE_SHEET_ID/);
    const privateSheet = h.emulator.createSpreadsheet({
      tabs: { API_Keys: [HEADER] },
      sharedWith: ['someone-else@example.com'],
    });
    const denied = await h.main(['check', '--sheet-id', privateSheet], {});
    expect(denied.code).toBe(2);
    expect(denied.stderr).toMatch(/Share the sheet with .*@sheetgate-test/);
  });
});

describe('revoke and rotate say how soon the service sees the change', () => {
  it.each([
    [{}, "within about 15 s (it checks the sheet's Drive version every 5 s and reloads at most every 10 s)"],
    [{ CHANGE_POLL_INTERVAL: '2', REFRESH_MIN_INTERVAL: '3' }, 'within about 5 s'],
    [{ CHANGE_POLL_INTERVAL: '0', API_KEY_CACHE_DURATION: '120' }, 'within 120 s (API_KEY_CACHE_DURATION)'],
  ])('with %j', async (intervals, expected) => {
    const key = generateKey();
    const id = h.seed([HEADER, [key, 'Client', 'TRUE', '']]);
    const revoked = await h.main(['revoke', key], { ...h.env(id), ...intervals });
    expect(revoked.code).toBe(0);
    expect(revoked.stderr).toContain(expected);
    const other = generateKey();
    const id2 = h.seed([HEADER, [other, 'Client', 'TRUE', '']]);
    const rotated = await h.main(['rotate', other, '--grace', '1h'], { ...h.env(id2), ...intervals });
    expect(rotated.code).toBe(0);
    expect(rotated.stderr).toContain(expected);
    expect(rotated.stderr).not.toContain(other);
  });
});
