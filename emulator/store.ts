/**
 * The emulator's data model: spreadsheets holding tabs holding a sparse grid of typed cells. Mutable on purpose
 * (it is the fake Google's storage), owned by one emulator instance, never shared across instances.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Box } from './a1';
import { toCell } from './cells';
import type { Cell, CellInput, InputOption } from './cells';

/** A new tab's grid, as Google makes it. */
export const DEFAULT_ROWS = 1000;
export const DEFAULT_COLUMNS = 26;

/**
 * One write: a cell to store, `undefined` to empty it, `null` to leave it unchanged (the API's JSON `null`).
 */
export type CellWrite = Cell | undefined | null;

/** Converts caller input to stored cells; `null` becomes an empty cell (admin API semantics). */
export function toCells(rows: readonly (readonly CellInput[])[], option: InputOption): (Cell | undefined)[][] {
  return rows.map((row) => row.map((v) => (v === null ? undefined : toCell(v, option))));
}

/** One tab (Google: "sheet"): a grid of `rowCount` × `columnCount` holding sparse typed cells. */
export class Tab {
  /** Sparse: `rows[r][c]`, `undefined` = empty; arrays may be shorter than the grid. */
  private rows: (Cell | undefined)[][] = [];
  rowCount = DEFAULT_ROWS;
  columnCount = DEFAULT_COLUMNS;

  constructor(
    readonly sheetId: number,
    readonly title: string,
  ) {}

  cell(row: number, col: number): Cell | undefined {
    return this.rows[row]?.[col];
  }

  /** How many rows and columns may hold data (an upper bound: cleared cells still count). */
  extent(): { rows: number; cols: number } {
    return { rows: this.rows.length, cols: this.rows.reduce((w, row) => Math.max(w, row.length), 0) };
  }

  /** Grows the grid (never shrinks it) so that `rows` × `cols` fit, as Google does on writes. */
  grow(rows: number, cols: number): void {
    this.rowCount = Math.max(this.rowCount, rows);
    this.columnCount = Math.max(this.columnCount, cols);
  }

  /** Writes a block whose top-left is (`top`, `left`). */
  write(top: number, left: number, block: readonly (readonly CellWrite[])[]): void {
    block.forEach((cells, i) => {
      const r = top + i;
      cells.forEach((cell, j) => {
        if (cell === null) {
          return;
        }
        this.row(r)[left + j] = cell;
      });
      this.grow(r + 1, left + cells.length);
    });
  }

  /** Replaces the whole content; the grid keeps at least its default size. */
  replace(block: readonly (readonly (Cell | undefined)[])[]): void {
    this.rows = [];
    this.rowCount = DEFAULT_ROWS;
    this.columnCount = DEFAULT_COLUMNS;
    this.write(0, 0, block);
  }

  clear(box: Box): void {
    for (let r = box.top; r <= box.bottom; r++) {
      const row = this.rows[r];
      if (row === undefined) {
        continue;
      }
      for (let c = box.left; c <= Math.min(box.right, row.length - 1); c++) {
        row[c] = undefined;
      }
    }
  }

  /** Inserts `count` empty rows before 0-based `at`, shifting the rows below down. */
  insertRows(at: number, count: number): void {
    const blanks = Array.from({ length: count }, (): (Cell | undefined)[] => []);
    if (at > 0) {
      this.row(at - 1);
    }
    this.rows.splice(at, 0, ...blanks);
    this.rowCount += count;
  }

  /** Deletes the 0-based row `at`, shifting the rows below up. */
  deleteRow(at: number): void {
    this.rows.splice(at, 1);
    this.rowCount = Math.max(1, this.rowCount - 1);
  }

  /** 0-based index of the last row with a non-empty cell in columns `left..right`, or -1. */
  lastDataRow(box: Box): number {
    for (let r = Math.min(box.bottom, this.rows.length - 1); r >= box.top; r--) {
      if (this.hasData(r, box.left, box.right)) {
        return r;
      }
    }
    return -1;
  }

