/**
 * The real `@googleapis/sheets` client, built as sheetgate builds it (self-signed JWT with scope, `retry: false`, a
 * timeout), pointed at an emulator.
 *
 * One difference: `fetchImplementation: fetch` (Node's built-in fetch). Left alone, gaxios loads `node-fetch` v3
 * with a dynamic `import()`, which Jest's CommonJS runtime refuses ("A dynamic import callback was invoked without
 * --experimental-vm-modules"). Outside Jest (tsx, node) the default works.
 */
import { auth as driveAuth, drive } from '@googleapis/drive';
import type { drive_v3 } from '@googleapis/drive';
import { sheets } from '@googleapis/sheets';
import type { sheets_v4 } from '@googleapis/sheets';
import { afterAll, afterEach, beforeAll } from '@jest/globals';
import { JWT } from 'google-auth-library';
import { startEmulator } from '../../emulator/server';
import type { Emulator } from '../../emulator/server';
import { makeCredentials } from '../../emulator/credentials';
import type { ServiceAccount } from '../../emulator/credentials';

export interface ClientCredentials {
  readonly client_email: string;
  readonly private_key: string;
  readonly private_key_id?: string;
}

/** The signing fields of a self-signed JWT for `scopes`, as both googleapis JWT classes take them. */
function jwtFields(credentials: ClientCredentials, scopes: string[]) {
  return {
    email: credentials.client_email,
    key: credentials.private_key,
    ...(credentials.private_key_id === undefined ? {} : { keyId: credentials.private_key_id }),
    scopes,
  };
}

/** What sheetgate gives every googleapis client: the emulator's URL, no retries, a timeout, Node's fetch. */
function transport(rootUrl: string, timeoutMs = 10_000) {
  return { rootUrl, retry: false, timeout: timeoutMs, fetchImplementation: fetch };
}

/** Defaults: `timeoutMs` 10000, no retries. */
export function sheetsClient(
  rootUrl: string,
  credentials: ClientCredentials,
  options: { timeoutMs?: number } = {},
): sheets_v4.Sheets {
  const auth = new JWT(jwtFields(credentials, ['https://www.googleapis.com/auth/spreadsheets']));
  auth.useJWTAccessWithScope = true;
  return sheets({ version: 'v4', auth, ...transport(rootUrl, options.timeoutMs) });
}

/** The real `@googleapis/drive` client as change detection builds it; `scopes` default to Drive's metadata scope. */
export function driveClient(
  rootUrl: string,
  credentials: ClientCredentials,
  options: { timeoutMs?: number; scopes?: string[] } = {},
): drive_v3.Drive {
  const scopes = options.scopes ?? ['https://www.googleapis.com/auth/drive.metadata.readonly'];
  const auth = new driveAuth.JWT(jwtFields(credentials, scopes));
  auth.useJWTAccessWithScope = true;
  return drive({ version: 'v3', auth, ...transport(rootUrl, options.timeoutMs) });
}

/** An emulator that trusts fresh test credentials, plus a client for them. Close `emulator` in `afterAll`. */
export async function trustedEmulator(options: { timeoutMs?: number } = {}): Promise<{
  emulator: Emulator;
  credentials: ServiceAccount;
  api: sheets_v4.Sheets;
}> {
  const emulator = await startEmulator();
  const { credentials } = makeCredentials();
  emulator.trust(credentials);
  return { emulator, credentials, api: sheetsClient(emulator.url, credentials, options) };
}

/** What {@link emulatorSuite} gives a suite. */
export interface EmulatorSuite {
  /** The running emulator (from the suite's `beforeAll` on). */
  readonly emulator: Emulator;
  readonly credentials: ServiceAccount;
  /** The credentials' file, for GOOGLE_CREDENTIALS_PATH. */
  readonly path: string;
}

/**
 * An emulator for the suite it is called in: started, trusting fresh credentials, before the suite's tests; its
 * faults cleared and brought back up after each test; closed after them. Its hooks run before the suite's own.
 */
export function emulatorSuite(): EmulatorSuite {
  const { credentials, path } = makeCredentials();
  let running: Emulator | undefined;
  beforeAll(async () => {
    running = await startEmulator();
    running.trust(credentials);
  });
  afterEach(async () => {
    running?.clearFaults();
    await running?.up();
  });
  afterAll(async () => {
    await running?.close();
  });
  return {
    credentials,
    path,
    get emulator(): Emulator {
      if (running === undefined) {
        throw new Error('emulatorSuite: the emulator starts in the suite’s beforeAll');
      }
      return running;
    },
  };
}
