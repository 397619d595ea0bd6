#!/usr/bin/env node
/**
 * `npx sheetgate <command>`: the admin CLI. Reads the same environment and `.env` as the service
 * (`GOOGLE_CREDENTIALS_PATH`, `GOOGLE_SHEET_ID`, `GOOGLE_SHEET_NAME`, `GOOGLE_SHEETS_ROOT_URL`, `DEFAULT_RATE_LIMIT`,
 * `PORT`) and talks to the sheet through the same adapter; `refresh` talks to the running service instead, with
 * `SHEETGATE_ADMIN_KEY`. Exit codes: 0 ok, 1 usage or validation problem, 2 sheet or service unreachable.
 */
import { parseArgs } from 'node:util';
import Transport from 'winston-transport';
import { envWithDotenv, loadConfig } from '../config';
import type { Config } from '../config';
import type { RefreshTiming } from './takes-effect';
import { GoogleSheet, readServiceAccount } from '../keys/sheet-source';
import { createLogger } from '../log';
import { check } from './check';
import { EXIT_OK, EXIT_SHEET, EXIT_USAGE, UsageError } from './context';
import type { CliContext, CliOutput, Command, ExitCode, ServiceAccess } from './context';
import { create } from './create';
import { guard } from './guard';
import { init } from './init';
import { list } from './list';
import { ADMIN_KEY_ENV, refresh } from './refresh';
import { revoke } from './revoke';
import { rotate } from './rotate';

const COMMANDS: Readonly<Record<string, { readonly run: Command; readonly summary: string }>> = {
  init: { run: init, summary: 'write the header row to an empty tab' },
  create: { run: create, summary: 'create a key and print it once' },
  list: { run: list, summary: 'list keys (masked) with state, limit and usage' },
  revoke: { run: revoke, summary: 'deactivate a key and record revoked_at' },
  rotate: { run: rotate, summary: 'replace a key; the old one keeps working for a grace period' },
  check: { run: check, summary: 'validate every row like the service does' },
  refresh: { run: refresh, summary: 'ask a running service to reload the sheet now (admin key)' },
};

export const HELP = `Usage: sheetgate <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)
  .join('\n')}

Global options:
  --sheet-id ID   spreadsheet id (overrides GOOGLE_SHEET_ID)
  --tab NAME      tab name (overrides GOOGLE_SHEET_NAME, default API_Keys)
  --json          machine-readable output on stdout
  -h, --help      help; \`sheetgate <command> --help\` for a command

Environment (and .env): GOOGLE_CREDENTIALS_PATH, GOOGLE_SHEET_ID, GOOGLE_SHEET_NAME,
GOOGLE_SHEETS_ROOT_URL, DEFAULT_RATE_LIMIT, LOG_LEVEL (debug shows every Sheets call on stderr);
refresh: ${ADMIN_KEY_ENV}, PORT.

Exit codes: 0 ok, 1 usage or validation problem, 2 the sheet (or, for refresh, the service) could not be reached.
`;

/** Everything `main` needs from the process, so tests can run it in-process. */
export interface MainIo {
  readonly env: Record<string, string | undefined>;
  readonly out: CliOutput;
  readonly now?: () => number;
  /** Path of the `.env` file to read under `env`. Defaults to `.env` in the working directory. */
  readonly dotenvPath?: string;
}

/** Every log line goes to stderr, whatever its level: stdout is the command's output (valid JSON under --json). */
class NoteTransport extends Transport {
  constructor(private readonly out: CliOutput) {
    super();
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    const line = info[Symbol.for('message')];
    this.out.note(`${typeof line === 'string' ? line : JSON.stringify(info)}\n`);
    callback();
  }
}

interface GlobalArgs {
  readonly command: string | undefined;
  readonly rest: string[];
  readonly sheetId: string | undefined;
  readonly tab: string | undefined;
  readonly help: boolean;
}

/**
 * Splits argv into the command, its own arguments, and the global `--sheet-id`/`--tab` (accepted anywhere).
 * @throws UsageError when a global flag has no value.
 */
