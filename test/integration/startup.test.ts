import { spawn } from 'node:child_process';

interface Exit {
  readonly code: number | null;
  readonly output: string;
}

/** Runs the real entrypoint (`src/server.ts` through tsx) until it exits or `untilOutput` appears, then stops it. */
function runServer(env: Record<string, string>, untilOutput?: RegExp): Promise<Exit> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return new Promise((resolve) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (untilOutput?.test(output)) {
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('startup (real process)', () => {
  it.each([
    ['PORT', 'abc'],
    ['DEFAULT_RATE_LIMIT', '-1'],
    ['LOG_LEVEL', 'loud'],
    ['REDIS_URL', 'localhost:6379'],
  ])('refuses bad %s=%s with a message naming the variable and value, no stack trace', async (name, value) => {
    const { code, output } = await runServer({ [name]: value });
    expect(code).toBe(1);
    expect(output).toContain(`${name}="${value}"`);
    expect(output).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['REDIS_URL', 'redis://:password@host:notaport', 'redis://:***@host:notaport'],
    ['SHUTDOWN_TIMEOUT', 'soon', 'soon'],
  ])('refuses bad %s=%s naming it, any URL password masked', async (name, value, shown) => {
    const { code, output } = await runServer({ [name]: value });
    expect(code).toBe(1);
    expect(output).toContain(`${name}="${shown}"`);
    expect(output).not.toContain('password');
  });

  it('refuses to start with AUTH_REQUIRED=true and no credentials', async () => {
    const { code, output } = await runServer({ AUTH_REQUIRED: 'true' });
    expect(code).toBe(1);
    expect(output).toMatch(/AUTH_REQUIRED=true but GOOGLE_CREDENTIALS_PATH and GOOGLE_SHEET_ID not set/);
  });

  it('fails closed under NODE_ENV=production: a mistyped credentials path refuses to start', async () => {
    const { code, output } = await runServer({
      NODE_ENV: 'production',
      GOOGLE_CREDENTIALS_PATH: '/run/secrets/credentails.json',
      GOOGLE_SHEET_ID: 'x',
    });
    expect(code).toBe(1);
    expect(output).toMatch(/AUTH_REQUIRED=true \(the default under NODE_ENV=production\) but GOOGLE_CREDENTIALS_PATH=/);
    expect(output).not.toMatch(/listening on port/);
  });

  it('starts degraded under NODE_ENV=production only when AUTH_REQUIRED=false says so', async () => {
    const { output } = await runServer({ NODE_ENV: 'production', AUTH_REQUIRED: 'false' }, /listening on port/);
    expect(output).toMatch(/AUTHENTICATION IS OFF \(degraded mode\)/);
    expect(output).toMatch(/listening on port \d+/);
  });

  it('refuses a credentials file that is not a service-account key, naming the variable', async () => {
    const { code, output } = await runServer({ GOOGLE_CREDENTIALS_PATH: 'package.json', GOOGLE_SHEET_ID: 'x' });
    expect(code).toBe(1);
    expect(output).toMatch(/GOOGLE_CREDENTIALS_PATH=package.json: not a service-account key/);
  });

  it('starts in degraded mode with a loud warning when credentials are missing', async () => {
    const { output } = await runServer({}, /listening on port/);
    expect(output).toMatch(
      /AUTHENTICATION IS OFF \(degraded mode\): GOOGLE_CREDENTIALS_PATH and GOOGLE_SHEET_ID not set/,
    );
    expect(output).toMatch(/listening on port \d+/);
  });
});
