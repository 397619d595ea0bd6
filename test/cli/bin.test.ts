/**
 * The real CLI in its own process (`npx tsx src/cli/index.ts`), as an admin runs it: exit codes, and no full key on
 * stdout or stderr of `list`, even with LOG_LEVEL=debug.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { generateKey } from '../../src/cli/new-key';
import { formatKeyHash, hashKey } from '../../src/keys/key-id';
import { cliHarness } from './harness';
import type { CliHarness, RunResult } from './harness';

const ROOT = join(__dirname, '..', '..');
let h: CliHarness;

/** Runs the bin asynchronously: the emulator answering it lives in this process, so it must not block. */
function sheetgate(args: readonly string[], env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['tsx', 'src/cli/index.ts', ...args],
      { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  h = await cliHarness();
});

afterAll(() => h.close());

it('starts with a node shebang, as the package.json bin entry needs', () => {
  expect(readFileSync(join(ROOT, 'src/cli/index.ts'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
});

it('exits 0 / 1 / 2, and list never prints a full key on stdout or stderr', async () => {
  const plain = generateKey();
  const hashed = generateKey();
  const id = h.seed([
    ['api_key', 'key_hash', 'client_name', 'is_active'],
    [plain, '', 'Plain', 'TRUE'],
    ['', formatKeyHash(hashKey(hashed)), 'Hashed', 'TRUE'],
  ]);
  const env = { ...h.env(id), LOG_LEVEL: 'debug' };

  // The read-only commands run together; the one that appends a row runs after them (list counts the rows).
  const [listed, listedJson, usage, sheetError] = await Promise.all([
    sheetgate(['list'], env),
    sheetgate(['list', '--json'], env),
    sheetgate(['create', '--rate-limit', '5'], env),
    sheetgate(['check', '--sheet-id', 'no-such-sheet'], env),
  ]);
  const created = await sheetgate(['create', '--client', 'Spawned', '--json'], {
    ...h.env(),
    LOG_LEVEL: 'info',
    GOOGLE_SHEET_ID: id,
  });

  expect(listed.code).toBe(0);
  expect(listed.stdout).toContain(`sk-con…${plain.slice(-4)}`);
  expect(listed.stderr).toMatch(/sheets call/); // debug logs go to stderr, never stdout
  expect(listedJson.code).toBe(0);
  expect((JSON.parse(listedJson.stdout) as { keys: unknown[] }).keys).toHaveLength(2);
  for (const out of [listed.stdout, listed.stderr, listedJson.stdout, listedJson.stderr]) {
    for (const k of [plain, hashed]) {
      expect(out).not.toContain(k);
      expect(out).not.toContain(k.slice(15));
    }
  }

  expect(usage.code).toBe(1);
  expect(usage.stderr).toMatch(/--client NAME is required/);
  expect(sheetError.code).toBe(2);
  expect(sheetError.stderr).toMatch(/not found/);

  expect(created.code).toBe(0);
  const { key } = JSON.parse(created.stdout) as { key: string };
  expect(h.values(id).some((row) => row.includes(key))).toBe(true);
  expect(created.stderr).not.toContain(key);
}, 60_000);
