import { readFileSync } from 'node:fs';
import { sheets } from '@googleapis/sheets';
import type { sheets_v4 } from '@googleapis/sheets';
import type { Logger } from '../log';
import { serviceAccountJwt } from './google-auth';
import { readBatchGet, rowCollector, streamValueRange } from './snapshot-json';
import type { JsonBody, ParsedValueRange, RowSink, ValueRangeOptions } from './snapshot-json';
import { SheetsError, toSheetsError } from './sheets-error';
import type { SheetsTarget } from './sheets-error';
import type { CellValue, SheetTable } from './types';

/**
 * The port the key store reads the tab through. Every source streams: the Google adapter as the body arrives, the
 * Redis shared table as it is parsed, a whole table in memory through `tableSource` (src/keys/load-snapshot.ts).
 */
export interface SheetSource {
  readonly target: SheetsTarget;
  /**
   * Reads the tab, keeping nothing: `sink.start(timeZone, readAt?)`, then its rows (header row first) pushed in order
   * as they are parsed, so that a big tab is never held whole.
   * @throws SheetsError
   */
  streamTable(sink: TableSink): Promise<void>;
}

/** What {@link SheetSource.streamTable} feeds: the time zone first, then the rows. */
export interface TableSink extends RowSink {
  /**
   * `readAt`: epoch ms when the read of Google that gave these rows began, when the source knows it (a table shared
   * through Redis gives the leader's read); the snapshot is stamped with it, so its age is the age of the data.
   */
  start(timeZone: string, readAt?: number): void;
}

/** What reads a whole table at once: a library user's own source, a fixed table in tests. */
export interface TableReader {
  readonly target: SheetsTarget;
  /** The spreadsheet time zone and the whole tab as typed cells. @throws SheetsError */
  readTable(): Promise<SheetTable>;
}

/** A service-account key file, as downloaded from Google Cloud. */
export interface ServiceAccount {
  readonly client_email: string;
  readonly private_key: string;
  readonly private_key_id?: string;
}

/** Outcome of one Sheets call, for logs and metrics. */
export interface SheetsCall {
  readonly method: string;
  readonly outcome: 'ok' | SheetsError['code'];
  readonly ms: number;
}

export interface GoogleSheetOptions {
  readonly credentials: ServiceAccount;
  readonly spreadsheetId: string;
  readonly sheetName: string;
  /** Sheets API base URL; defaults to Google's. */
  readonly rootUrl?: string;
  /** Per-request timeout. Defaults to `10000` ms (the client has none: a hung request would never settle). */
  readonly timeoutMs?: number;
  readonly logger: Logger;
  /** Called after every Sheets call (metrics). */
  readonly onCall?: (call: SheetsCall) => void;
}

export type InputOption = 'RAW' | 'USER_ENTERED';

/** How long the grid sizes a zone read brought stand in for a `spreadsheets.get` of their own. */
const GRID_TTL_MS = 10 * 60_000;

/**
 * Reads a service-account file. @throws Error naming GOOGLE_CREDENTIALS_PATH when unreadable or incomplete.
 */
export function readServiceAccount(path: string): ServiceAccount {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`GOOGLE_CREDENTIALS_PATH=${path}: cannot read service-account JSON (${(err as Error).message})`);
  }
  const account = parsed as Partial<Record<keyof ServiceAccount, unknown>>;
  if (typeof account.client_email !== 'string' || typeof account.private_key !== 'string') {
    throw new Error(`GOOGLE_CREDENTIALS_PATH=${path}: not a service-account key (client_email/private_key missing)`);
  }
  return {
    client_email: account.client_email,
    private_key: account.private_key,
    ...(typeof account.private_key_id === 'string' ? { private_key_id: account.private_key_id } : {}),
  };
}

