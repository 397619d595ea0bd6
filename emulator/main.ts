/**
 * `npm run emulator -- --port 8085 --credentials sa.json --seed seed.json`: runs the Sheets v4 emulator until
 * Ctrl-C. `--credentials` may repeat; `seed.json` is `{ "spreadsheets": [{ "id", "timeZone", "tabs": {...} }] }`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { handleAdmin } from './admin';
import { startEmulator } from './server';
import type { Emulator } from './server';

const USAGE = `usage: npm run emulator -- [--port 8085] [--host 127.0.0.1] [--credentials sa.json]... [--seed seed.json]`;

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (err) {
    throw new Error(`${what} ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Seeds through the admin surface's own validation, so a seed file and `POST /__emulator/spreadsheets` agree. */
async function seed(emulator: Emulator, path: string): Promise<string[]> {
  const parsed = readJson(path, '--seed');
  const list = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['spreadsheets'] : [];
  if (!Array.isArray(list)) {
    throw new Error(`--seed ${path}: expected { "spreadsheets": [...] }`);
  }
  const ids: string[] = [];
  for (const [i, spreadsheet] of list.entries()) {
    const result = await handleAdmin(emulator, 'POST', new URL('http://seed/__emulator/spreadsheets'), spreadsheet);
    if (result.status !== 201) {
      throw new Error(`--seed ${path}: spreadsheets[${i}]: ${JSON.stringify(result.body)}`);
    }
    ids.push((result.body as { id: string }).id);
  }
  return ids;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8085' },
      host: { type: 'string', default: '127.0.0.1' },
      credentials: { type: 'string', multiple: true, default: [] },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port ${values.port}: not a port number`);
  }
  const emulator = await startEmulator({ port, host: values.host });
  for (const path of values.credentials) {
    const account = readJson(path, '--credentials') as Partial<Record<string, unknown>>;
    const { client_email: email, private_key: key, private_key_id: keyId } = account;
    if (typeof email !== 'string' || typeof key !== 'string') {
      throw new Error(`--credentials ${path}: not a service-account key (client_email/private_key missing)`);
    }
    emulator.trust({
      client_email: email,
      private_key: key,
      ...(typeof keyId === 'string' ? { private_key_id: keyId } : {}),
    });
    process.stdout.write(`trusting ${email}\n`);
  }
  if (values.credentials.length === 0) {
    process.stdout.write('no --credentials: every API call gets 401 until POST /__emulator/trust\n');
  }
  const ids = values.seed === undefined ? [] : await seed(emulator, values.seed);
  process.stdout.write(
    `Sheets v4 emulator listening on ${emulator.url}\n` +
      ids.map((id) => `spreadsheet ${id}\n`).join('') +
      `GOOGLE_SHEETS_ROOT_URL=${emulator.url}\nadmin: ${emulator.url}__emulator/stats\nCtrl-C stops it.\n`,
  );
  const stop = (): void => {
    void emulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`emulator: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(1);
});
