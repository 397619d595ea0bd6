/**
 * The usage history's part of a flush (`USAGE_HISTORY_TAB`): what it adds to the flush's one read, the cells it adds
 * to the flush's `values.batchUpdate`, the rows of its one `values.append`, and what becomes of its deltas when a
 * write fails or gets no answer. The rows themselves are planned by `planHistoryWrite` (src/usage/history-plan.ts).
 *
 * Requests are dated by the flush that writes them: the day of the flush in the spreadsheet's zone.
 *
 * The window: the rows from `from` to the bottom of the tab (`A<from>:Z`), where `from` is the first row of the open
 * days (yesterday and today) in the last read, or where the last append landed. So a flush reads about
 * keys used × 2 days of rows, whatever the history's length. With no window known yet (a start, a new leader) the
 * flush first asks for the tab's grid size (`spreadsheets.get`) and reads its last {@link START_TAIL} rows.
 */
import { dayInZone } from '../keys/dates';
import { columnLetter, normalizeHeader, rangeStart } from '../keys/header';
import type { RangeValues, TabCells } from '../keys/sheet-source';
import type { SheetsError } from '../keys/sheets-error';
import type { CellValue } from '../keys/types';
import type { Logger } from '../log';
import type { KeyUsage, UsageBatch } from './counter';
import { dayKey, HISTORY_HEADER, planHistoryWrite, readDay } from './history-plan';
import type { DayAttempt, DayDelta, HistoryPlan } from './history-plan';
import type { CellWrite } from './plan';
import { historyCalls, refusedByServer, toSheetsFailure } from './usage-sheet';
import type { HistorySheet, UsageSheet } from './usage-sheet';

/** Rows read from the bottom of the grid when no window is known: two days of 2,000 keys plus a new tab's spare rows. */
export const START_TAIL = 5_000;

/** The history's cells of one flush, and what they carry. */
export interface HistoryStep {
  /** Cells for the flush's `values.batchUpdate`: the header of an empty tab and the rows found in the window. */
  readonly updates: readonly CellWrite[];
  /** The plan, or undefined when the history sits this flush out (its deltas are kept). */
  readonly plan: HistoryPlan | undefined;
  /** The deltas this flush took from the key usage: the history keeps them once the key tab's write went out. */
  readonly fresh: readonly DayDelta[];
}

/** What the write of the key tab's cells (and the history's updates) came to. */
export type WriteOutcome = 'written' | 'refused' | 'in_doubt';

function merge(into: Map<string, DayDelta>, delta: DayDelta): void {
  const key = dayKey(delta.day, delta.keyId);
  const seen = into.get(key);
  into.set(key, seen === undefined ? delta : { ...seen, count: seen.count + delta.count });
}

/**
 * The history of a flusher writing `tab` through `sheet`; undefined when `tab` is. @throws Error when `sheet` lacks
 * one of the history's calls.
 */
export function usageHistory(tab: string | undefined, sheet: UsageSheet, logger: Logger): UsageHistory | undefined {
  if (tab === undefined) {
    return undefined;
  }
  const calls = historyCalls(sheet);
  if (calls === undefined) {
    throw new Error('UsageFlusher: historyTab needs a sheet with readRanges, append, addTab and tabRows');
  }
  return new UsageHistory(tab, calls, logger);
}

/**
 * The history tab of one flusher. Holds the deltas not yet written (`pending`), the rows of a write that got no
 * answer (`inDoubt`, settled by the next read as the key tab's are), and where the window starts.
 */
export class UsageHistory {
  private pending = new Map<string, DayDelta>();
  private inDoubt = new Map<string, DayAttempt>();
  /** First sheet row of the window; undefined until a read or an append tells. */
  private from: number | undefined;
  /** The ranges the current flush reads, once known. */
  private reading: readonly TabCells[] | undefined;
  /** After a read Google refused with the history's ranges in it, the next flush reads the key tab alone. */
  private sitOut = false;
  /** This flush created the tab: it is empty, so its header and rows are written without reading it. */
  private created = false;

  constructor(
    readonly tab: string,
    private readonly sheet: HistorySheet,
    private readonly logger: Logger,
  ) {}

