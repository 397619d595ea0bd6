import { SheetsError } from '../keys/sheets-error';
import type { CellValue } from '../keys/types';
import type { CellWrite } from './plan';

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
