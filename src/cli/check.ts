import { buildSnapshot } from '../keys/snapshot';
import type { RowProblem } from '../keys/types';
import { COMMON_OPTIONS, parseCommandArgs } from './args';
import { EXIT_OK, EXIT_USAGE } from './context';
import type { CliContext, ExitCode } from './context';
import { guard } from './guard';
import { hasNoHeader, readTab } from './tab';

export const CHECK_HELP = `Usage: sheetgate check [--json]

Reads the tab and validates every row exactly as the service does (header, booleans, dates, limits, names,
malformed key_hash, duplicate keys). Prints each problem row with its number and reason, never the key.
Exit 0 when every row is usable, 1 when any row has a problem, 2 when the sheet cannot be read.
`;

/** `sheetgate check`: the service's own validation, as a report. */
export async function check(ctx: CliContext, argv: readonly string[]): Promise<ExitCode> {
  return guard(ctx.out, async () => {
    const { values } = parseCommandArgs({ args: [...argv], options: COMMON_OPTIONS });
    if (values.help === true) {
      ctx.out.write(CHECK_HELP);
      return EXIT_OK;
    }
    const tab = await readTab(ctx.sheet);
    const snapshot = buildSnapshot(tab, { defaultRateLimit: ctx.defaultRateLimit ?? 60 }, ctx.now());
    const problems: RowProblem[] = hasNoHeader(tab)
      ? [{ row: 1, reason: 'no header row: run `sheetgate init`' }]
      : [...snapshot.problems].sort((a, b) => a.row - b.row);
    const keys = snapshot.byHash.size;
    if (values.json === true) {
      ctx.out.write(`${JSON.stringify({ ok: problems.length === 0, keys, problems })}\n`);
    } else {
      for (const p of problems) {
        ctx.out.write(`row ${p.row}: ${p.reason}${p.keyId === undefined ? '' : ` (key id ${p.keyId})`}\n`);
      }
      ctx.out.write(
        problems.length === 0
          ? `OK: ${keys} usable key(s), no problem rows.\n`
          : `${problems.length} problem row(s); ${keys} usable key(s).\n`,
      );
    }
    return problems.length === 0 ? EXIT_OK : EXIT_USAGE;
  });
}