  /** 0-based index of the first row with a non-empty cell in columns `left..right`, or -1. */
  firstDataRow(box: Box): number {
    for (let r = box.top; r <= Math.min(box.bottom, this.rows.length - 1); r++) {
      if (this.hasData(r, box.left, box.right)) {
        return r;
      }
    }
    return -1;
  }

  /** Leftmost and rightmost non-empty columns within `box`, or undefined when empty. */
  dataColumns(box: Box): { left: number; right: number } | undefined {
    let left = Infinity;
    let right = -1;
    for (let r = box.top; r <= Math.min(box.bottom, this.rows.length - 1); r++) {
      const row = this.rows[r] ?? [];
      for (let c = box.left; c <= Math.min(box.right, row.length - 1); c++) {
        if (row[c] !== undefined) {
          left = Math.min(left, c);
          right = Math.max(right, c);
        }
      }
    }
    return right === -1 ? undefined : { left, right };
  }

  /** Reorders rows `from..` (0-based) to the last data row with `compare` over the stored rows. */
  sortRows(
    from: number,
    compare: (a: readonly (Cell | undefined)[], b: readonly (Cell | undefined)[]) => number,
  ): void {
    const last = this.lastDataRow({ top: from, left: 0, bottom: Infinity, right: Infinity });
    const body = this.rows.slice(from, last + 1).map((row) => row.slice());
    body.sort(compare);
    this.rows.splice(from, body.length, ...body);
  }

  /** The stored row `r`, creating it and any missing rows above it (the outer array never has holes). */
  private row(r: number): (Cell | undefined)[] {
    while (this.rows.length <= r) {
      this.rows.push([]);
    }
    return this.rows[r] ?? [];
  }

  private hasData(r: number, left: number, right: number): boolean {
    const row = this.rows[r] ?? [];
    for (let c = left; c <= Math.min(right, row.length - 1); c++) {
      if (row[c] !== undefined) {
        return true;
      }
    }
    return false;
  }
}

/** Fields of a new {@link Spreadsheet}; every one has a Google-like default. */
export interface SpreadsheetInit {
  readonly id?: string;
  readonly title?: string;
  readonly timeZone?: string;
  readonly locale?: string;
  /** Accounts (client_email) it is shared with; `undefined` = every trusted account. */
  readonly sharedWith?: readonly string[];
}

/** A spreadsheet: metadata for `spreadsheets.get`, its tabs in order, and who may open it. */
export class Spreadsheet {
  readonly id: string;
  readonly title: string;
  readonly timeZone: string;
  readonly locale: string;
  readonly sharedWith: ReadonlySet<string> | undefined;
  readonly tabs: Tab[] = [];
  /** Drive's `version`: grows with every change to the file (API writes and editors' edits alike). */
  version = 1;
  /** Drive's `modifiedTime`, epoch ms. */
  modifiedAt = Date.now();

  constructor(init: SpreadsheetInit) {
    // Real ids are 44 URL-safe characters.
    this.id = init.id ?? randomBytes(33).toString('base64url');
    this.title = init.title ?? 'Untitled spreadsheet';
    this.timeZone = init.timeZone ?? 'Etc/UTC';
    this.locale = init.locale ?? 'en_US';
    this.sharedWith = init.sharedWith === undefined ? undefined : new Set(init.sharedWith.map((e) => e.toLowerCase()));
  }

  /** Records a change: a new Drive `version` and `modifiedTime`. */
  touch(): void {
    this.version += 1;
    this.modifiedAt = Date.now();
  }

  /** Tab by name; Sheets matches tab names case-insensitively. */
  tab(name: string): Tab | undefined {
    const wanted = name.toLowerCase();
    return this.tabs.find((t) => t.title.toLowerCase() === wanted);
  }

  addTab(title: string): Tab {
    if (this.tab(title) !== undefined) {
      throw new Error(`emulator: spreadsheet ${this.id} already has a tab named "${title}"`);
    }
    // Google gives the first tab sheetId 0 and later ones random positive int32s.
    const tab = new Tab(this.tabs.length === 0 ? 0 : randomInt(1, 2 ** 31 - 1), title);
    this.tabs.push(tab);
    return tab;
  }
}