/** `'API Keys'!A1` style reference to a whole tab (quotes doubled, as A1 notation wants). */
export function tabRange(sheetName: string, cells = ''): string {
  return `'${sheetName.replace(/'/g, "''")}'${cells === '' ? '' : `!${cells}`}`;
}

/**
 * The googleapis adapter: `@googleapis/sheets` + a self-signed service-account JWT (`useJWTAccessWithScope`, no
 * token endpoint), `retry: false` (its quick retries burn per-minute quota; the key store backs off itself) and a
 * request timeout. Every call is timed, logged at debug, and failures become {@link SheetsError}s.
 */
export class GoogleSheet implements SheetSource, TableReader {
  readonly target: SheetsTarget;
  private readonly api: sheets_v4.Sheets;
  private readonly logger: Logger;
  private readonly onCall: ((call: SheetsCall) => void) | undefined;
  /** The tabs' grid sizes as the last {@link timeZone} call found them. */
  private grids: { readonly at: number; readonly rows: readonly sheets_v4.Schema$Sheet[] } | undefined;

  constructor(options: GoogleSheetOptions) {
    this.api = sheets({
      version: 'v4',
      auth: serviceAccountJwt(options.credentials), // with the Drive metadata scope too: one token for both APIs
      timeout: options.timeoutMs ?? 10_000,
      retry: false,
      // Node's own fetch: gaxios would otherwise `import('node-fetch')` dynamically, which breaks under CJS test VMs.
      fetchImplementation: fetch,
      ...(options.rootUrl === undefined ? {} : { rootUrl: options.rootUrl }),
    });
    this.target = {
      spreadsheetId: options.spreadsheetId,
      sheetName: options.sheetName,
      clientEmail: options.credentials.client_email,
    };
    this.logger = options.logger;
    this.onCall = options.onCall;
  }

  /** Runs one API call with timing, debug logging and error mapping. */
  async call<T>(method: string, run: (api: sheets_v4.Sheets) => Promise<{ data: T }>): Promise<T> {
    const started = performance.now();
    let outcome: SheetsCall['outcome'] = 'ok';
    try {
      return (await run(this.api)).data;
    } catch (err) {
      const error = toSheetsError(err, this.target);
      outcome = error.code;
      throw error;
    } finally {
      const ms = Math.round(performance.now() - started);
      this.logger.debug('sheets call', { method, outcome, ms });
      this.onCall?.({ method, outcome, ms });
    }
  }

  /**
   * `properties.timeZone`. The same call brings the tabs' grid sizes, kept for one {@link tabRows} within
   * {@link GRID_TTL_MS}: the usage history's first flush then needs no read of its own.
   */
  async timeZone(): Promise<string> {
    const data = await this.spreadsheetProperties('properties.timeZone,');
    this.grids = { at: Date.now(), rows: data.sheets ?? [] };
    return data.properties?.timeZone ?? 'Etc/UTC';
  }

  /**
   * The grid's row count of the tab `title`, case-insensitively as Sheets matches tab names; undefined when there is
   * no such tab. From the last {@link timeZone} call when recent (used once), else one `spreadsheets.get`.
   * @throws SheetsError
   */
  async tabRows(title: string): Promise<number | undefined> {
    const known = this.grids;
    this.grids = undefined;
    const sheets =
      known !== undefined && Date.now() - known.at < GRID_TTL_MS
        ? known.rows
        : ((await this.spreadsheetProperties('')).sheets ?? []);
    const wanted = title.toLowerCase();
    const tab = sheets.find((s) => s.properties?.title?.toLowerCase() === wanted);
    return tab === undefined ? undefined : (tab.properties?.gridProperties?.rowCount ?? 0);
  }

  private spreadsheetProperties(fields: string): Promise<sheets_v4.Schema$Spreadsheet> {
    return this.call('spreadsheets.get', (api) =>
      api.spreadsheets.get({
        spreadsheetId: this.target.spreadsheetId,
        fields: `${fields}sheets.properties(title,gridProperties.rowCount)`,
      }),
    );
  }

