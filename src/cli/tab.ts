import { hashKey, keyIdOf, maskHash, maskKey, parseKeyHash } from '../keys/key-id';
import type { GoogleSheet } from '../keys/sheet-source';
import type { CellValue } from '../keys/types';
import { UsageError } from './context';

/** The tab as a command sees it: typed cells, the zone they are in, and where each known column is. */
export interface Tab {
  readonly timeZone: string;
  /** Row 0 is the header row; ragged, as the API returns it. */
  readonly rows: readonly (readonly CellValue[])[];
  /** Column name (trimmed, lower-case) → 0-based index, first occurrence (DESIGN §1 header matching). */
  readonly columns: ReadonlyMap<string, number>;
}

/** One range write of a batch (A1 without the tab name). */
export interface CellWrite {
  readonly cells: string;
  readonly values: CellValue[][];
}

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
  const columns = new Map<string, number>();
  (table.rows[0] ?? []).forEach((name, index) => {
    const key = String(name).trim().toLowerCase();
    if (key !== '' && !columns.has(key)) {
      columns.set(key, index);
    }
  });
  return { timeZone: table.timeZone, rows: table.rows, columns };
}

/** @throws UsageError when the tab has no header row yet. */
export function requireHeader(tab: Tab): void {
  if (tab.columns.size === 0) {
    throw new UsageError('the tab has no header row: run `sheetgate init` first');
  }
}

/** Cell text, trimmed; `''` for an empty or absent cell. */
export function text(row: readonly CellValue[] | undefined, column: number | undefined): string {
  const value = column === undefined ? undefined : row?.[column];
  return value === undefined ? '' : String(value).trim();
}

export function isBlank(row: readonly CellValue[]): boolean {
  return row.every((c) => String(c).trim() === '');
}

/** The key identity of data row `row` (1-based). */
export function rowKey(tab: Tab, row: number): RowKey {
  const cells = tab.rows[row - 1];
  const plain = text(cells, tab.columns.get('api_key'));
  if (plain !== '') {
    const hash = hashKey(plain);
    return { row, hash, preview: maskKey(plain), keyId: keyIdOf(hash), hashed: false };
  }
  const hash = parseKeyHash(text(cells, tab.columns.get('key_hash')));
  return hash === undefined
    ? { row, hash, preview: undefined, keyId: undefined, hashed: false }
    : { row, hash, preview: maskHash(hash), keyId: keyIdOf(hash), hashed: true };
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
  return text(tab.rows[row - 1], tab.columns.get('api_key'));
}

/**
 * Columns a write needs, adding the missing ones after the widest row (so an unlabelled note column is never
 * adopted) and returning the header cells to write.
 */
export function ensureColumns(
  tab: Tab,
  names: readonly string[],
): { readonly columns: ReadonlyMap<string, number>; readonly writes: CellWrite[]; readonly added: string[] } {
  const columns = new Map(tab.columns);
  const added: string[] = [];
  let next = Math.max(0, ...tab.rows.map((r) => r.length));
  const writes: CellWrite[] = [];
  for (const name of names) {
    if (!columns.has(name)) {
      columns.set(name, next);
      writes.push({ cells: cell(next, 1), values: [[name]] });
      added.push(name);
      next += 1;
    }
  }
  return { columns, writes, added };
}

/** `0 → A`, `25 → Z`, `26 → AA`. */
export function columnLetter(index: number): string {
  let n = index + 1;
  let letters = '';
  while (n > 0) {
    const rem = (n - 1) % 26;
    letters = String.fromCharCode(65 + rem) + letters;
    n = Math.floor((n - 1) / 26);
  }
  return letters;
}

/** A1 reference of one cell: `cell(2, 5)` → `C5` (column 0-based, row 1-based as in the sheet). */
export function cell(column: number, row: number): string {
  return `${columnLetter(column)}${row}`;
}

/** Row number (1-based) of the first row of an A1 range such as `'API_Keys'!A12:H12`. */
export function firstRowOf(range: string | undefined): number | undefined {
  const match = /^[A-Z]*(\d+)/.exec(range?.slice(range.lastIndexOf('!') + 1) ?? '');
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
