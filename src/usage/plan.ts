/**
 * Turns a batch of usage deltas and a fresh read of the tab into the cells of one `values.batchUpdate`
 * (the usage write-back). Pure: the table, zone and batch in; the writes and what became of each key
 * out. Rows are found by key identity in *this* read, never by a remembered row number.
 */
import { epochToSerial, formatInZone } from '../keys/dates';
import { columnLetter, mapHeader, normalizeHeader } from '../keys/header';
import { cellText as text, rowIdentity } from '../keys/row-key';
import type { RowsByHash } from '../keys/row-key';
import { runToEnd } from '../slicing';
import type { CellValue, CellWrite } from '../keys/types';
import { mergeBatches } from './counter';
import type { KeyUsage, UsageBatch } from './counter';
import { quotaCellWrites } from './quota-plan';
import type { QuotaWrite } from './quota-plan';

export type { CellWrite } from '../keys/types';
export type { RowsByHash } from '../keys/row-key';

/** The absolute values one key's write set, remembered until the write's outcome is known (an unanswered write is settled by the next read). */
export interface Attempt {
  /** The delta this write carried. */
  readonly usage: KeyUsage;
  /** `usage_count` written: the value found + the delta. */
  readonly count: number;
  /** `last_used_at` written, as the serial Sheets stores for the text we sent (whole seconds). */
  readonly lastUsedSerial: number;
  /** `last_used_at` as found before the write; when it equals `lastUsedSerial` the date cannot tell the outcome. */
  readonly previousSerial: number | undefined;
}

/** Attempts by key hash. */
export type Attempts = ReadonlyMap<string, Attempt>;

export interface UsagePlan {
  readonly ok: true;
  /** Header cells first (when a column was missing), then one or two ranges per located key. Empty = write nothing. */
  readonly writes: readonly CellWrite[];
  readonly attempts: Attempts;
  /** Header names this write adds. */
  readonly addedColumns: readonly string[];
  /** Keys whose row is gone: their delta stays out of the sheet (no row is ever re-created). */
  readonly vanished: readonly KeyUsage[];
  /** Keys now on several rows: which one to count is unknowable, so none is written. */
  readonly ambiguous: readonly KeyUsage[];
  /** In-doubt writes this read shows were applied. */
  readonly confirmed: readonly KeyUsage[];
  /** In-doubt writes this read shows were not applied: their delta is in this write again. */
  readonly retried: readonly KeyUsage[];
  /** Rows whose `usage_count` held something other than a whole number ≥ 0 (counted from 0). */
  readonly unreadableCounts: readonly { readonly keyId: string; readonly row: number }[];
  /** The quota totals this write carries (only those that differ from the sheet). */
  readonly quotaWrites: readonly QuotaWrite[];
}

/** What a flush adds to the plan beside the usage deltas. */
export interface PlanExtras {
  /** The rows located already (`locateRowsSteps` of the same `rows`), so that they are not located twice. */
  readonly rowsByHash?: RowsByHash;
  /** Quota totals to write (`quota_used`, `quota_period`); written when they differ from the row's cells. */
  readonly quota?: readonly QuotaWrite[];
}

export type PlanResult = UsagePlan | { readonly ok: false; readonly reason: string };

const USAGE_COLUMNS = ['usage_count', 'last_used_at'] as const;
/** Columns the flush writes: their header cells are added when missing. */
type WrittenColumn = (typeof USAGE_COLUMNS)[number] | 'quota_used' | 'quota_period';
/** Half a second in days: a serial read back matches the one we wrote when closer than this. */
const SERIAL_TOLERANCE = 0.5 / 86_400;

