/**
 * The usage history tab (`USAGE_HISTORY_TAB`, header `date, key_id, client_name, requests`): one row per key per day of
 * the spreadsheet's zone. Pure: a read of a bounded window of the tab, the day deltas and the zone in; the cells of
 * one write out. Rows are found by identity (`date` + `key_id`) in *this* read, never by a remembered row number, so
 * an admin who sorts or deletes rows between two flushes never gets a count written into another key's row.
 *
 * Every count written is absolute (`requests` found + delta), so writing the same plan twice changes nothing; a write
 * whose answer never came is settled by the next read, as the key tab's write is (docs/usage.md#usage-history).
 */
import { formatDay, serialDay } from '../keys/dates';
import { columnLetter, normalizeHeader } from '../keys/header';
import type { CellValue } from '../keys/types';
import { cellText } from '../keys/row-key';
import type { CellWrite } from './plan';

export const HISTORY_HEADER = ['date', 'key_id', 'client_name', 'requests'] as const;

/** Accepted requests of one key on one day not yet in the history tab. */
export interface DayDelta {
  /** The day, as `dayInZone` numbers it (days since 1970-01-01 of the sheet's wall clock). */
  readonly day: number;
  readonly keyId: string;
  readonly clientName: string;
  readonly count: number;
}

/** What one row of the history write set, remembered until the write's outcome is known. */
export interface DayAttempt {
  readonly delta: DayDelta;
  /** `requests` written: the value found + the delta. */
  readonly requests: number;
  /** The sheet row whose `requests` this write sets; undefined for a new row. */
  readonly row?: number;
}

/** A bounded stretch of the tab as read: the header row, and `rows` starting at sheet row `firstRow`. */
export interface HistoryWindow {
  readonly header: readonly CellValue[];
  readonly rows: readonly (readonly CellValue[])[];
  /** 1-based sheet row of `rows[0]`. */
  readonly firstRow: number;
}

export interface HistoryPlan {
  readonly ok: true;
  /** The header cells (an empty tab) and the `requests` of rows found in the window: absolute values. */
  readonly updates: readonly CellWrite[];
  /** Rows to add, `USER_ENTERED`: date as `yyyy-mm-dd` text (a date cell), key id and client name as forced text. */
  readonly newRows: readonly CellValue[][];
  /** Every delta of this write, by {@link dayKey}. */
  readonly attempts: ReadonlyMap<string, DayAttempt>;
  /** In-doubt rows this read shows were written. */
  readonly confirmed: readonly DayDelta[];
  /** In-doubt rows this read shows were not written: their delta is in this write again. */
  readonly retried: readonly DayDelta[];
}

export type HistoryPlanResult = HistoryPlan | { readonly ok: false; readonly reason: string };

/** The identity of a history row: day and key id. */
export function dayKey(day: number, keyId: string): string {
  return `${day}|${keyId}`;
}

/** A `date` cell as a day: a date serial (what Sheets stores for a typed date) or `yyyy-mm-dd` text. */
export function readDay(cell: CellValue | undefined): number | undefined {
  if (typeof cell === 'number' && Number.isFinite(cell)) {
    return serialDay(cell);
  }
  const m = typeof cell === 'string' ? /^\s*(\d{4})-(\d{2})-(\d{2})\s*$/.exec(cell) : null;
  if (m === null) {
    return undefined;
  }
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return formatDay(ms / 86_400_000) === `${m[1]}-${m[2]}-${m[3]}` ? ms / 86_400_000 : undefined;
}

