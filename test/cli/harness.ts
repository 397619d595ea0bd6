/**
 * Runs CLI commands against the Sheets emulator through the real googleapis client over HTTP (no mocks): a command
 * function with an injected output and clock, or `main` with an environment, as the bin would.
 */
import { join } from 'node:path';
import { startEmulator } from '../../emulator/server';
import type { CellValue, Emulator } from '../../emulator/server';
import type { CliContext, CliOutput, Command } from '../../src/cli/context';
import { main } from '../../src/cli/index';
import { GoogleSheet, readServiceAccount } from '../../src/keys/sheet-source';
import { makeCredentials } from '../../emulator/credentials';
import { captureLogger } from '../helpers/log-capture';
import type { CaptureTransport } from '../helpers/log-capture';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** An output that keeps what was written. */
export function bufferOutput(): CliOutput & { stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    write: (text) => void out.push(text),
    note: (text) => void err.push(text),
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

export interface CliHarness {
  readonly emulator: Emulator;
  readonly credentialsPath: string;
  /** Every log line the sheet adapter wrote (debug level: each Sheets call). */
  readonly logs: CaptureTransport;
  /** A spreadsheet with one tab (default `API_Keys`) holding `rows`, typed as a human would type them. */
  seed(
    rows: readonly (readonly (string | number | boolean)[])[],
    options?: { timeZone?: string; tab?: string },
  ): string;
  /** A command function called directly, as the tests of each command do. */
  run(command: Command, spreadsheetId: string, argv: readonly string[], now?: number, tab?: string): Promise<RunResult>;
  /** `main` with the environment the bin would read. */
  main(argv: readonly string[], env?: Record<string, string>, now?: number): Promise<RunResult>;
  /** The tab as `values.get` UNFORMATTED_VALUE returns it (dates as serials, booleans as booleans). */
  values(spreadsheetId: string, tab?: string): CellValue[][];
  /** Every cell as displayed (FORMATTED_VALUE), joined: for "the sheet never contains the key". */
  displayed(spreadsheetId: string, tab?: string): string;
  /** Env for `main` / the spawned bin. */
  env(spreadsheetId?: string): Record<string, string>;
  close(): Promise<void>;
}

export async function cliHarness(): Promise<CliHarness> {
  const emulator = await startEmulator();
  const { credentials, path: credentialsPath } = makeCredentials();
  emulator.trust(credentials);
  const account = readServiceAccount(credentialsPath);
  const { logger, capture } = captureLogger();
  const env = (spreadsheetId?: string): Record<string, string> => ({
    GOOGLE_CREDENTIALS_PATH: credentialsPath,
    GOOGLE_SHEETS_ROOT_URL: emulator.url,
    ...(spreadsheetId === undefined ? {} : { GOOGLE_SHEET_ID: spreadsheetId }),
  });
  return {
    emulator,
    credentialsPath,
    logs: capture,
    seed: (rows, options = {}) =>
      emulator.createSpreadsheet({
        timeZone: options.timeZone ?? 'Europe/Paris',
        tabs: { [options.tab ?? 'API_Keys']: rows },
      }),
    run: async (command, spreadsheetId, argv, now = Date.now(), tab = 'API_Keys') => {
      const out = bufferOutput();
      const sheet = new GoogleSheet({
        credentials: account,
        spreadsheetId,
        sheetName: tab,
        rootUrl: emulator.url,
        logger,
      });
      const ctx: CliContext = { sheet, out, now: () => now };
      const code = await command(ctx, argv);
      return { code, stdout: out.stdout(), stderr: out.stderr() };
    },
    main: async (argv, extraEnv = {}, now = Date.now()) => {
      const out = bufferOutput();
      const code = await main(argv, {
        env: { ...env(), ...extraEnv },
        out,
        now: () => now,
        dotenvPath: join(__dirname, 'no-such.env'),
      });
      return { code, stdout: out.stdout(), stderr: out.stderr() };
    },
    values: (id, tab = 'API_Keys') => emulator.getValues(id, tab, 'UNFORMATTED_VALUE'),
    displayed: (id, tab = 'API_Keys') =>
      emulator
        .getValues(id, tab, 'FORMATTED_VALUE')
        .map((r) => r.join('\t'))
        .join('\n'),
    env,
    close: () => emulator.close(),
  };
}

/** Row `row` (1-based) as an object keyed by the header row's names. */
export function rowObject(values: readonly (readonly CellValue[])[], row: number): Record<string, CellValue> {
  const header = values[0] ?? [];
  const cells = values[row - 1] ?? [];
  return Object.fromEntries(header.map((name, i) => [String(name), cells[i] ?? '']));
}
