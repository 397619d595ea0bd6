import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type autocannon from 'autocannon';

export interface Proc {
  readonly child: ChildProcess;
  readonly port: number;
  /** CPU time (user + system) the process has used so far, in ms (Linux /proc; 10 ms resolution). */
  cpuMs(): number;
  stop(): Promise<void>;
}

function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) {
    return NaN;
  }
  // Fields 14 and 15 of /proc/<pid>/stat are utime and stime in clock ticks (100 per second on Linux).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** True when servers and the load generator can be given a core each (Linux taskset, 2+ cores). */
export const CAN_PIN = availableParallelism() >= 2 && existsSync('/usr/bin/taskset');

/** Moves this process (the load generator) to `cpu`, so that it does not share a core with the servers. */
export function pinSelf(cpu: number): void {
  spawnSync('taskset', ['-a', '-pc', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

/** Space-separated node flags as a list; `none` (or nothing) is no flags. */
export function flagList(flags: string): string[] {
  return flags.split(' ').filter((f) => f !== '' && f !== 'none');
}

/** The node flags `npm start` and the Dockerfile run the service with (`--single-threaded-gc`, docs/decisions.md). */
export function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
    scripts?: { start?: string };
  };
  return flagList(pkg.scripts?.start ?? '').filter((word) => word.startsWith('--'));
}

/**
 * Node flags for every server a benchmark starts, bare Express and the floors included: by default those `npm start`
 * runs the service with, so that sheetgate is measured as it runs and every server alike; BENCH_NODE_FLAGS
 * (space-separated, `none` for no flags) replaces them.
 */
export const SERVER_NODE_FLAGS = flagList(process.env['BENCH_NODE_FLAGS'] ?? startFlags().join(' '));

/**
 * Starts `node [SERVER_NODE_FLAGS] --import tsx <script>` (a `.js` script without tsx) on 127.0.0.1 with PORT=0 and resolves with the port it prints
 * (`listening on port N`); on `cpu` when given (taskset), with `nodeFlags` after SERVER_NODE_FLAGS. Killed after
 * `maxLifeMs` whatever happens, so a benchmark never leaves a server behind.
 */
export function startProcess(
  script: string,
  env: Record<string, string>,
  maxLifeMs = 10 * 60_000,
  cpu?: number,
  nodeFlags: readonly string[] = [],
): Promise<Proc> {
  const loader = script.endsWith('.js') ? [] : ['--import', 'tsx'];
  const node = [process.execPath, ...SERVER_NODE_FLAGS, ...nodeFlags, ...loader, script];
  const [command = '', ...args] = cpu === undefined ? node : ['taskset', '-c', String(cpu), ...node];
  const child = spawn(command, args, {
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
          cpuMs: () => cpuMsOf(child.pid),
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

/**
 * Lets `server` alone of `servers` run: the others are stopped (SIGSTOP), so that no idle server's timers (prom-client's
 * event-loop monitor wakes every 10 ms), reloads or garbage collection take the shared core from it. With `undefined`,
 * every server runs again.
 */
export function runOnly(servers: readonly Proc[], server: Proc | undefined): void {
  for (const s of servers) {
    s.child.kill(server === undefined || s === server ? 'SIGCONT' : 'SIGSTOP');
  }
}

/** Resolves once `server` answers `GET /ready` with 200 (its first snapshot loaded), at most 60 s. */
export async function untilReady(server: Proc): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const res = await fetch(`http://127.0.0.1:${server.port}/ready`).catch(() => undefined);
    if (res?.status === 200) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the server on port ${server.port} was not ready within 60 s`);
}

/** autocannon's `requests` for a load that sends `keys` in turn, one per request, as `Authorization: Bearer`. */
export function rotatingKeys(keys: readonly string[]): autocannon.Request[] {
  let i = 0;
  return [
    {
      setupRequest: (req) => ({
        ...req,
        headers: { ...req.headers, authorization: `Bearer ${keys[i++ % keys.length] ?? ''}` },
      }),
    },
  ];
}

/** The environment of `src/server.ts` on the emulator's sheet `sheetId`, production settings, no usage flush. */
export function serviceEnv(credentialsPath: string, sheetId: string, rootUrl: string): Record<string, string> {
  return {
    GOOGLE_CREDENTIALS_PATH: credentialsPath,
    GOOGLE_SHEET_ID: sheetId,
    GOOGLE_SHEETS_ROOT_URL: rootUrl,
    LOG_LEVEL: 'info',
    NODE_ENV: 'production',
    USAGE_FLUSH_INTERVAL: '3600',
  };
}

/**
 * The script of a server as benchmarks run it: the compiled build (`dist/…js`, as `npm start` and the Docker image run
 * sheetgate), unless BENCH_SOURCE=tsx asks for the TypeScript source through tsx. tsx compiles with esbuild's
 * `keepNames`, which wraps every named function made at run time in a `__name()` call: a closure made per request
 * costs ~1 µs there and nothing in the build.
 */
export function serverScript(source: string): string {
  return process.env['BENCH_SOURCE'] === 'tsx' ? source : `dist/${source.replace(/\.ts$/, '.js')}`;
}

/** Builds `dist/` (`npm run build`) unless the servers run from source. @throws Error when the build fails */
export function buildServers(): void {
  if (process.env['BENCH_SOURCE'] === 'tsx') {
    return;
  }
  const built = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  if (built.status !== 0) {
    throw new Error(
      'npm run build failed: the benchmark runs the compiled servers (BENCH_SOURCE=tsx runs the sources)',
    );
  }
}