  /** Whether deltas wait to be written even when no key was used. */
  waiting(): boolean {
    return this.pending.size > 0 || this.inDoubt.size > 0;
  }

  /** At shutdown: what the history could not write is lost with this process; logged at error. */
  logUnwritten(): void {
    if (this.waiting()) {
      this.logger.error('usage history not written at shutdown', { tab: this.tab, requests: this.waitingRequests() });
    }
  }

  /** Requests waiting for the history (pending and in doubt), for logs. */
  private waitingRequests(): number {
    let n = 0;
    for (const d of this.pending.values()) {
      n += d.count;
    }
    for (const a of this.inDoubt.values()) {
      n += a.delta.count;
    }
    return n;
  }

  /**
   * The history ranges this flush reads beside the key tab: the header row and the window. With no window known, the
   * tab's grid size is asked first, and the tab created when missing: then nothing is read (the new tab is empty).
   * Undefined when the history reads nothing this flush; never rejects.
   */
  async ranges(): Promise<readonly TabCells[] | undefined> {
    this.reading = undefined;
    this.created = false;
    if (this.sitOut) {
      this.sitOut = false;
      return undefined;
    }
    if (this.from === undefined) {
      try {
        const rows = await this.sheet.tabRows(this.tab);
        if (rows === undefined) {
          await this.sheet.addTab(this.tab);
          this.logger.info(`usage history tab "${this.tab}" created`);
          this.from = 2;
          this.created = true;
          return undefined;
        }
        this.from = Math.max(2, rows - START_TAIL + 1);
      } catch (err) {
        this.failed('find or create the tab', toSheetsFailure(err));
        return undefined;
      }
    }
    this.reading = [
      { tab: this.tab, cells: 'A1:Z1' },
      { tab: this.tab, cells: `A${this.from}:Z` },
    ];
    return this.reading;
  }

  /**
   * The flush's read failed. When Google refused it (400) with the history's ranges in it, the next flush reads the
   * key tab alone, so the history never holds up `usage_count` twice: a deleted tab (`Unable to parse range`) is
   * created by that flush; a window that now starts below the grid (rows deleted: `exceeds grid limits`) is found
   * again from the grid size by the flush after.
   */
  readFailed(error: SheetsError): void {
    if (this.reading === undefined || error.status !== 400) {
      return;
    }
    const missing = error.code === 'missing_tab' && error.message.includes(`'${this.tab}`);
    this.from = undefined;
    this.sitOut = !missing;
    this.logger.warn(
      missing
        ? `usage history tab "${this.tab}" is missing: the next flush creates it (and writes the key tab alone)`
        : 'usage history: Google refused the read of its window; the next flush writes the key tab alone',
      { tab: this.tab, code: error.code },
    );
  }

  /**
   * Plans this flush's history: the deltas waiting, plus `taken` (the flush's new key deltas) dated `now` in `zone`,
   * against the rows read. `read` is undefined when the history read nothing this flush.
   */
  plan(
    read: readonly RangeValues[] | undefined,
    taken: UsageBatch,
    names: ReadonlyMap<string, string>,
    now: number,
    zone: string,
  ): HistoryStep {
    const today = dayInZone(now, zone);
    const fresh = [...taken.values()].map((u: KeyUsage) => ({
      day: today,
      keyId: u.keyId,
      clientName: names.get(u.hash) ?? '',
      count: u.count,
    }));
    if (this.created) {
      return this.planCreated(fresh);
    }
    if (read === undefined || this.from === undefined) {
      return { updates: [], plan: undefined, fresh };
    }
    const header = read[0]?.values[0] ?? [];
    const rows = read[1]?.values ?? [];
    const window = { header, rows, firstRow: this.from };
    const planned = planHistoryWrite(window, [...this.pending.values(), ...fresh], this.inDoubt);
    if (!planned.ok) {
      this.logger.warn(`usage history not written: ${planned.reason}`, { tab: this.tab });
      return { updates: [], plan: undefined, fresh };
    }
    // Never past the last row read: a range starting below the grid is refused.
    this.from = this.openFrom(header, rows, today - 1) ?? this.from + Math.max(rows.length - 1, 0);
    const updates = planned.updates.map((u) => ({ ...u, tab: this.tab }));
    return { updates, plan: planned, fresh };
  }

