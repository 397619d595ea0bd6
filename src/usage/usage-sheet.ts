import { SheetsError } from '../keys/sheets-error';
import { runInSlices } from '../keys/snapshot-chunked';
import type { ChunkedBuildOptions } from '../keys/snapshot-chunked';
import type { CellValue } from '../keys/types';
import type { UsageBatch } from './counter';
import { planUsageWriteSteps } from './plan';
import type { Attempts, CellWrite, UsagePlan } from './plan';

/**
 * The Sheets calls the usage flusher makes (its port); `GoogleSheet` (src/keys/sheet-source.ts) implements it as is.
 * One `readValues()` and one `batchUpdate()` per flush; `timeZone()` only when no key snapshot supplies the zone.
 */
export interface UsageSheet {
  /** The whole tab, `UNFORMATTED_VALUE` with date serials. @throws SheetsError */
  readValues(): Promise<CellValue[][]>;
  /** `properties.timeZone`. @throws SheetsError */
  timeZone(): Promise<string>;
  /** One `values.batchUpdate` of this tab. @throws SheetsError */
  batchUpdate(data: readonly CellWrite[], valueInputOption: 'USER_ENTERED'): Promise<void>;
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

/** Rows located, then keys planned, between two looks at the clock. */
const PLAN_STEP = 100;

/**
 * One flush's read and plan, shared by both flushers: reads the tab, then plans the write in slices of a few ms
 * (`slicing`, issue 8), so a 100,000-row tab or 10,000 keys touched never hold up requests for 0.1 s.
 * @throws SheetsError when the read fails, or `bad_table` (not retryable) when the header cannot locate rows safely.
 */
export async function readAndPlan(
  sheet: UsageSheet,
  timeZone: Promise<string>,
  batch: UsageBatch,
  inDoubt: Attempts,
  slicing?: ChunkedBuildOptions,
): Promise<UsagePlan> {
  const [zone, rows] = await Promise.all([timeZone, sheet.readValues()]);
  const planned = await runInSlices(planUsageWriteSteps(rows, zone, batch, inDoubt, PLAN_STEP), slicing);
  if (!planned.ok) {
    throw new SheetsError('bad_table', planned.reason, true);
  }
  return planned;
}
