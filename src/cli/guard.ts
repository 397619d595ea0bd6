import { SheetsError } from '../keys/sheets-error';
import { EXIT_SHEET, EXIT_USAGE, UsageError } from './context';
import type { CliOutput, ExitCode } from './context';

/**
 * Runs a command body and turns the two expected failures into exit codes, with the reason on stderr:
 * {@link UsageError} → 1, {@link SheetsError} → 2. Anything else is a bug and propagates.
 */
export async function guard(out: CliOutput, body: () => Promise<ExitCode>): Promise<ExitCode> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      out.note(`sheetgate: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof SheetsError) {
      out.note(`sheetgate: ${err.message}\n`);
      return EXIT_SHEET;
    }
    throw err;
  }
}
