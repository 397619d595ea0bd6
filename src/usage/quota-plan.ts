/**
 * The quota side of a usage flush. Pure: a fresh read of the tab, the located rows and the clock in; what each
 * quota key's row says about the current period out, then the `quota_used` / `quota_period` cells to write.
 *
 * `quota_used` is written as the counter's total for the period (an absolute value: rewriting it is harmless), and
 * `quota_period` as text (`'2026-12-05`: the apostrophe keeps `USER_ENTERED` from turning it into a date).
 */
import { columnLetter } from '../keys/header';
import type { HeaderMap } from '../keys/header';
import { parseQuota, quotaWindow, readQuotaPeriod } from '../keys/quota';
import type { RowsByHash } from '../keys/row-key';
import type { CellValue, CellWrite } from '../keys/types';
import type { QuotaWritten } from '../limits/quota-counter';
import type { CountedKey } from './counter';

/** What one quota key's row holds for the current period. */
export interface QuotaRowState extends CountedKey {
  /** 1-based sheet row. */
  readonly row: number;
  /** The current period's id (`2026-12-05`, `2026-12`). */
  readonly period: string;
  /** `quota_used` as it counts for `period`: 0 when `quota_period` names another period (or none). */
  readonly sheetUsed: number;
  /** Whether the cells already hold exactly `period` and this count (nothing to write if the count is unchanged). */
  readonly cellsCurrent: boolean;
}

/** The period's total to write for one key. */
export interface QuotaWrite {
  readonly state: QuotaRowState;
  readonly used: number;
}

function wholeNumber(cell: CellValue | undefined): number | undefined {
  const n = typeof cell === 'number' ? cell : typeof cell === 'string' && /^\s*\d+\s*$/.test(cell) ? Number(cell) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The quota state of each of `keys` whose row is found exactly once and holds a readable `quota`, at `now` in
 * `timeZone`. Keys without a quota, without a row, or on several rows are left out.
 */
export function quotaRowStates(
  rows: readonly (readonly CellValue[])[],
  columns: HeaderMap,
  rowsByHash: RowsByHash,
  keys: Iterable<CountedKey>,
  now: number,
  timeZone: string,
): QuotaRowState[] {
  const states: QuotaRowState[] = [];
  if (columns.quota === undefined) {
    return states;
  }
  for (const key of keys) {
    const found = rowsByHash.get(key.hash);
    const row = found?.length === 1 ? found[0] : undefined;
    const cells = row === undefined ? undefined : rows[row - 1];
    const quota = cells === undefined ? undefined : parseQuota(cells[columns.quota]);
    if (row === undefined || cells === undefined || quota === undefined || quota === 'invalid') {
      continue;
    }
    const period = quotaWindow(quota.period, now, timeZone).id;
    const usedCell = columns.quota_used === undefined ? undefined : cells[columns.quota_used];
    const periodCell = columns.quota_period === undefined ? undefined : cells[columns.quota_period];
    const current = readQuotaPeriod(periodCell, quota.period) === period;
    const used = current ? (wholeNumber(usedCell) ?? 0) : 0;
    states.push({
      hash: key.hash,
      keyId: key.keyId,
      row,
      period,
      sheetUsed: used,
      cellsCurrent: current && typeof periodCell === 'string' && wholeNumber(usedCell) !== undefined,
    });
  }
  return states;
}

/**
 * The cells of the `quota` writes whose values differ from the row's: `quota_used` and `quota_period` side by side when
 * they are adjacent, else one range each. `column` gives each column's index (adding the header cell when missing).
 */
export function quotaCellWrites(
  quota: readonly QuotaWrite[],
  column: (name: 'quota_used' | 'quota_period') => number,
): { readonly writes: CellWrite[]; readonly written: readonly QuotaWrite[] } {
  const changed = quota.filter((q) => !(q.state.cellsCurrent && q.used === q.state.sheetUsed));
  if (changed.length === 0) {
    return { writes: [], written: [] };
  }
  const usedColumn = column('quota_used');
  const periodColumn = column('quota_period');
  const writes: CellWrite[] = [];
  for (const { state, used } of changed) {
    const period = `'${state.period}`;
    if (periodColumn === usedColumn + 1) {
      const cells = `${columnLetter(usedColumn)}${state.row}:${columnLetter(periodColumn)}${state.row}`;
      writes.push({ cells, values: [[used, period]] });
    } else {
      writes.push({ cells: `${columnLetter(usedColumn)}${state.row}`, values: [[used]] });
      writes.push({ cells: `${columnLetter(periodColumn)}${state.row}`, values: [[period]] });
    }
  }
  return { writes, written: changed };
}

/** The totals of `writes`, as the quota counters record them once written. */
export function quotaTotalsOf(writes: readonly QuotaWrite[]): QuotaWritten[] {
  return writes.map(({ state, used }) => ({ keyId: state.keyId, period: state.period, used }));
}
