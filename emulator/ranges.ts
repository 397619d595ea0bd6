/**
 * Resolves an A1 range against a spreadsheet: which tab, which rectangle to read, where and how far a write may go.
 * Errors are Google's: "Unable to parse range", "exceeds grid limits", "Requested writing within range".
 */
import { columnLetters, parseA1 } from './a1';
import type { Box, CellsRef } from './a1';
import { GoogleError, unparsableRange } from './errors';
import type { Spreadsheet, Tab } from './store';

export interface Target {
  readonly tab: Tab;
  /** `undefined` = the whole tab. */
  readonly cells: CellsRef | undefined;
  /** The range as the caller wrote it, for messages. */
  readonly text: string;
}

/** @throws GoogleError 400 "Unable to parse range: X" for bad A1 or a missing tab. */
export function resolveTarget(spreadsheet: Spreadsheet, text: string): Target {
  const parsed = parseA1(text);
  if (parsed === undefined) {
    throw unparsableRange(text);
  }
  if (parsed.kind === 'sheet') {
    const tab = spreadsheet.tab(parsed.sheet);
    if (tab === undefined) {
      throw unparsableRange(text);
    }
    return { tab, cells: parsed.cells, text };
  }
  // Bare text: a tab of that name wins; otherwise it is cells of the first tab.
  const named = spreadsheet.tab(parsed.text);
  if (named !== undefined) {
    return { tab: named, cells: undefined, text };
  }
  const first = spreadsheet.tabs[0];
  if (parsed.cells === undefined || first === undefined) {
    throw unparsableRange(text);
  }
  return { tab: first, cells: parsed.cells, text };
}

/**
 * The rectangle a read covers: open ends stop at the grid's edge.
 * @throws GoogleError 400 when the range starts or explicitly ends outside the grid, as Google does.
 */
export function readBox({ tab, cells, text }: Target): Box {
  const last = { row: tab.rowCount - 1, col: tab.columnCount - 1 };
  if (cells === undefined) {
    return { top: 0, left: 0, bottom: last.row, right: last.col };
  }
  const box = {
    top: cells.startRow ?? 0,
    left: cells.startCol ?? 0,
    bottom: cells.endRow ?? last.row,
    right: cells.endCol ?? last.col,
  };
  if (box.top > last.row || box.left > last.col || box.bottom > last.row || box.right > last.col) {
    throw new GoogleError(
      400,
      `Range (${text}) exceeds grid limits. Max rows: ${tab.rowCount}, max columns: ${tab.columnCount}`,
    );
  }
  return box;
}

/** Where a write starts and how many rows/columns the range allows (`Infinity` for open ends and single cells). */
export interface WriteArea {
  readonly top: number;
  readonly left: number;
  readonly maxRows: number;
  readonly maxCols: number;
}

export function writeArea({ cells }: Target): WriteArea {
  if (cells === undefined) {
    return { top: 0, left: 0, maxRows: Infinity, maxCols: Infinity };
  }
  const top = cells.startRow ?? 0;
  const left = cells.startCol ?? 0;
  if (cells.single) {
    return { top, left, maxRows: Infinity, maxCols: Infinity };
  }
  return {
    top,
    left,
    maxRows: cells.endRow === undefined ? Infinity : cells.endRow - top + 1,
    maxCols: cells.endCol === undefined ? Infinity : cells.endCol - left + 1,
  };
}

/** @throws GoogleError 400 when `block` does not fit the range the caller named. */
export function checkFits(target: Target, area: WriteArea, block: readonly (readonly unknown[])[]): void {
  if (block.length > area.maxRows) {
    throw new GoogleError(
      400,
      `Requested writing within range [${target.text}], but tried writing to row [${area.top + area.maxRows + 1}]`,
    );
  }
  const widest = block.reduce((w, r) => Math.max(w, r.length), 0);
  if (widest > area.maxCols) {
    const column = columnLetters(area.left + area.maxCols);
    throw new GoogleError(
      400,
      `Requested writing within range [${target.text}], but tried writing to column [${column}]`,
    );
  }
}