  /**
   * The flush that created the tab: header and rows go into the flush's `values.batchUpdate` at rows 1, 2, 3…, with
   * no append (the tab is empty: nothing to read, nothing to find).
   */
  private planCreated(fresh: readonly DayDelta[]): HistoryStep {
    const empty = { header: [], rows: [], firstRow: 2 };
    const planned = planHistoryWrite(empty, [...this.pending.values(), ...fresh], this.inDoubt);
    if (!planned.ok) {
      return { updates: [], plan: undefined, fresh };
    }
    const attempts = new Map<string, DayAttempt>();
    let row = 2;
    for (const [key, attempt] of planned.attempts) {
      attempts.set(key, { ...attempt, row: row++ });
    }
    const rows = planned.newRows;
    const updates: CellWrite[] = [...planned.updates];
    if (rows.length > 0) {
      const width = rows[0]?.length ?? HISTORY_HEADER.length;
      updates.push({ cells: `A2:${columnLetter(width - 1)}${rows.length + 1}`, values: [...rows] });
    }
    return {
      updates: updates.map((u) => ({ ...u, tab: this.tab })),
      plan: { ...planned, newRows: [], attempts },
      fresh,
    };
  }

  /**
   * After the flush's `values.batchUpdate` (which carried `step.updates`): keeps every delta it did not write, then
   * appends the new rows when it was written. Never rejects; a failure here leaves the key tab's write as it was.
   */
  async settle(step: HistoryStep, outcome: WriteOutcome): Promise<void> {
    const { plan } = step;
    if (plan === undefined) {
      if (outcome !== 'refused') {
        step.fresh.forEach((d) => merge(this.pending, d)); // the key tab has them: the history must keep them
      }
      return;
    }
    const waiting = this.pending;
    this.pending = new Map();
    this.inDoubt = new Map(); // the read settled every earlier attempt: confirmed, or retried in this plan
    if (outcome === 'refused') {
      // The key deltas go back to the ledger and come again as new; what the history held before stays held.
      waiting.forEach((d) => merge(this.pending, d));
      plan.retried.forEach((d) => merge(this.pending, d));
      return;
    }
    const added: DayAttempt[] = [];
    for (const [key, attempt] of plan.attempts) {
      if (attempt.row !== undefined) {
        if (outcome === 'in_doubt') {
          this.inDoubt.set(key, attempt);
        }
      } else {
        added.push(attempt);
      }
    }
    if (outcome === 'in_doubt' || added.length === 0) {
      added.forEach((a) => merge(this.pending, a.delta)); // not sent
      return;
    }
    await this.append(plan, added);
  }

  private async append(plan: HistoryPlan, added: readonly DayAttempt[]): Promise<void> {
    try {
      const range = await this.sheet.append([...plan.newRows], 'USER_ENTERED', this.tab);
      const start = rangeStart(range)?.row;
      if (start !== undefined) {
        this.from = Math.min(this.from ?? start, start);
      }
    } catch (err) {
      const error = toSheetsFailure(err);
      const refused = refusedByServer(error);
      for (const a of added) {
        if (refused) {
          merge(this.pending, a.delta);
        } else {
          this.inDoubt.set(dayKey(a.delta.day, a.delta.keyId), a);
        }
      }
      this.failed(refused ? 'append its rows' : 'append its rows (no answer: settled by the next read)', error);
    }
  }

  /** First sheet row of the window whose date is `openDay` or later; undefined when there is none. */
  private openFrom(header: readonly CellValue[], rows: readonly (readonly CellValue[])[], openDay: number) {
    const column = header.map(normalizeHeader).indexOf('date');
    const at = rows.findIndex((cells) => (readDay(cells[column]) ?? -Infinity) >= openDay);
    return column === -1 || at === -1 ? undefined : (this.from ?? 2) + at;
  }

  private failed(what: string, error: SheetsError): void {
    this.logger.warn(`usage history: could not ${what}; its requests wait for a later flush`, {
      tab: this.tab,
      code: error.code,
      error: error.message,
      waitingRequests: this.waitingRequests(),
    });
  }
}
