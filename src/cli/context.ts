import type { GoogleSheet } from '../keys/sheet-source';
import type { RefreshTiming } from './takes-effect';

/**
 * Exit codes: 0 ok, 1 usage or validation problem (a refused admin key included), 2 the sheet could not be read or
 * written, or the service could not be reached.
 */
export const EXIT_OK = 0;
export const EXIT_USAGE = 1;
export const EXIT_SHEET = 2;
export type ExitCode = typeof EXIT_OK | typeof EXIT_USAGE | typeof EXIT_SHEET;

/** Where a command writes: `write` is stdout (results, the one-time key, JSON); `note` is stderr (diagnostics). */
export interface CliOutput {
  write(text: string): void;
  note(text: string): void;
}

/** Where a running service is and the admin key to call it with (`refresh`). */
export interface ServiceAccess {
  /** `SHEETGATE_ADMIN_KEY` from the environment or `.env`; undefined when unset. */
  readonly adminKey: string | undefined;
  /** `http://127.0.0.1:$PORT` (`PORT` defaulting to 8000), used when `--url` is not given. */
  readonly defaultUrl: string;
}

/** What every command gets: the same sheet adapter as the service, an output and a clock (tests inject both). */
export interface CliContext {
  readonly sheet: GoogleSheet;
  readonly out: CliOutput;
  /** Epoch ms. */
  readonly now: () => number;
  /** `DEFAULT_RATE_LIMIT`, for rows with an empty `rate_limit`. Defaults to `60`. */
  readonly defaultRateLimit?: number;
  /** The service's reload intervals: `revoke` and `rotate` say how soon their change takes effect. */
  readonly timing?: RefreshTiming;
  /** For commands that call the running service rather than the sheet. */
  readonly service?: ServiceAccess;
}

/** A command: parses its own argv (after the command name; global flags already removed) and returns an exit code. */
export type Command = (ctx: CliContext, argv: readonly string[]) => Promise<ExitCode>;

/** Bad arguments, or a request the sheet's content does not allow (no such key, ambiguous prefix): exit 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
