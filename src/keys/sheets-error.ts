/** What went wrong talking to Google, in operator terms. */
export type SheetsErrorCode =
  | 'not_shared'
  | 'not_found'
  | 'missing_tab'
  | 'unauthenticated'
  | 'quota'
  | 'unavailable'
  | 'timeout'
  | 'bad_table'
  | 'unknown';

/** A failed Sheets call. `message` is for operators (logs, /auth/status); it never contains a key. */
export class SheetsError extends Error {
  override readonly name = 'SheetsError';
  constructor(
    readonly code: SheetsErrorCode,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface GaxiosLike {
  status?: number;
  response?: { status?: number; data?: unknown };
  code?: string | number;
  message?: string;
}

function googleMessage(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null && 'error' in data) {
    const error = data.error;
    if (typeof error === 'object' && error !== null && 'message' in error) {
      return String(error.message);
    }
  }
  return undefined;
}

/** Names and messages down the `cause` chain: native fetch nests the real failure (TimeoutError, ECONNREFUSED). */
function causeText(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const e = current as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown };
    parts.push(String(e.name), String(e.code), String(e.message));
    current = e.cause;
  }
  return parts.join(' ');
}

/** Where the call went, for messages. */
export interface SheetsTarget {
  readonly spreadsheetId: string;
  readonly sheetName: string;
  readonly clientEmail: string;
}

/** Turns a googleapis/gaxios failure into a {@link SheetsError} with an actionable message. */
export function toSheetsError(err: unknown, target: SheetsTarget): SheetsError {
  if (err instanceof SheetsError) {
    return err;
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as GaxiosLike;
  const status = e.response?.status ?? (typeof e.status === 'number' ? e.status : undefined);
  const google = googleMessage(e.response?.data) ?? e.message ?? String(err);
  const opts = { cause: err };
  const id = target.spreadsheetId;
  if (status === 403) {
    return new SheetsError(
      'not_shared',
      `Spreadsheet ${id}: permission denied. Share the sheet with ${target.clientEmail} as Editor (Google: ${google})`,
      false,
      status,
      opts,
    );
  }
  if (status === 404) {
    return new SheetsError(
      'not_found',
      `Spreadsheet ${id} not found: check GOOGLE_SHEET_ID (Google: ${google})`,
      false,
      status,
      opts,
    );
  }
  if (status === 400 && /parse range/i.test(google)) {
    return new SheetsError(
      'missing_tab',
      `Spreadsheet ${id} has no tab "${target.sheetName}": check GOOGLE_SHEET_NAME (Google: ${google})`,
      false,
      status,
      opts,
    );
  }
  if (status === 401) {
    return new SheetsError(
      'unauthenticated',
      `Google refused the service-account credentials (Google: ${google})`,
      false,
      status,
      opts,
    );
  }
  if (status === 429) {
    return new SheetsError('quota', `Sheets API quota exhausted; backing off (Google: ${google})`, true, status, opts);
  }
  if (status !== undefined && status >= 500) {
    return new SheetsError('unavailable', `Sheets API unavailable (HTTP ${status}: ${google})`, true, status, opts);
  }
  if (/timeout|aborted/i.test(`${String(e.code)} ${google} ${causeText(err)}`)) {
    return new SheetsError('timeout', `Sheets API did not answer in time (${google})`, true, status, opts);
  }
  if (status === undefined) {
    return new SheetsError('unavailable', `Sheets API unreachable (${google})`, true, status, opts);
  }
  return new SheetsError('unknown', `Sheets API error HTTP ${status}: ${google}`, status >= 500, status, opts);
}
