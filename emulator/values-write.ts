/**
 * The write methods: `values.update`, `values.batchUpdate`, `values.append`, `values.clear`, `values.batchClear`.
 * Like Google, a batch is atomic: every range and value is checked before anything is written.
 */
import { formatRange } from './a1';
import type { Box } from './a1';
import { asCellInput, INPUT_OPTIONS, toCell } from './cells';
import type { InputOption } from './cells';
import { GoogleError } from './errors';
import { checkFits, readBox, resolveTarget, writeArea } from './ranges';
import type { Target, WriteArea } from './ranges';
import type { CellWrite, Spreadsheet } from './store';
import { enumParam } from './values-read';

interface UpdateResult {
  spreadsheetId: string;
  updatedRange: string;
  updatedRows?: number;
  updatedColumns?: number;
  updatedCells?: number;
}

/** A checked write, ready to apply. */
interface PlannedWrite {
  readonly target: Target;
  readonly area: WriteArea;
  readonly block: CellWrite[][];
}

const record = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** @throws GoogleError 400 when absent or unknown: Google has no default input option. */
function inputOption(raw: unknown): InputOption {
  const found = INPUT_OPTIONS.find((o) => o === raw);
  if (found === undefined) {
    throw new GoogleError(
      400,
      `Invalid valueInputOption: ${typeof raw === 'string' ? raw : 'INPUT_VALUE_OPTION_UNSPECIFIED'}`,
    );
  }
  return found;
}

/** A ValueRange body's `values` as cell writes (`null` = leave unchanged, `""` = empty the cell). */
function toBlock(valueRange: Record<string, unknown>, option: InputOption): CellWrite[][] {
  const values = valueRange['values'] ?? [];
  if (!Array.isArray(values)) {
    throw new GoogleError(400, `Invalid JSON payload received. 'values' is not a list.`);
  }
  let block = values.map((row: unknown, i) => {
    if (!Array.isArray(row)) {
      throw new GoogleError(400, `Invalid values[${i}]: not a list`);
    }
    return row.map((v: unknown, j): CellWrite => {
      const input = asCellInput(v);
      if (input === undefined) {
        throw new GoogleError(400, `Invalid values[${i}][${j}]: ${JSON.stringify(v)}`);
      }
      return input === null ? null : toCell(input, option);
    });
  });
  if (valueRange['majorDimension'] === 'COLUMNS') {
    const height = block.reduce((h, col) => Math.max(h, col.length), 0);
    block = Array.from({ length: height }, (_, r) => block.map((col) => (r < col.length ? (col[r] ?? null) : null)));
  }
  return block;
}

function plan(spreadsheet: Spreadsheet, range: string, valueRange: Record<string, unknown>, option: InputOption) {
  const target = resolveTarget(spreadsheet, range);
  const area = writeArea(target);
  const block = toBlock(valueRange, option);
  checkFits(target, area, block);
  return { target, area, block };
}

function written(spreadsheetId: string, title: string, top: number, left: number, block: CellWrite[][]): UpdateResult {
  const cols = block.reduce((w, row) => Math.max(w, row.length), 0);
  const cells = block.reduce((n, row) => n + row.length, 0);
  const box: Box = { top, left, bottom: top + Math.max(block.length, 1) - 1, right: left + Math.max(cols, 1) - 1 };
  const out: UpdateResult = { spreadsheetId, updatedRange: formatRange(title, box) };
  // Google's JSON omits zero-valued fields (proto3).
  if (cells > 0) {
    Object.assign(out, { updatedRows: block.length, updatedColumns: cols, updatedCells: cells });
  }
  return out;
}

function apply(spreadsheetId: string, { target, area, block }: PlannedWrite): UpdateResult {
  target.tab.write(area.top, area.left, block);
  return written(spreadsheetId, target.tab.title, area.top, area.left, block);
}

/** `values.update` (PUT). */
export function updateValues(spreadsheet: Spreadsheet, range: string, query: URLSearchParams, body: unknown): object {
  const option = inputOption(query.get('valueInputOption') ?? undefined);
  return apply(spreadsheet.id, plan(spreadsheet, range, record(body), option));
}