  /**
   * Typed cells of `cells` (A1, e.g. `A1:Z`) or of the whole tab, in one request. The body is streamed and parsed a
   * slice at a time ({@link readValueRange}), so that a big tab never blocks the event loop in one piece. The timeout
   * covers the whole body.
   */
  async readValues(cells = ''): Promise<CellValue[][]> {
    const rows = rowCollector();
    await this.readValuesInto(rows, cells);
    return rows.rows;
  }

  /** {@link readValues} with the rows pushed to `sink` as they are parsed, in slices as `slicing` says. */
  async readValuesInto(sink: RowSink, cells = '', slicing: ValueRangeOptions = {}): Promise<void> {
    await this.call('values.get', async (api) => {
      const body = await streamed(() =>
        api.spreadsheets.values.get(
          {
            spreadsheetId: this.target.spreadsheetId,
            range: tabRange(this.target.sheetName, cells),
            valueRenderOption: 'UNFORMATTED_VALUE',
            dateTimeRenderOption: 'SERIAL_NUMBER',
          },
          { responseType: 'stream' },
        ),
      );
      await readValuesBody(body, sink, slicing);
      return { data: undefined };
    });
  }

  /** The time zone and the whole tab, read at once (the CLI's read). */
  async readTable(): Promise<SheetTable> {
    const [timeZone, rows] = await Promise.all([this.timeZone(), this.readValues()]);
    return { timeZone, rows };
  }

  /**
   * The time zone first, then the values: the sink needs the zone to read the rows' dates, and rows arriving before
   * it would have to wait, whole, in memory. One more round trip than `readTable` on each refresh, served meanwhile
   * from the current snapshot. Slices of 16,384 characters (about 160 rows), because the sink builds the snapshot
   * inside each slice; a body that is not a plain value range is refused (a SheetsError), not kept whole to be parsed
   * another way.
   */
  async streamTable(sink: TableSink): Promise<void> {
    sink.start(await this.timeZone());
    await this.readValuesInto(sink, '', { sliceChars: 16_384, otherShapes: 'refuse' });
  }

  /**
   * One `values.batchUpdate` for several ranges (A1 without the tab name): of this tab, or of the tab a range names in
   * `tab` (a batch may span tabs).
   */
  async batchUpdate(
    data: readonly { tab?: string; cells: string; values: CellValue[][] }[],
    valueInputOption: InputOption,
  ): Promise<void> {
    await this.call('values.batchUpdate', (api) =>
      api.spreadsheets.values.batchUpdate({
        spreadsheetId: this.target.spreadsheetId,
        requestBody: {
          valueInputOption,
          data: data.map((d) => ({ range: tabRange(d.tab ?? this.target.sheetName, d.cells), values: d.values })),
        },
      }),
    );
  }

  /**
   * One `values.batchGet` of several ranges (`tab` unset: this tab; `cells` empty: the whole tab), typed cells in
   * request order with the range Google reports for each. The body is streamed and parsed a slice at a time
   * ({@link readBatchGet}), as {@link readValues} parses its own, in slices as `slicing` says.
   */
  async readRanges(ranges: readonly TabCells[], slicing: ValueRangeOptions = {}): Promise<RangeValues[]> {
    const answered = await this.call('values.batchGet', async (api) => {
      const body = await streamed(() =>
        api.spreadsheets.values.batchGet(
          {
            spreadsheetId: this.target.spreadsheetId,
            ranges: ranges.map((r) => tabRange(r.tab ?? this.target.sheetName, r.cells)),
            valueRenderOption: 'UNFORMATTED_VALUE',
            dateTimeRenderOption: 'SERIAL_NUMBER',
          },
          { responseType: 'stream' },
        ),
      );
      return { data: await readBatchGetBody(body, slicing) };
    });
    return ranges.map((_, i) => ({
      range: typeof answered[i]?.range === 'string' ? answered[i].range : '',
      values: answered[i]?.values ?? [],
    }));
  }

