import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Library use, tested as a consumer would: build the package with the project's build config, `npm pack` it, install
 * the tarball into a fresh project that brings its own Express (the lowest version of the peer range, so a package
 * that carried its own copy would get a second one) plus @types/express, as a TypeScript consumer would, type-check a
 * consumer file against the shipped declarations (`req.auth` augmentation included), then run it with plain Node and
 * call it over HTTP. The build goes to a temporary directory, not ./dist, so the test never races another build.
 */

const REPO = resolve(__dirname, '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const ACTIVE = 'sk-convergence-11111111-1111-4111-8111-111111111111';
const READER = 'sk-convergence-22222222-2222-4222-8222-222222222222';
/** The host app's Express: the floor of sheetgate's `express` peer range. */
const HOST_EXPRESS = '5.1.0';

const CONSUMER_TS = `
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { AUTH_ERROR_CODES, createHttpServer, requireScope, sheetgate } from 'sheetgate';
import type { AuthContext, SheetSource, SheetTable } from 'sheetgate';

// A consumer's own key source (a Google Sheet in production: sheetgate({ sheet: { spreadsheetId, credentials } })).
const table: SheetTable = {
  timeZone: 'Etc/UTC',
  rows: [
    ['api_key', 'client_name', 'created_at', 'expires_at', 'is_active', 'rate_limit', 'scopes'],
    ['${ACTIVE}', 'Acme', '2026-01-01', '', true, 100, 'admin'],
    ['${READER}', 'Reader', '2026-01-01', '', true, 100, 'read'],
  ],
};
const source: SheetSource = {
  target: { spreadsheetId: 'consumer', sheetName: 'API_Keys', clientEmail: 'consumer@example.iam' },
  readTable: () => Promise.resolve(table),
};

const app = express();
app.get('/', (_req, res) => {
  res.json({ public: true, codes: AUTH_ERROR_CODES.length });
});
const gate = sheetgate({ source });
app.use('/api', gate);
app.get('/api/me', (req: Request, res: Response) => {
  const auth: AuthContext | undefined = req.auth;
  res.json({ client: auth?.clientName ?? null, scopes: auth?.scopes ?? [] });
});
app.post('/api/admin', requireScope('admin'), (_req: Request, res: Response, _next: NextFunction) => {
  res.json({ admin: true });
});

void gate.ready().then(() => {
  const server = createHttpServer(app).listen(0, '127.0.0.1', () => {
    const address = server.address();
    console.log('listening on port ' + (typeof address === 'object' && address ? address.port : 0));
  });
  process.on('SIGTERM', () => {
    server.close();
    void gate.close();
  });
});
`;

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    strict: true,
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    esModuleInterop: true,
    types: ['node'],
    outDir: 'out',
  },
  files: ['consumer.ts'],
};

function run(command: string, args: readonly string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; body: unknown }>((done, fail) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('sheetgate as a library, from the packed package', () => {
  let dir = '';
  let consumer = '';
  let child: ChildProcess | undefined;
  let port = 0;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sheetgate-package-'));
    const pkg = join(dir, 'pkg');
    mkdirSync(pkg);
    run(
      process.execPath,
      [
        join(REPO, 'node_modules/typescript/bin/tsc'),
        '-p',
        join(REPO, 'tsconfig.build.json'),
        '--outDir',
        join(pkg, 'dist'),
      ],
      REPO,
    );
    copyFileSync(join(REPO, 'package.json'), join(pkg, 'package.json'));
    run(NPM, ['pack', '--silent', '--pack-destination', dir], pkg);
    const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'));
    if (tarball === undefined) {
      throw new Error('npm pack produced no tarball');
    }
    consumer = join(dir, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    const types = JSON.parse(run(NPM, ['pkg', 'get', 'devDependencies', '--json'], REPO)) as Record<string, string>;
    run(
      NPM,
      [
        'install',
        join(dir, tarball),
        `express@${HOST_EXPRESS}`,
        `@types/express@${types['@types/express'] ?? 'latest'}`,
        `@types/node@${types['@types/node'] ?? 'latest'}`,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
      ],
      consumer,
    );
    writeFileSync(join(consumer, 'consumer.ts'), CONSUMER_TS);
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG));
  }, 180_000);

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((done) => child?.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("uses the host app's Express: express is a peer dependency, so the package brings no second copy", () => {
    const peer = JSON.parse(run(NPM, ['pkg', 'get', 'peerDependencies', '--json'], REPO)) as Record<string, string>;
    expect(peer['express']).toMatch(/^\^5\./);
    const installed = (path: string): string => (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
    expect(installed(join(consumer, 'node_modules/express/package.json'))).toBe(HOST_EXPRESS);
    expect(existsSync(join(consumer, 'node_modules/sheetgate/node_modules/express'))).toBe(false);
  });

  it('type-checks a consumer against the shipped declarations, req.auth included', () => {
    run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], consumer);
  }, 60_000);

  it('type-checking fails when the consumer misuses req.auth (the augmentation is real)', () => {
    writeFileSync(
      join(consumer, 'misuse.ts'),
      "import 'sheetgate';\nimport type { Request } from 'express';\nexport const n = (req: Request): number => req.auth?.clientName ?? 0;\n",
    );
    const config = {
      ...CONSUMER_TSCONFIG,
      compilerOptions: { ...CONSUMER_TSCONFIG.compilerOptions, noEmit: true, skipLibCheck: true },
      files: ['misuse.ts'],
    };
    writeFileSync(join(consumer, 'tsconfig.misuse.json'), JSON.stringify(config));
    expect(() =>
      run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.misuse.json'], consumer),
    ).toThrow(/Type 'string \| 0' is not assignable to type 'number'|Type 'string' is not assignable to type 'number'/);
  }, 60_000);

  it('mounts in a fresh Express app: public route open, /api guarded, req.auth set, requireScope enforced', async () => {
    const started = spawn(process.execPath, [join(consumer, 'out/consumer.js')], {
      cwd: consumer,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    port = await new Promise<number>((done, fail) => {
      let output = '';
      const onData = (c: Buffer): void => {
        output += c.toString();
        const match = /listening on port (\d+)/.exec(output);
        if (match?.[1] !== undefined) {
          done(Number(match[1]));
        }
      };
      started.stdout.on('data', onData);
      started.stderr.on('data', onData);
      started.once('exit', (code) => fail(new Error(`consumer exited (${String(code)}):\n${output}`)));
    });
    expect(await get(port, '/')).toEqual({ status: 200, body: { public: true, codes: 10 } });
    expect(await get(port, '/api/me')).toMatchObject({ status: 401, body: { code: 'missing_api_key' } });
    expect(await get(port, '/api/me', { authorization: `Bearer ${ACTIVE}` })).toEqual({
      status: 200,
      body: { client: 'Acme', scopes: ['admin'] },
    });
    expect(await get(port, '/api/admin', { 'x-api-key': ACTIVE }, 'POST')).toEqual({
      status: 200,
      body: { admin: true },
    });
    expect(await get(port, '/api/admin', { 'x-api-key': READER }, 'POST')).toMatchObject({
      status: 403,
      body: { code: 'insufficient_scope', scope: 'admin' },
    });
  }, 30_000);
});