/** `values.batchUpdate`: one call, many ranges, all-or-nothing. */
export function batchUpdateValues(spreadsheet: Spreadsheet, body: unknown): object {
  const request = record(body);
  const option = inputOption(request['valueInputOption']);
  const data: unknown[] = Array.isArray(request['data']) ? request['data'] : [];
  const plans = data.map((item) => {
    const valueRange = record(item);
    const range = valueRange['range'];
    if (typeof range !== 'string') {
      throw new GoogleError(400, 'Invalid data[].range: missing');
    }
    return plan(spreadsheet, range, valueRange, option);
  });
  const responses = plans.map((p) => apply(spreadsheet.id, p));
  const rows = new Set<string>();
  const cols = new Set<string>();
  const sheets = new Set<number>();
  let cells = 0;
  for (const p of plans) {
    p.block.forEach((row, i) => {
      rows.add(`${p.target.tab.sheetId}:${p.area.top + i}`);
      row.forEach((_, j) => cols.add(`${p.target.tab.sheetId}:${p.area.left + j}`));
      cells += row.length;
    });
    sheets.add(p.target.tab.sheetId);
  }
  const out: Record<string, unknown> = { spreadsheetId: spreadsheet.id };
  if (cells > 0) {
    Object.assign(out, {
      totalUpdatedRows: rows.size,
      totalUpdatedColumns: cols.size,
      totalUpdatedCells: cells,
      totalUpdatedSheets: sheets.size,
    });
  }
  if (responses.length > 0) {
    out['responses'] = responses;
  }
  return out;
}

/**
 * `values.append`: finds the table (rows with data within the range's columns), writes after its last row starting
 * at its first column. INSERT_ROWS inserts whole rows there; OVERWRITE (the default) writes over what follows.
 */
export function appendValues(spreadsheet: Spreadsheet, range: string, query: URLSearchParams, body: unknown): object {
  const option = inputOption(query.get('valueInputOption') ?? undefined);
  const insert = enumParam(query, 'insertDataOption', ['OVERWRITE', 'INSERT_ROWS'], 'OVERWRITE');
  const target = resolveTarget(spreadsheet, range);
  const { tab } = target;
  const box = readBox(target);
  const block = toBlock(record(body), option);
  const first = tab.firstDataRow(box);
  const last = tab.lastDataRow(box);
  const columns = first === -1 ? undefined : tab.dataColumns({ ...box, top: first, bottom: last });
  const top = last === -1 ? box.top : last + 1;
  const left = columns?.left ?? box.left;
  if (insert === 'INSERT_ROWS' && block.length > 0) {
    tab.insertRows(top, block.length);
  }
  tab.write(top, left, block);
  const out: Record<string, unknown> = { spreadsheetId: spreadsheet.id };
  if (columns !== undefined) {
    out['tableRange'] = formatRange(tab.title, { top: first, left: columns.left, bottom: last, right: columns.right });
  }
  out['updates'] = written(spreadsheet.id, tab.title, top, left, block);
  return out;
}

function clearRange(spreadsheet: Spreadsheet, range: string): string {
  const target = resolveTarget(spreadsheet, range);
  const box = readBox(target);
  target.tab.clear(box);
  return formatRange(target.tab.title, box);
}

/** `values.clear`: empties values (formats would stay, but the emulator keeps none besides dates). */
export function clearValues(spreadsheet: Spreadsheet, range: string): object {
  return { spreadsheetId: spreadsheet.id, clearedRange: clearRange(spreadsheet, range) };
}

/** `values.batchClear`: all ranges are checked before any is cleared. */
export function batchClearValues(spreadsheet: Spreadsheet, body: unknown): object {
  const ranges: unknown[] = Array.isArray(record(body)['ranges']) ? (record(body)['ranges'] as unknown[]) : [];
  const texts = ranges.map((r) => (typeof r === 'string' ? r : ''));
  texts.forEach((r) => readBox(resolveTarget(spreadsheet, r)));
  return { spreadsheetId: spreadsheet.id, clearedRanges: texts.map((r) => clearRange(spreadsheet, r)) };
}