  /** Appends rows after the table of this tab (or of `tab`); returns the A1 range written. */
  async append(rows: CellValue[][], valueInputOption: InputOption, tab?: string): Promise<string | undefined> {
    const data = await this.call('values.append', (api) =>
      api.spreadsheets.values.append({
        spreadsheetId: this.target.spreadsheetId,
        range: tabRange(tab ?? this.target.sheetName),
        valueInputOption,
        insertDataOption: 'INSERT_ROWS',
        requestBody: { values: rows },
      }),
    );
    return data.updates?.updatedRange ?? undefined;
  }

  /** Adds a tab named `title` (`spreadsheets.batchUpdate` `addSheet`). @throws SheetsError (400 when it exists) */
  async addTab(title: string): Promise<void> {
    await this.call('spreadsheets.batchUpdate', (api) =>
      api.spreadsheets.batchUpdate({
        spreadsheetId: this.target.spreadsheetId,
        requestBody: { requests: [{ addSheet: { properties: { title } } }] },
      }),
    );
  }
}

/** A range of one tab: `tab` unset = the adapter's own tab; `cells` A1 without the tab name, empty = the whole tab. */
export interface TabCells {
  readonly tab?: string;
  readonly cells: string;
}

/** One range of a `values.batchGet`: the range as Google reports it (`API_Usage!A5:Z1000`) and its typed cells. */
export interface RangeValues {
  readonly range: string;
  readonly values: CellValue[][];
}

/**
 * The body of a call made with `responseType: 'stream'`. Under it gaxios hands an error body over as text; parsed back
 * here (it is small) so that {@link toSheetsError} finds Google's message, as it does for every other call.
 */
async function streamed(request: () => Promise<{ data: unknown }>): Promise<unknown> {
  try {
    return (await request()).data;
  } catch (err) {
    const response = (err as { response?: { data?: unknown } } | null)?.response;
    if (typeof response?.data === 'string') {
      try {
        response.data = JSON.parse(response.data) as unknown;
      } catch {
        // not JSON (a proxy's HTML page, say): the message stays as gaxios made it
      }
    }
    throw err;
  }
}

/** Whether `body` streams (a web or Node stream), rather than being a parsed object from a transport that ignored it. */
function isStream(body: unknown): body is JsonBody {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

/**
 * Runs the parse of a streamed body; a SyntaxError becomes a SheetsError (not the SyntaxError itself: its message
 * quotes the body, which holds keys). Whatever else fails (a timeout, a lost connection) is mapped by `call`.
 */
async function parsing<T>(method: string, parse: () => Promise<T>): Promise<T> {
  try {
    return await parse();
  } catch (err) {
    if (err instanceof SyntaxError) {
      throw new SheetsError(
        'unknown',
        `${method} answered something that is not JSON of the expected shape`,
        true,
        200,
      );
    }
    throw err;
  }
}

/** The rows of a `values.get` body, pushed to `sink`. */
async function readValuesBody(body: unknown, sink: RowSink, slicing: ValueRangeOptions): Promise<void> {
  if (!isStream(body)) {
    sink.push((body as { values?: CellValue[][] } | null)?.values ?? []);
    return;
  }
  await parsing('values.get', () => streamValueRange(body, sink, slicing));
}

/** The value ranges of a `values.batchGet` body. */
async function readBatchGetBody(body: unknown, slicing: ValueRangeOptions): Promise<readonly ParsedValueRange[]> {
  if (!isStream(body)) {
    const ranges = (body as { valueRanges?: { range?: string; values?: CellValue[][] }[] } | null)?.valueRanges ?? [];
    return ranges.map((r) => ({ ...r, values: r.values ?? [] }));
  }
  return parsing('values.batchGet', () => readBatchGet(body, slicing));
}

export { SheetsError };
