import { SheetsError } from '../keys/sheets-error';
import { runInSlices } from '../slicing';
import type { SliceOptions } from '../slicing';
import type { RangeValues, TabCells } from '../keys/sheet-source';
import type { CellValue } from '../keys/types';
import { mapHeader } from '../keys/header';
import type { QuotaCounter } from '../limits/quota-counter';
import type { CountedKey, UsageBatch } from './counter';
import { locateRowsSteps, planUsageWriteSteps } from './plan';
import type { Attempts, CellWrite, UsagePlan } from './plan';
import { quotaRowStates } from './quota-plan';
import type { QuotaWrite } from './quota-plan';

/**
 * The Sheets calls the usage flusher makes (its port); `GoogleSheet` (src/keys/sheet-source.ts) implements it as is.
 * One read (`readValues()`, or `readRanges()` when a history tab is kept) and one `batchUpdate()` per flush, plus one
 * `append()` when the history gets new rows; `timeZone()` only when no key snapshot supplies the zone.
 */
export interface UsageSheet {
  /** The whole tab, `UNFORMATTED_VALUE` with date serials. @throws SheetsError */
  readValues(): Promise<CellValue[][]>;
  /** `properties.timeZone`. @throws SheetsError */
  timeZone(): Promise<string>;
  /** One `values.batchUpdate` of this tab (and of the tabs ranges name). @throws SheetsError */
  batchUpdate(data: readonly CellWrite[], valueInputOption: 'USER_ENTERED'): Promise<void>;
  /** One `values.batchGet`, `UNFORMATTED_VALUE` with date serials: the history's read. @throws SheetsError */
  readRanges?(ranges: readonly TabCells[]): Promise<RangeValues[]>;
  /** One `values.append` of rows to `tab`; the range written. @throws SheetsError */
  append?(rows: CellValue[][], valueInputOption: 'USER_ENTERED', tab: string): Promise<string | undefined>;
  /** Adds the tab `title`. @throws SheetsError */
  addTab?(title: string): Promise<void>;
  /** The grid's row count of the tab `title`; undefined when it does not exist. @throws SheetsError */
  tabRows?(title: string): Promise<number | undefined>;
}

/** The history's calls of a {@link UsageSheet} that has them all. */
export type HistorySheet = Required<Pick<UsageSheet, 'readRanges' | 'append' | 'addTab' | 'tabRows'>>;

function hasHistoryCalls(sheet: UsageSheet): sheet is UsageSheet & HistorySheet {
  return (
    sheet.readRanges !== undefined &&
    sheet.append !== undefined &&
    sheet.addTab !== undefined &&
    sheet.tabRows !== undefined
  );
}

/** `sheet`'s history calls, when it has them all. */
export function historyCalls(sheet: UsageSheet): HistorySheet | undefined {
  return hasHistoryCalls(sheet)
    ? {
        readRanges: (ranges) => sheet.readRanges(ranges),
        append: (rows, option, tab) => sheet.append(rows, option, tab),
        addTab: (title) => sheet.addTab(title),
        tabRows: (title) => sheet.tabRows(title),
      }
    : undefined;
}

/**
 * `sheet` with every write passed through `wrap` (change detection's `ownWrite`, which tells the flush's own version
 * bumps from editors' changes).
 */
export function withWrappedWrites(sheet: UsageSheet, wrap: <T>(write: () => Promise<T>) => Promise<T>): UsageSheet {
  const history = historyCalls(sheet);
  return {
    readValues: () => sheet.readValues(),
    timeZone: () => sheet.timeZone(),
    batchUpdate: (data, valueInputOption) => wrap(() => sheet.batchUpdate(data, valueInputOption)),
    ...(history === undefined
      ? {}
      : {
          readRanges: (ranges: readonly TabCells[]) => history.readRanges(ranges),
          append: (rows: CellValue[][], option: 'USER_ENTERED', tab: string) =>
            wrap(() => history.append(rows, option, tab)),
          addTab: (title: string) => wrap(() => history.addTab(title)),
          tabRows: (title: string) => history.tabRows(title),
        }),
  };
}

/** Anything a Sheets call threw, as a {@link SheetsError} (the adapter already maps googleapis errors). */
export function toSheetsFailure(err: unknown): SheetsError {
  return err instanceof SheetsError ? err : new SheetsError('unknown', String(err), true, undefined, { cause: err });
}

/**
 * Google answered the write with a refusal (4xx: 429 quota, 403, 400): it was not applied, so its deltas can simply be
 * counted again. Everything else (timeout, lost connection, 5xx) may have been applied: the outcome is unknown.
 */
