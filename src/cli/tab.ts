import { columnLetter, mapHeader } from '../keys/header';
import type { Column, HeaderMap } from '../keys/header';
import { keyIdOf, maskHash, maskKey } from '../keys/key-id';
import { cellText, rowIdentity } from '../keys/row-key';
import type { GoogleSheet } from '../keys/sheet-source';
import type { CellValue, CellWrite } from '../keys/types';
import { UsageError } from './context';

/** The tab as a command sees it: typed cells, the zone they are in, and where each known column is. */
export interface Tab {
  readonly timeZone: string;
  /** Row 0 is the header row; ragged, as the API returns it. */
  readonly rows: readonly (readonly CellValue[])[];
  /** Where each known column is, matched exactly as the service matches it (`mapHeader`). */
  readonly columns: HeaderMap;
  /** Why the service cannot use this header (empty when it can). */
  readonly headerProblems: readonly string[];
}

export type { CellWrite } from '../keys/types';

/** Who a data row's key is, computed from the key cells alone (valid row or not). Never holds the key itself. */
export interface RowKey {
  /** 1-based sheet row. */
  readonly row: number;
  /** sha256 hex of the key, from `api_key` or `key_hash`; undefined when neither cell holds one. */
  readonly hash: string | undefined;
  /** `sk-con…0000`, or `sha256:3f2a9c…` for hashed rows. */
  readonly preview: string | undefined;
  readonly keyId: string | undefined;
  readonly hashed: boolean;
}

/** Reads the spreadsheet zone and the whole tab (2 read requests). @throws SheetsError */
export async function readTab(sheet: GoogleSheet): Promise<Tab> {
  const table = await sheet.readTable();
  const { columns, problems } = mapHeader(table.rows[0] ?? []);
  return { timeZone: table.timeZone, rows: table.rows, columns, headerProblems: problems };
}

/** True when row 1 holds nothing at all. */
export function hasNoHeader(tab: Tab): boolean {
  return isBlank(tab.rows[0] ?? []);
}

/**
 * @throws UsageError when the tab has no header row yet, or one the service cannot use (then every write would
 * land in the wrong place or be ignored).
 */
export function requireHeader(tab: Tab): void {
  if (hasNoHeader(tab)) {
    throw new UsageError('the tab has no header row: run `sheetgate init` first');
  }
  if (tab.headerProblems.length > 0) {
    throw new UsageError(`the header row is unusable: ${tab.headerProblems.join('; ')} (see \`sheetgate check\`)`);
  }
}

/** Cell text, trimmed; `''` for an empty or absent cell. */
export function text(tab: Tab, row: number, column: Column): string {
  return cellText(cellValue(tab, row, column));
}

/** The typed cell of a known column in sheet row `row` (1-based); undefined when the column or cell is absent. */
export function cellValue(tab: Tab, row: number, column: Column): CellValue | undefined {
  const index = tab.columns[column];
  return index === undefined ? undefined : tab.rows[row - 1]?.[index];
}

export function isBlank(row: readonly CellValue[]): boolean {
  return row.every((c) => String(c).trim() === '');
}

/** The key identity of data row `row` (1-based). */
export function rowKey(tab: Tab, row: number): RowKey {
  const cells = tab.rows[row - 1] ?? [];
  // Readable even when the service refuses the row for its key cells: the admin finds and fixes it by its key.
  const hash = rowIdentity(cells, tab.columns.api_key, tab.columns.key_hash, { accept: 'readable' });
  const plain = text(tab, row, 'api_key');
  if (hash === undefined) {
    return { row, hash, preview: undefined, keyId: undefined, hashed: false };
  }
  return plain === ''
    ? { row, hash, preview: maskHash(hash), keyId: keyIdOf(hash), hashed: true }
    : { row, hash, preview: maskKey(plain), keyId: keyIdOf(hash), hashed: false };
}

/** Identities of every non-blank data row, top to bottom. */
export function rowKeys(tab: Tab): RowKey[] {
  const out: RowKey[] = [];
  for (let i = 1; i < tab.rows.length; i++) {
    const cells = tab.rows[i];
    if (cells !== undefined && !isBlank(cells)) {
      out.push(rowKey(tab, i + 1));
    }
  }
  return out;
}

/** The plaintext key of a row, for exact matching only; never printed. */
export function plaintextOf(tab: Tab, row: number): string {
  return text(tab, row, 'api_key');
}

/** Where a write puts each column it asked for; see {@link ensureColumns}. */
export interface ColumnPlan {
  /** 0-based index of a column the plan covers. @throws Error for a column it was not asked for (a bug). */
  readonly at: (column: Column) => number;
  /** Header cells to write for the added columns. */
  readonly writes: readonly CellWrite[];
  readonly added: readonly Column[];
}

/**
 * Columns a write needs, by header position (never by assumed order). Missing ones are added after the widest row,
 * so an unlabelled note column is never adopted.
 */
export function ensureColumns(tab: Tab, names: readonly Column[]): ColumnPlan {
  const columns: Partial<Record<Column, number>> = { ...tab.columns };
  const added: Column[] = [];
  const writes: CellWrite[] = [];
  let next = Math.max(0, ...tab.rows.map((r) => r.length));
  for (const name of names) {
    if (columns[name] === undefined) {
      columns[name] = next;
      writes.push({ cells: cell(next, 1), values: [[name]] });
      added.push(name);
      next += 1;
    }
  }
  const at = (column: Column): number => {
    const index = names.includes(column) ? columns[column] : undefined;
    if (index === undefined) {
      throw new Error(`column ${column} was not planned`);
    }
    return index;
  };
  return { at, writes, added };
}

/** A1 reference of one cell: `cell(2, 5)` → `C5` (column 0-based, row 1-based as in the sheet). */
export function cell(column: number, row: number): string {
  return `${columnLetter(column)}${row}`;
}

export { rangeStart } from '../keys/header';
