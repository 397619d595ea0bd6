import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeCredentials } from '../../emulator/credentials';
import { sheetsClient } from '../helpers/emulator';

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/** Resolves with the URL the CLI prints, or rejects with its output if it exits first. */
function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m?.[1] !== undefined) {
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      reject(new Error(`emulator CLI exited with ${String(code)}:\n${output}`));
    });
  });
}

describe('npm run emulator (emulator/main.ts)', () => {
  it('serves a seeded spreadsheet to trusted credentials, and exits 0 on SIGINT', async () => {
    const { path, credentials } = makeCredentials();
    const seedPath = join(dirname(path), 'seed.json');
    writeFileSync(
      seedPath,
      JSON.stringify({
        spreadsheets: [
          {
            id: 'cli-sheet',
            timeZone: 'Europe/Paris',
            tabs: {
              API_Keys: [
                ['api_key', 'is_active'],
                ['k1', 'TRUE'],
              ],
            },
          },
        ],
      }),
    );
    const child = spawn(TSX, ['emulator/main.ts', '--port', '0', '--credentials', path, '--seed', seedPath], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await listeningUrl(child);
      const api = sheetsClient(url, credentials);
      const { data } = await api.spreadsheets.values.get({
        spreadsheetId: 'cli-sheet',
        range: 'API_Keys',
        valueRenderOption: 'UNFORMATTED_VALUE',
      });
      expect(data.values).toEqual([
        ['api_key', 'is_active'],
        ['k1', true],
      ]);
      const stats = (await (await fetch(`${url}__emulator/stats`)).json()) as { reads: number };
      expect(stats.reads).toBe(1);
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
    }
  });

  it('refuses a bad seed file with a message and exit code 1', async () => {
    const { path } = makeCredentials();
    const seedPath = join(dirname(path), 'bad-seed.json');
    writeFileSync(seedPath, JSON.stringify({ spreadsheets: [{ tabs: { T: [[{}]] } }] }));
    const child = spawn(TSX, ['emulator/main.ts', '--port', '0', '--seed', seedPath], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toMatch(/--seed .*spreadsheets\[0\].*values\[0\]\[0\] must be a string, number, boolean or null/);
  });
});