function splitGlobal(argv: readonly string[]): GlobalArgs {
  const { tokens } = parseArgs({
    args: [...argv],
    options: { 'sheet-id': { type: 'string' }, tab: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const drop = new Set<number>();
  let command: number | undefined;
  const globals: { sheetId?: string; tab?: string } = {};
  let help = false;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') {
      break;
    }
    if (token.kind === 'positional') {
      command ??= token.index;
      continue;
    }
    if (token.name === 'help') {
      help = true;
    }
    if (token.name !== 'sheet-id' && token.name !== 'tab') {
      continue;
    }
    if (typeof token.value !== 'string' || token.value.trim() === '') {
      throw new UsageError(`${token.rawName} needs a value`);
    }
    globals[token.name === 'tab' ? 'tab' : 'sheetId'] = token.value.trim();
    drop.add(token.index);
    if (!token.inlineValue) {
      drop.add(token.index + 1);
    }
  }
  if (command !== undefined) {
    drop.add(command);
  }
  return {
    command: command === undefined ? undefined : argv[command],
    rest: argv.filter((_arg, i) => !drop.has(i)),
    sheetId: globals.sheetId,
    tab: globals.tab,
    help,
  };
}

/**
 * Builds the sheet adapter from the environment plus the global flags, on first use (so `--help` and argument errors
 * never need credentials). @throws UsageError when configuration is invalid or incomplete (exit 1).
 */
function lazySheet(
  io: MainIo,
  globals: GlobalArgs,
): { readonly config: () => Config; readonly sheet: () => GoogleSheet; readonly service: () => ServiceAccess } {
  let env: Record<string, string | undefined> | undefined;
  let config: Config | undefined;
  let sheet: GoogleSheet | undefined;
  const loadEnv = (): Record<string, string | undefined> => {
    try {
      return (env ??= envWithDotenv(io.env, io.dotenvPath));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
  const loadCfg = (): Config => {
    if (config === undefined) {
      const merged = loadEnv();
      try {
        config = loadConfig(merged);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }
    return config;
  };
  const build = (): GoogleSheet => {
    const cfg = loadCfg();
    const spreadsheetId = globals.sheetId ?? cfg.sheetId;
    if (spreadsheetId === undefined) {
      throw new UsageError('no spreadsheet: set GOOGLE_SHEET_ID or pass --sheet-id');
    }
    if (cfg.credentialsPath === undefined) {
      throw new UsageError('no credentials: set GOOGLE_CREDENTIALS_PATH to the service-account JSON file');
    }
    let credentials;
    try {
      credentials = readServiceAccount(cfg.credentialsPath);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const logger = createLogger({
      level: cfg.logLevel === 'debug' ? 'debug' : 'warn',
      format: 'pretty',
      transports: [new NoteTransport(io.out)],
    });
    return new GoogleSheet({
      credentials,
      spreadsheetId,
      sheetName: globals.tab ?? cfg.sheetName,
      logger,
      ...(cfg.sheetsRootUrl === undefined ? {} : { rootUrl: cfg.sheetsRootUrl }),
    });
  };
  return {
    config: loadCfg,
    sheet: () => (sheet ??= build()),
    service: () => ({ adminKey: loadEnv()[ADMIN_KEY_ENV], defaultUrl: `http://127.0.0.1:${loadCfg().port}` }),
  };
}

/** Runs one CLI invocation and returns its exit code. Never calls `process.exit`. */
export async function main(argv: readonly string[], io: MainIo): Promise<ExitCode> {
  return guard(io.out, async () => {
    const globals = splitGlobal(argv);
    if (globals.command === undefined) {
      if (globals.help) {
        io.out.write(HELP);
        return EXIT_OK;
      }
      io.out.note(HELP);
      return EXIT_USAGE;
    }
    const command = COMMANDS[globals.command];
    if (command === undefined) {
      throw new UsageError(`unknown command "${globals.command}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
    }
    const lazy = lazySheet(io, globals);
    const ctx: CliContext = {
      out: io.out,
      now: io.now ?? Date.now,
      get sheet(): GoogleSheet {
        return lazy.sheet();
      },
      get defaultRateLimit(): number {
        return lazy.config().defaultRateLimit;
      },
      get timing(): RefreshTiming {
        const { cacheDurationSec, changePollIntervalSec, refreshMinIntervalSec } = lazy.config();
        return { cacheDurationSec, changePollIntervalSec, refreshMinIntervalSec };
      },
      get service(): ServiceAccess {
        return lazy.service();
      },
    };
    return command.run(ctx, globals.rest);
  });
}

/** stdout/stderr of this process. */
export const processOutput: CliOutput = {
  write: (text) => void process.stdout.write(text),
  note: (text) => void process.stderr.write(text),
};

if (require.main === module) {
  main(process.argv.slice(2), { env: process.env, out: processOutput }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(
        `sheetgate: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = EXIT_SHEET;
    },
  );
}