/** `usage_count` as found: empty → 0; a whole number ≥ 0 (cell or text) as is; anything else undefined. */
function readCount(cell: CellValue | undefined): number | undefined {
  const t = text(cell);
  if (t === '') {
    return 0;
  }
  const n = typeof cell === 'number' ? cell : /^\d+$/.test(t) ? Number(t) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function readSerial(cell: CellValue | undefined): number | undefined {
  return typeof cell === 'number' && Number.isFinite(cell) ? cell : undefined;
}

function sameSerial(a: number | undefined, b: number | undefined): boolean {
  return a !== undefined && b !== undefined && Math.abs(a - b) < SERIAL_TOLERANCE;
}

/**
 * Did the in-doubt write land? Yes when `usage_count` holds exactly the total we tried to write, or when
 * `last_used_at` holds the time we tried to write and that time differs from what the cell held before (so an admin's
 * hand-reset of `usage_count` after the write still reads as applied). docs/usage.md lists the limits.
 */
export function wasApplied(attempt: Attempt, countCell: CellValue | undefined, lastUsedCell: CellValue | undefined) {
  if (readCount(countCell) === attempt.count) {
    return true;
  }
  return (
    !sameSerial(attempt.previousSerial, attempt.lastUsedSerial) &&
    sameSerial(readSerial(lastUsedCell), attempt.lastUsedSerial)
  );
}

/**
 * {@link RowsByHash} of a read of the tab, yielding every `stepRows` rows (the first half of
 * {@link planUsageWriteSteps}). Empty when the header has no key column.
 */
export function* locateRowsSteps(
  rows: readonly (readonly CellValue[])[],
  stepRows = Infinity,
): Generator<number, RowsByHash, void> {
  const { columns } = mapHeader(rows[0] ?? []);
  const found = new Map<string, number[]>();
  for (let i = 1; i < rows.length; i++) {
    if (i % stepRows === 0) {
      yield i;
    }
    const hash = rowIdentity(rows[i] ?? [], columns.api_key, columns.key_hash);
    if (hash !== undefined) {
      const seen = found.get(hash);
      if (seen === undefined) {
        found.set(hash, [i + 1]);
      } else {
        seen.push(i + 1);
      }
    }
  }
  return found;
}

/**
 * Plans one write: first settles the in-doubt attempts of an earlier write whose response never came (applied →
 * done; not applied → their delta joins this write), then gives every located key `usage_count` = value found +
 * delta and `last_used_at` = its latest use as `yyyy-mm-dd hh:mm:ss` wall-clock text in `timeZone` (written
 * `USER_ENTERED`, so Sheets stores a real date cell). Missing usage columns are added after the widest row.
 * Not ok when the header row has no key column or repeats one sheetgate needs: nothing can be located safely.
 */
export function planUsageWrite(
  rows: readonly (readonly CellValue[])[],
  timeZone: string,
  batch: UsageBatch,
  inDoubt: Attempts = new Map(),
): PlanResult {
  return runToEnd(planUsageWriteSteps(rows, timeZone, batch, inDoubt));
}

/**
 * {@link planUsageWrite} yielding every `step` rows while it locates them and every `step` keys while it plans them:
 * a 100,000-row tab takes ~0.1 s to locate and 10,000 keys as long to plan, so the flushers run it in slices
 * (`runInSlices`).
 */
export function* planUsageWriteSteps(
  rows: readonly (readonly CellValue[])[],
  timeZone: string,
  batch: UsageBatch,
  inDoubt: Attempts = new Map(),
  step = Infinity,
  extras: PlanExtras = {},
): Generator<number, PlanResult, void> {
  const header = rows[0] ?? [];
  const { columns } = mapHeader(header);
  if (columns.api_key === undefined && columns.key_hash === undefined) {
    return { ok: false, reason: 'Header row: no "api_key" (or "key_hash") column' };
  }
  const names = header.map(normalizeHeader);
  for (const name of ['api_key', 'key_hash', ...USAGE_COLUMNS, 'quota_used', 'quota_period']) {
    if (names.filter((n) => n === name).length > 1) {
      return { ok: false, reason: `Header row: column "${name}" appears twice` };
    }
  }
  const rowsByHash = extras.rowsByHash ?? (yield* locateRowsSteps(rows, step));

  const writes: CellWrite[] = [];
  const addedColumns: string[] = [];
  // A loop, not Math.max(...rows): spreading 100,000+ arguments can overflow the stack.
  let next = header.length;
  for (const r of rows) {
    next = Math.max(next, r.length);
  }
  const column = (name: WrittenColumn): number => {
    const index = columns[name];
    if (index !== undefined) {
      return index;
    }
    writes.push({ cells: `${columnLetter(next)}1`, values: [[name]] });
    addedColumns.push(name);
    return next++;
  };
  const countColumn = column('usage_count');
  const lastUsedColumn = column('last_used_at');

  const confirmed: KeyUsage[] = [];
  const retried = new Map<string, KeyUsage>();
  const vanished: KeyUsage[] = [];
  const ambiguous: KeyUsage[] = [];
  for (const [hash, attempt] of inDoubt) {
    const found = rowsByHash.get(hash);
    const cells = found?.length === 1 ? rows[(found[0] ?? 0) - 1] : undefined;
    if (cells === undefined) {
      (found === undefined ? vanished : ambiguous).push(attempt.usage);
    } else if (wasApplied(attempt, cells[countColumn], cells[lastUsedColumn])) {
      confirmed.push(attempt.usage);
    } else {
      retried.set(hash, attempt.usage);
    }
  }

  const attempts = new Map<string, Attempt>();
  const unreadableCounts: { keyId: string; row: number }[] = [];
  let planned = 0;
  for (const [hash, usage] of mergeBatches(batch, retried)) {
    if (++planned % step === 0) {
      yield planned;
    }
    const found = rowsByHash.get(hash);
    const row = found?.length === 1 ? found[0] : undefined;
    const cells = row === undefined ? undefined : rows[row - 1];
    if (row === undefined || cells === undefined) {
      (found === undefined ? vanished : ambiguous).push(usage);
      continue;
    }
    let current = readCount(cells[countColumn]);
    if (current === undefined) {
      unreadableCounts.push({ keyId: usage.keyId, row });
      current = 0;
    }
    const count = current + usage.count;
    const wholeSecond = usage.lastUsedAt - (((usage.lastUsedAt % 1000) + 1000) % 1000);
    const lastUsed = formatInZone(wholeSecond, timeZone);
    attempts.set(hash, {
      usage,
      count,
      lastUsedSerial: epochToSerial(wholeSecond, timeZone),
      previousSerial: readSerial(cells[lastUsedColumn]),
    });
    if (lastUsedColumn === countColumn + 1) {
      writes.push({
        cells: `${columnLetter(countColumn)}${row}:${columnLetter(lastUsedColumn)}${row}`,
        values: [[count, lastUsed]],
      });
    } else {
      writes.push({ cells: `${columnLetter(countColumn)}${row}`, values: [[count]] });
      writes.push({ cells: `${columnLetter(lastUsedColumn)}${row}`, values: [[lastUsed]] });
    }
  }
  const quota = quotaCellWrites(extras.quota ?? [], column);
  // Nothing to write: no write at all, not even the header cells (a flush with nothing to say costs no write).
  const anything = attempts.size > 0 || quota.written.length > 0;
  return {
    ok: true,
    writes: anything ? [...writes, ...quota.writes] : [],
    attempts,
    addedColumns: anything ? addedColumns : [],
    vanished,
    ambiguous,
    confirmed,
    retried: [...retried.values()],
    unreadableCounts,
    quotaWrites: quota.written,
  };
}