export function refusedByServer(error: SheetsError): boolean {
  return error.status !== undefined && error.status >= 400 && error.status < 500;
}

const ZONE_TTL_MS = 60 * 60_000;

/**
 * The spreadsheet's time zone for a flush: as the key store last read it (`known`), so a flush costs one read, not
 * two; else read from the sheet and kept for an hour.
 */
export class SheetZone {
  private read: { readonly name: string; readonly at: number } | undefined;

  constructor(
    private readonly sheet: Pick<UsageSheet, 'timeZone'>,
    private readonly known: (() => string | undefined) | undefined,
    private readonly now: () => number,
  ) {}

  async get(): Promise<string> {
    const known = this.known?.();
    if (known !== undefined) {
      return known;
    }
    if (this.read === undefined || this.now() - this.read.at > ZONE_TTL_MS) {
      this.read = { name: await this.sheet.timeZone(), at: this.now() };
    }
    return this.read.name;
  }
}

/** Rows located, then keys planned, between two looks at the clock. */
const PLAN_STEP = 100;

/** The quota side of a flush: the counters, the clock, and keys to look at beside those with usage. */
export interface FlushQuotas {
  readonly counter: QuotaCounter;
  readonly now: number;
  /** Keys refused for quota since the last flush: their row is read for a hand reset even without usage. */
  readonly watched: Iterable<CountedKey>;
}

/**
 * One flush's read and plan, shared by both flushers: reads the tab, locates the rows, settles the quota counters
 * against what the rows say (`quotas`), then plans the write — in slices of a few ms (`slicing`), so a
 * 100,000-row tab or 10,000 keys touched never hold up requests for 0.1 s.
 * @throws SheetsError when the read fails, or `bad_table` (not retryable) when the header cannot locate rows safely.
 */
export async function readAndPlan(
  read: Promise<CellValue[][]>,
  timeZone: Promise<string>,
  batch: UsageBatch,
  inDoubt: Attempts,
  slicing?: SliceOptions,
  quotas?: FlushQuotas,
): Promise<FlushPlan> {
  const [zone, rows] = await Promise.all([timeZone, read]);
  const rowsByHash = await runInSlices(locateRowsSteps(rows, PLAN_STEP), slicing);
  const quota = quotas === undefined ? [] : await quotaTotals(rows, rowsByHash, zone, batch, quotas);
  const steps = planUsageWriteSteps(rows, zone, batch, inDoubt, PLAN_STEP, { rowsByHash, quota });
  const planned = await runInSlices(steps, slicing);
  if (!planned.ok) {
    throw new SheetsError('bad_table', planned.reason, true);
  }
  return { ...planned, zone, clientNames: clientNames(rows, rowsByHash, batch) };
}

/** A flush's plan, with the zone it was made in and the `client_name` of each batch key found on one row. */
export interface FlushPlan extends UsagePlan {
  readonly zone: string;
  readonly clientNames: ReadonlyMap<string, string>;
}

function clientNames(
  rows: readonly (readonly CellValue[])[],
  rowsByHash: Parameters<typeof quotaRowStates>[2],
  batch: UsageBatch,
): Map<string, string> {
  const column = mapHeader(rows[0] ?? []).columns.client_name;
  const names = new Map<string, string>();
  for (const hash of batch.keys()) {
    const found = rowsByHash.get(hash);
    const cell = column === undefined || found?.length !== 1 ? undefined : rows[(found[0] ?? 0) - 1]?.[column];
    names.set(hash, cell === undefined ? '' : String(cell).trim());
  }
  return names;
}

/** The quota rows among the batch's and the watched keys, settled against the counters: the totals to write. */
async function quotaTotals(
  rows: readonly (readonly CellValue[])[],
  rowsByHash: Parameters<typeof quotaRowStates>[2],
  zone: string,
  batch: UsageBatch,
  quotas: FlushQuotas,
): Promise<QuotaWrite[]> {
  const keys = new Map<string, CountedKey>(batch);
  for (const key of quotas.watched) {
    keys.set(key.hash, key);
  }
  const { columns } = mapHeader(rows[0] ?? []);
  const states = quotaRowStates(rows, columns, rowsByHash, keys.values(), quotas.now, zone);
  const totals = await quotas.counter.reconcile(states);
  return states.flatMap((state) => {
    const used = totals.get(state.keyId);
    return used === undefined ? [] : [{ state, used }];
  });
}
