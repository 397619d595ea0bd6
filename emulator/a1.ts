/**
 * A1 notation as the Sheets API reads and writes it: `API_Keys`, `'API Keys'!A1:F`, `Sheet1!G7`, `A:C`, `2:5`,
 * columns past Z (`AA`), `$` absolute markers, quoted sheet names with `''` escapes. Pure functions, no I/O.
 */

/** The cell part of a range, 0-based; `undefined` means open (whole column / whole row / to the grid's edge). */
export interface CellsRef {
  readonly startRow: number | undefined;
  readonly startCol: number | undefined;
  readonly endRow: number | undefined;
  readonly endCol: number | undefined;
  /** `G7`: one cell. A write to a single cell may spill right and down, as in Google. */
  readonly single: boolean;
}

/**
 * A parsed range. `sheet`: the sheet name was explicit (quoted, or before `!`). `bare`: unquoted text without `!`,
 * which Google reads as a tab name when such a tab exists, else as cells of the first tab.
 */
export type A1Range =
  | { readonly kind: 'sheet'; readonly sheet: string; readonly cells: CellsRef | undefined }
  | { readonly kind: 'bare'; readonly text: string; readonly cells: CellsRef | undefined };

/** A resolved rectangle, 0-based, inclusive. */
export interface Box {
  readonly top: number;
  readonly left: number;
  readonly bottom: number;
  readonly right: number;
}

/** Sheets allows up to 18,278 columns (`ZZZ`). */
const MAX_COLUMN_LETTERS = 3;
const ENDPOINT = /^\$?([A-Za-z]*)\$?(\d*)$/;

/** `A` → 0, `Z` → 25, `AA` → 26. */
export function columnIndex(letters: string): number {
  let n = 0;
  for (const ch of letters.toUpperCase()) {
    n = n * 26 + (ch.charCodeAt(0) - 64);
  }
  return n - 1;
}

/** 0 → `A`, 26 → `AA`. */
export function columnLetters(index: number): string {
  let n = index + 1;
  let out = '';
  while (n > 0) {
    const rem = (n - 1) % 26;
    out = String.fromCharCode(65 + rem) + out;
    n = Math.floor((n - 1) / 26);
  }
  return out;
}

interface Endpoint {
  readonly row: number | undefined;
  readonly col: number | undefined;
}

function parseEndpoint(text: string): Endpoint | undefined {
  const m = ENDPOINT.exec(text);
  if (m === null) {
    return undefined;
  }
  const [, letters = '', digits = ''] = m;
  if ((letters === '' && digits === '') || letters.length > MAX_COLUMN_LETTERS) {
    return undefined;
  }
  const row = digits === '' ? undefined : Number(digits) - 1;
  if (row !== undefined && row < 0) {
    return undefined;
  }
  return { row, col: letters === '' ? undefined : columnIndex(letters) };
}

function ordered(a: number | undefined, b: number | undefined): [number | undefined, number | undefined] {
  return a !== undefined && b !== undefined && a > b ? [b, a] : [a, b];
}

/** Parses the cell part (`A1`, `A1:F`, `A:A`, `2:5`); `undefined` when it is not valid A1. */
export function parseCells(text: string): CellsRef | undefined {
  const parts = text.split(':');
  if (parts.length === 1) {
    const only = parseEndpoint(parts[0] ?? '');
    if (only?.row === undefined || only.col === undefined) {
      return undefined;
    }
    return { startRow: only.row, startCol: only.col, endRow: only.row, endCol: only.col, single: true };
  }
  if (parts.length !== 2) {
    return undefined;
  }
  const start = parseEndpoint(parts[0] ?? '');
  const end = parseEndpoint(parts[1] ?? '');
  if (start === undefined || end === undefined) {
    return undefined;
  }
  const [startRow, endRow] = ordered(start.row, end.row);
  const [startCol, endCol] = ordered(start.col, end.col);
  return { startRow, startCol, endRow, endCol, single: false };
}

/** Reads `'It''s'` → `It's` and the index after the closing quote; `undefined` when unterminated. */
function readQuoted(text: string): { name: string; rest: string } | undefined {
  let name = '';
  for (let i = 1; i < text.length; i++) {
    const ch = text.charAt(i);
    if (ch !== "'") {
      name += ch;
    } else if (text.charAt(i + 1) === "'") {
      name += "'";
      i++;
    } else {
      return { name, rest: text.slice(i + 1) };
    }
  }
  return undefined;
}

/** Parses an A1 range as sent to the API. `undefined` → Google's 400 "Unable to parse range". */
export function parseA1(text: string): A1Range | undefined {
  if (text.startsWith("'")) {
    const quoted = readQuoted(text);
    if (quoted === undefined || quoted.name === '') {
      return undefined;
    }
    if (quoted.rest === '') {
      return { kind: 'sheet', sheet: quoted.name, cells: undefined };
    }
    if (!quoted.rest.startsWith('!')) {
      return undefined;
    }
    const cells = parseCells(quoted.rest.slice(1));
    return cells === undefined ? undefined : { kind: 'sheet', sheet: quoted.name, cells };
  }
  const bang = text.lastIndexOf('!');
  if (bang === -1) {
    return text === '' ? undefined : { kind: 'bare', text, cells: parseCells(text) };
  }
  const sheet = text.slice(0, bang);
  const cells = parseCells(text.slice(bang + 1));
  return sheet === '' || cells === undefined ? undefined : { kind: 'sheet', sheet, cells };
}

/** Google quotes a sheet name in the ranges it returns only when it must (`API_Keys!A1`, `'API Keys'!A1`). */
export function quoteSheet(title: string): string {
  const plain = /^[A-Za-z_][A-Za-z0-9_]*$/.test(title) && parseCells(title) === undefined;
  return plain ? title : `'${title.replace(/'/g, "''")}'`;
}

/** `API_Keys!A1:F1000`, or `Sheet1!G7` for one cell. */
export function formatRange(title: string, box: Box): string {
  const start = `${columnLetters(box.left)}${box.top + 1}`;
  const single = box.top === box.bottom && box.left === box.right;
  return `${quoteSheet(title)}!${start}${single ? '' : `:${columnLetters(box.right)}${box.bottom + 1}`}`;
}
