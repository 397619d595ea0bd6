/**
 * Issue 4: SIGTERM / SIGINT stop accepting, flush usage, then exit. The real entrypoint (`src/server.ts` through tsx)
 * as a child process, the emulator in this process, the real googleapis client in between.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmulator } from '../../emulator/server';
import type { Emulator } from '../../emulator/server';
import { makeCredentials } from '../../emulator/credentials';

const TAB = 'API_Keys';
const HEADER = ['api_key', 'client_name', 'is_active', 'usage_count'];

interface Child {
  readonly port: number;
  readonly process: ChildProcessWithoutNullStreams;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts `src/server.ts` and resolves once it prints its port. Killed after 30 s whatever happens. */
function startServer(env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let output = '';
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve(code);
    });
  });
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const port = /listening on port (\d+)/.exec(output)?.[1];
      if (port !== undefined) {
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        child.stdout.on('data', (c: Buffer) => (output += c.toString()));
        child.stderr.on('data', (c: Buffer) => (output += c.toString()));
        resolve({ port: Number(port), process: child, output: () => output, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`server exited (${String(code)}) before listening:\n${output}`)));
  });
}

async function untilReady(base: string): Promise<void> {
  for (let tries = 0; (await fetch(`${base}/ready`)).status !== 200; tries++) {
    expect(tries).toBeLessThan(100);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('usage flush on shutdown (real process)', () => {
  let emulator: Emulator;
  const { credentials, path } = makeCredentials();
  const children: Child[] = [];

  beforeAll(async () => {
    emulator = await startEmulator();
    emulator.trust(credentials);
  });

  afterEach(() => {
    for (const child of children.splice(0)) {
      child.process.kill('SIGKILL');
    }
  });

  afterAll(async () => {
    await emulator.close();
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s writes every accepted request before exit', async (signal) => {
    emulator.resetStats();
    const key = `sk-convergence-${randomUUID()}`;
    const id = emulator.createSpreadsheet({
      timeZone: 'Europe/Paris',
      tabs: { [TAB]: [HEADER, [key, 'Alpha', true, 40]] },
    });
    const child = await startServer({
      GOOGLE_CREDENTIALS_PATH: path,
      GOOGLE_SHEET_ID: id,
      GOOGLE_SHEETS_ROOT_URL: emulator.url,
      USAGE_FLUSH_INTERVAL: '3600', // only the shutdown flush can write within this test
    });
    children.push(child);
    const base = `http://127.0.0.1:${child.port}`;
    await untilReady(base);

    const statuses = await Promise.all(
      Array.from({ length: 25 }, () =>
        fetch(`${base}/api/hello`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status),
      ),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(emulator.stats.writes).toBe(0);

    child.process.kill(signal);
    const code = await child.exited;

    expect(code).toBe(0);
    expect(emulator.getValues(id, TAB)[1]?.[3]).toBe(65);
    // One flush at shutdown: one values.batchUpdate (the key tab, and the rows of the usage history tab, which it
    // created first with one spreadsheets.batchUpdate).
    expect(emulator.stats.byMethod['values.batchUpdate']).toBe(1);
    expect(emulator.stats.writes).toBe(2);
    expect(emulator.getValues(id, 'API_Usage')[1]?.[3]).toBe(25);
    expect(child.output()).not.toContain(key);
  });

  it('a quota survives a restart: SIGTERM writes quota_used, the next process counts on from it', async () => {
    const key = `sk-convergence-${randomUUID()}`;
    const id = emulator.createSpreadsheet({
      timeZone: 'Pacific/Auckland',
      tabs: {
        [TAB]: [
          ['api_key', 'client_name', 'is_active', 'quota'],
          [key, 'Alpha', true, '30/month'],
        ],
      },
    });
    const env = {
      GOOGLE_CREDENTIALS_PATH: path,
      GOOGLE_SHEET_ID: id,
      GOOGLE_SHEETS_ROOT_URL: emulator.url,
      USAGE_FLUSH_INTERVAL: '3600',
    };
    const burst = async (n: number): Promise<number[]> => {
      const child = await startServer(env);
      children.push(child);
      const base = `http://127.0.0.1:${child.port}`;
      await untilReady(base);
      const statuses = await Promise.all(
        Array.from({ length: n }, () =>
          fetch(`${base}/api/hello`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status),
        ),
      );
      child.process.kill('SIGTERM');
      expect(await child.exited).toBe(0);
      return statuses;
    };

    expect((await burst(20)).filter((s) => s === 200)).toHaveLength(20);
    expect(emulator.getValues(id, TAB)[1]?.[6]).toBe(20);
    const after = await burst(20);
    expect(after.filter((s) => s === 200)).toHaveLength(10);
    expect(after.filter((s) => s === 429)).toHaveLength(10);
    expect(emulator.getValues(id, TAB)[1]?.[6]).toBe(30);
  });
});
