/**
 * Everything the emulator holds — spreadsheets, trusted accounts, faults, counters — and the in-process admin
 * operations tests and the demo use to play the spreadsheet's human editors. No HTTP here.
 */
import { renderCell } from './cells';
import type { Cell, CellInput, CellValue, InputOption } from './cells';
import { Counters, Faults } from './faults';
import type { Fault, Stats } from './faults';
import { toTrustedAccount } from './jwt';
import type { TrustedAccount, TrustedCredentials } from './jwt';
import { Spreadsheet, toCells } from './store';
import type { Tab } from './store';
import { renderBox } from './values-read';

/** What {@link EmulatorState.createSpreadsheet} takes. */
export interface CreateSpreadsheetOptions {
  /** Defaults to a random 44-character id, like Google's. */
  readonly id?: string;
  /** Defaults to `Untitled spreadsheet`. */
  readonly title?: string;
  /** IANA zone reported in `properties.timeZone`. Defaults to `Etc/UTC`. */
  readonly timeZone?: string;
  /** Defaults to `en_US`. */
  readonly locale?: string;
  /** Tab name → rows, in order. Defaults to one empty `Sheet1`. */
  readonly tabs?: Readonly<Record<string, readonly (readonly CellInput[])[]>>;
  /** client_emails with access. Defaults to every trusted account (including ones trusted later). */
  readonly sharedWith?: readonly string[];
  /** How string cells in `tabs` are read. Defaults to `USER_ENTERED`, as when a human types them. */
  readonly inputOption?: InputOption;
}

/** Sort comparator over rows as `values.get` would return them with UNFORMATTED_VALUE (`""` for empty cells). */
export type RowCompare = (a: readonly CellValue[], b: readonly CellValue[]) => number;

const unformatted = (row: readonly (Cell | undefined)[]): CellValue[] =>
  Array.from(row, (cell) => (cell === undefined ? '' : renderCell(cell, 'UNFORMATTED_VALUE', 'SERIAL_NUMBER')));

/** The emulator minus HTTP: data, trust, faults, counters. `startEmulator` wraps it in a server. */
export class EmulatorState {
  protected readonly spreadsheets = new Map<string, Spreadsheet>();
  protected readonly accounts = new Map<string, TrustedAccount>();
  protected readonly faults = new Faults();
  protected readonly counters = new Counters();

  /**
   * Accepts JWTs signed by this service account (public key derived from `private_key`, or `public_key`).
   * @throws Error when the key is missing or unreadable.
   */
  trust(credentials: TrustedCredentials): void {
    const account = toTrustedAccount(credentials);
    this.accounts.set(account.email, account);
  }

  /** @returns the spreadsheet id. @throws Error when the id is taken or a tab name repeats. */
  createSpreadsheet(options: CreateSpreadsheetOptions = {}): string {
    const spreadsheet = new Spreadsheet(options);
    if (this.spreadsheets.has(spreadsheet.id)) {
      throw new Error(`emulator: spreadsheet ${spreadsheet.id} already exists`);
    }
    const tabs = Object.entries(options.tabs ?? { Sheet1: [] });
    for (const [title, rows] of tabs) {
      spreadsheet.addTab(title).replace(toCells(rows, options.inputOption ?? 'USER_ENTERED'));
    }
    this.spreadsheets.set(spreadsheet.id, spreadsheet);
    return spreadsheet.id;
  }

  /** Ids of all spreadsheets, in creation order. */
  spreadsheetIds(): string[] {
    return [...this.spreadsheets.keys()];
  }

  /** Replaces a tab's whole content (creating the tab if needed), as an editor pasting over it. */
  setValues(
    id: string,
    tab: string,
    rows: readonly (readonly CellInput[])[],
    inputOption: InputOption = 'USER_ENTERED',
  ): void {
    const spreadsheet = this.spreadsheet(id);
    (spreadsheet.tab(tab) ?? spreadsheet.addTab(tab)).replace(toCells(rows, inputOption));
    spreadsheet.touch();
  }

  /** Inserts `rows` before 1-based row `atRow`, shifting the rows below down (an editor's "insert rows above"). */
  insertRows(
    id: string,
    tab: string,
    atRow: number,
    rows: readonly (readonly CellInput[])[],
    inputOption: InputOption = 'USER_ENTERED',
  ): void {
    const target = this.tab(id, tab);
    if (!Number.isInteger(atRow) || atRow < 1) {
      throw new Error(`emulator: insertRows atRow must be a 1-based row number, got ${atRow}`);
    }
    target.insertRows(atRow - 1, rows.length);
    target.write(atRow - 1, 0, toCells(rows, inputOption));
    this.spreadsheet(id).touch();
  }

  /** Deletes 1-based row `row`, shifting the rows below up. */
  deleteRow(id: string, tab: string, row: number): void {
    if (!Number.isInteger(row) || row < 1) {
      throw new Error(`emulator: deleteRow row must be a 1-based row number, got ${row}`);
    }
    this.tab(id, tab).deleteRow(row - 1);
    this.spreadsheet(id).touch();
  }

  /** Deletes the tab (an editor's "delete sheet"): its ranges then fail with "Unable to parse range". */
  deleteTab(id: string, tab: string): void {
    const spreadsheet = this.spreadsheet(id);
    spreadsheet.tabs.splice(spreadsheet.tabs.indexOf(this.tab(id, tab)), 1);
    spreadsheet.touch();
  }

  /** Sorts the tab's rows (below the header unless `skipHeader: false`), as an editor's "sort sheet". */
  sortRows(id: string, tab: string, compare: RowCompare, options: { skipHeader?: boolean } = {}): void {
    this.tab(id, tab).sortRows(options.skipHeader === false ? 0 : 1, (a, b) => compare(unformatted(a), unformatted(b)));
    this.spreadsheet(id).touch();
  }

  /** The whole tab as `values.get` would return it (`[]` when empty). Defaults to `UNFORMATTED_VALUE`. */
  getValues(
    id: string,
    tab: string,
    render: 'UNFORMATTED_VALUE' | 'FORMATTED_VALUE' = 'UNFORMATTED_VALUE',
  ): CellValue[][] {
    const target = this.tab(id, tab);
    const box = { top: 0, left: 0, bottom: target.rowCount - 1, right: target.columnCount - 1 };
    return renderBox(target, box, { render, dateTime: 'SERIAL_NUMBER', major: 'ROWS' });
  }

  /** The file's Drive `version` (what `files.get` answers): it grows with every change. */
  version(id: string): number {
    return this.spreadsheet(id).version;
  }

  /** Calls so far; a frozen copy. */
  get stats(): Stats {
    return this.counters.snapshot();
  }

  resetStats(): void {
    this.counters.reset();
  }

  /** Arms a fault for the next matching request(s). @throws Error naming each invalid field. */
  fault(fault: Fault): void {
    this.faults.add(fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** @throws Error for an unknown id. */
  protected spreadsheet(id: string): Spreadsheet {
    const spreadsheet = this.spreadsheets.get(id);
    if (spreadsheet === undefined) {
      throw new Error(`emulator: no spreadsheet ${id}`);
    }
    return spreadsheet;
  }

  /** @throws Error for an unknown id or tab. */
  protected tab(id: string, tab: string): Tab {
    const found = this.spreadsheet(id).tab(tab);
    if (found === undefined) {
      throw new Error(`emulator: spreadsheet ${id} has no tab "${tab}"`);
    }
    return found;
  }
}
