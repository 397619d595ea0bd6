import { COLUMNS, normalizeHeader } from '../keys/header';
import { COMMON_OPTIONS, parseCommandArgs } from './args';
import { EXIT_OK, UsageError } from './context';
import type { CliContext, ExitCode } from './context';
import { guard } from './guard';
import { isBlank } from './tab';

/** The header `init` writes: every column sheetgate reads or writes, in the parser's order. */
export const STANDARD_HEADER = COLUMNS;

export const INIT_HELP = `Usage: sheetgate init [--json]

Writes the header row to an empty tab:
  ${STANDARD_HEADER.join(', ')}
Refuses (exit 1) when the tab already has content; succeeds without writing when the header is already exactly this.
The tab itself must exist (Sheets: add a sheet named as GOOGLE_SHEET_NAME / --tab).
`;

/** `sheetgate init`: write the header row to an empty tab; never overwrite anything. */
export async function init(ctx: CliContext, argv: readonly string[]): Promise<ExitCode> {
  return guard(ctx.out, async () => {
    const { values } = parseCommandArgs({ args: [...argv], options: COMMON_OPTIONS });
    if (values.help === true) {
      ctx.out.write(INIT_HELP);
      return EXIT_OK;
    }
    const rows = await ctx.sheet.readValues();
    const tab = ctx.sheet.target.sheetName;
    const header = rows[0]?.map(normalizeHeader) ?? [];
    const already = rows.length === 1 && header.join('\t') === STANDARD_HEADER.join('\t');
    if (!already && rows.some((r) => !isBlank(r))) {
      throw new UsageError(`tab "${tab}" is not empty (${rows.length} rows): init writes only to an empty tab`);
    }
    if (!already) {
      await ctx.sheet.batchUpdate([{ cells: 'A1', values: [[...STANDARD_HEADER]] }], 'RAW');
    }
    if (values.json === true) {
      ctx.out.write(`${JSON.stringify({ initialized: !already, tab, header: STANDARD_HEADER })}\n`);
    } else {
      ctx.out.write(
        already ? `Tab "${tab}" already has the sheetgate header.\n` : `Wrote the header row to tab "${tab}".\n`,
      );
    }
    return EXIT_OK;
  });
}
