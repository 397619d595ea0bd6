import { parseActive } from '../keys/row';
import { formatInZone } from '../keys/dates';
import { COMMON_OPTIONS, onePositional, parseCommandArgs } from './args';
import { EXIT_OK } from './context';
import type { CliContext, ExitCode } from './context';
import { guard } from './guard';
import { cell, cellValue, ensureColumns, readTab, requireHeader, text } from './tab';
import type { CellWrite, RowKey, Tab } from './tab';
import { takesEffect } from './takes-effect';
import { resolveTarget } from './target';

export const REVOKE_HELP = `Usage: sheetgate revoke KEY|ID|ROW [--json]

Sets is_active FALSE and revoked_at to now (sheet time zone) on the key's row, adding the revoked_at column when
the header lacks it. The service refuses the key (key_inactive) from its next reload: within seconds when it
detects changes (CHANGE_POLL_INTERVAL), else within API_KEY_CACHE_DURATION. The command prints how soon.

  KEY   the whole key
  ID    the key id or hash prefix that \`sheetgate list\` shows (at least 6 hex digits)
  ROW   a row number (2 or more)
A key that is on several rows is revoked on all of them. Already revoked rows are left as they are.
`;

/** Revoked already: inactive as the service reads `is_active`, with a `revoked_at`. Such rows are left alone. */
function isRevoked(tab: Tab, row: number): boolean {
  return parseActive(cellValue(tab, row, 'is_active')) === false && text(tab, row, 'revoked_at') !== '';
}

/** `sheetgate revoke`: deactivate a key and record when. */
export async function revoke(ctx: CliContext, argv: readonly string[]): Promise<ExitCode> {
  return guard(ctx.out, async () => {
    const { values, positionals } = parseCommandArgs({
      args: [...argv],
      options: COMMON_OPTIONS,
      allowPositionals: true,
    });
    if (values.help === true) {
      ctx.out.write(REVOKE_HELP);
      return EXIT_OK;
    }
    const input = onePositional(positionals, 'KEY, ID or ROW');
    const tab = await readTab(ctx.sheet);
    requireHeader(tab);
    const targets = resolveTarget(tab, input, { allowRow: true });
    const todo = targets.filter((t) => !isRevoked(tab, t.row));
    const now = ctx.now();
    const stamp = formatInZone(now, tab.timeZone);
    let added: readonly string[] = [];
    if (todo.length > 0) {
      const { at, writes, added: newColumns } = ensureColumns(tab, ['is_active', 'revoked_at']);
      added = newColumns;
      const rowWrites: CellWrite[] = todo.flatMap((t) => [
        { cells: cell(at('is_active'), t.row), values: [[false]] },
        { cells: cell(at('revoked_at'), t.row), values: [[stamp]] },
      ]);
      await ctx.sheet.batchUpdate([...writes, ...rowWrites], 'USER_ENTERED');
    }
    if (added.length > 0) {
      ctx.out.note(`Added column(s) ${added.join(', ')} to the header row.\n`);
    }
    if (todo.length > 0 && ctx.timing !== undefined) {
      ctx.out.note(takesEffect(ctx.timing));
    }
    const describe = (t: RowKey) => ({
      row: t.row,
      keyId: t.keyId ?? null,
      preview: t.preview ?? null,
      clientName: text(tab, t.row, 'client_name'),
    });
    const done = new Set(todo);
    if (values.json === true) {
      ctx.out.write(
        `${JSON.stringify({
          revoked: todo.map(describe),
          alreadyRevoked: targets.filter((t) => !done.has(t)).map(describe),
          revokedAt: todo.length > 0 ? new Date(now).toISOString() : null,
        })}\n`,
      );
      return EXIT_OK;
    }
    for (const t of targets) {
      const d = describe(t);
      const who = `${d.preview ?? '(no key)'} "${d.clientName}" (row ${d.row})`;
      ctx.out.write(done.has(t) ? `Revoked ${who} at ${stamp} ${tab.timeZone}.\n` : `${who} was already revoked.\n`);
    }
    return EXIT_OK;
  });
}
