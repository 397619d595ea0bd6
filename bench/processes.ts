import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export interface Proc {
  readonly child: ChildProcess;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Starts `node --import tsx <script>` on 127.0.0.1 with PORT=0 and resolves with the port it prints
 * (`listening on port N`). Killed after `maxLifeMs` whatever happens, so a benchmark never leaves a server behind.
 */
export function startProcess(script: string, env: Record<string, string>, maxLifeMs = 10 * 60_000): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), maxLifeMs);
  killer.unref();
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening on port (\d+)/.exec(output);
      if (match?.[1] !== undefined) {
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        resolve({
          child,
          port: Number(match[1]),
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) {
                done();
                return;
              }
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${script} exited (${String(code)}) before listening:\n${output}`)));
  });
}