function readRequests(cell: CellValue | undefined): number {
  const n = typeof cell === 'number' ? cell : typeof cell === 'string' && /^\s*\d+\s*$/.test(cell) ? Number(cell) : 0;
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

type HistoryColumns = Record<(typeof HISTORY_HEADER)[number], number>;

/** Columns of the header row, or why it cannot be used. An empty header row gives `undefined`: the plan writes one. */
function historyColumns(header: readonly CellValue[]): HistoryColumns | undefined | { readonly reason: string } {
  const names = header.map(normalizeHeader);
  if (names.every((n) => n === '')) {
    return undefined;
  }
  const at = (name: string): number => names.indexOf(name);
  for (const name of HISTORY_HEADER) {
    if (at(name) === -1) {
      return { reason: `history header row: no "${name}" column` };
    }
    if (names.lastIndexOf(name) !== at(name)) {
      return { reason: `history header row: column "${name}" appears twice` };
    }
  }
  return { date: at('date'), key_id: at('key_id'), client_name: at('client_name'), requests: at('requests') };
}

/** The first row of each day and key in the window, with its `requests`. */
function locate(
  window: HistoryWindow,
  columns: HistoryColumns,
): Map<string, { readonly row: number; readonly requests: number }> {
  const found = new Map<string, { row: number; requests: number }>();
  window.rows.forEach((cells, i) => {
    const day = readDay(cells[columns.date]);
    const keyId = cellText(cells[columns.key_id]);
    if (day === undefined || keyId === '') {
      return;
    }
    const key = dayKey(day, keyId);
    if (!found.has(key)) {
      found.set(key, { row: window.firstRow + i, requests: readRequests(cells[columns.requests]) });
    }
  });
  return found;
}

/**
 * Plans one history write: settles the rows of an earlier write that got no answer (a row of that day and key holding
 * exactly the attempted `requests` → written; else its delta joins this write), then gives every day and key found in
 * the window `requests` = found + delta and every other one a new row. Not ok when the header row lacks a column or
 * repeats one: nothing can be located safely.
 */
export function planHistoryWrite(
  window: HistoryWindow,
  deltas: Iterable<DayDelta>,
  inDoubt: ReadonlyMap<string, DayAttempt> = new Map(),
): HistoryPlanResult {
  const columns = historyColumns(window.header);
  if (columns !== undefined && 'reason' in columns) {
    return { ok: false, reason: columns.reason };
  }
  const updates: CellWrite[] = [];
  let found = new Map<string, { readonly row: number; readonly requests: number }>();
  let at: HistoryColumns = { date: 0, key_id: 1, client_name: 2, requests: 3 };
  if (columns === undefined) {
    updates.push({ cells: `A1:${columnLetter(HISTORY_HEADER.length - 1)}1`, values: [[...HISTORY_HEADER]] });
  } else {
    found = locate(window, columns);
    at = columns;
  }
  const width = Math.max(...Object.values(at)) + 1;

  const confirmed: DayDelta[] = [];
  const retried: DayDelta[] = [];
  const pending = new Map<string, DayDelta>();
  const add = (delta: DayDelta): void => {
    const key = dayKey(delta.day, delta.keyId);
    const seen = pending.get(key);
    pending.set(key, seen === undefined ? delta : { ...seen, count: seen.count + delta.count });
  };
  for (const attempt of inDoubt.values()) {
    const row = found.get(dayKey(attempt.delta.day, attempt.delta.keyId));
    if (row?.requests === attempt.requests) {
      confirmed.push(attempt.delta);
    } else {
      retried.push(attempt.delta);
      add(attempt.delta);
    }
  }
  for (const delta of deltas) {
    add(delta);
  }

  const attempts = new Map<string, DayAttempt>();
  const newRows: CellValue[][] = [];
  const sorted = [...pending.entries()].sort(([, a], [, b]) => a.day - b.day || a.keyId.localeCompare(b.keyId));
  for (const [key, delta] of sorted) {
    const row = found.get(key);
    const requests = (row?.requests ?? 0) + delta.count;
    attempts.set(key, row === undefined ? { delta, requests } : { delta, requests, row: row.row });
    if (row !== undefined) {
      updates.push({ cells: `${columnLetter(at.requests)}${row.row}`, values: [[requests]] });
      continue;
    }
    // Each value under its own header cell, whatever columns an admin put between them.
    const cells: CellValue[] = Array.from({ length: width }, () => '');
    cells[at.date] = formatDay(delta.day);
    // An apostrophe keeps USER_ENTERED from reading an id of digits as a number, or a name as a formula or boolean.
    cells[at.key_id] = `'${delta.keyId}`;
    cells[at.client_name] = `'${delta.clientName}`;
    cells[at.requests] = requests;
    newRows.push(cells);
  }
  return { ok: true, updates, newRows, attempts, confirmed, retried };
}
