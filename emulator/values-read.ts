/**
 * The read methods: `spreadsheets.get`, `values.get`, `values.batchGet`. Values come back as Google sends them:
 * trailing empty cells and rows omitted, empty cells mid-row as `""`, empty rows mid-range as `[]`, and no
 * `values` key at all when the range is empty.
 */
import { formatRange } from './a1';
import type { Box } from './a1';
import { DATE_TIME_RENDERS, renderCell, VALUE_RENDERS } from './cells';
import type { CellValue, DateTimeRender, ValueRender } from './cells';
import { GoogleError } from './errors';
import { readBox, resolveTarget } from './ranges';
import type { Spreadsheet, Tab } from './store';

export type MajorDimension = 'ROWS' | 'COLUMNS';

export interface RenderOptions {
  readonly render: ValueRender;
  readonly dateTime: DateTimeRender;
  readonly major: MajorDimension;
}

/** Google's ValueRange resource. */
export interface ValueRange {
  range: string;
  majorDimension: MajorDimension;
  values?: CellValue[][];
}

/** Reads an enum query parameter. @throws GoogleError 400 for a value outside `allowed`. */
export function enumParam<T extends string>(
  query: URLSearchParams,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const raw = query.get(name);
  if (raw === null) {
    return fallback;
  }
  const found = allowed.find((a) => a === raw);
  if (found === undefined) {
    throw new GoogleError(400, `Invalid value at '${name}', "${raw}"`);
  }
  return found;
}

/** `valueRenderOption`, `dateTimeRenderOption`, `majorDimension` of a read, with Google's defaults. */
export function renderOptions(query: URLSearchParams): RenderOptions {
  const major = enumParam(query, 'majorDimension', ['ROWS', 'COLUMNS', 'DIMENSION_UNSPECIFIED'], 'ROWS');
  return {
    render: enumParam(query, 'valueRenderOption', VALUE_RENDERS, 'FORMATTED_VALUE'),
    dateTime: enumParam(query, 'dateTimeRenderOption', DATE_TIME_RENDERS, 'SERIAL_NUMBER'),
    major: major === 'COLUMNS' ? 'COLUMNS' : 'ROWS',
  };
}

function transpose(matrix: readonly (readonly CellValue[])[]): CellValue[][] {
  const width = matrix[0]?.length ?? 0;
  return Array.from({ length: width }, (_, c) => matrix.map((row) => row[c] ?? ''));
}

/** Drops trailing `""` in each line and trailing empty lines: what Google omits. */
function trim(lines: CellValue[][]): CellValue[][] {
  const out = lines.map((line) => {
    let end = line.length;
    while (end > 0 && line[end - 1] === '') {
      end--;
    }
    return line.slice(0, end);
  });
  while (out.length > 0 && out[out.length - 1]?.length === 0) {
    out.pop();
  }
  return out;
}

/** Renders `box` of `tab` as the API would return its `values`. */
export function renderBox(tab: Tab, box: Box, options: RenderOptions): CellValue[][] {
  const extent = tab.extent();
  const bottom = Math.min(box.bottom, extent.rows - 1);
  const right = Math.min(box.right, extent.cols - 1);
  const rows: CellValue[][] = [];
  for (let r = box.top; r <= bottom; r++) {
    const row: CellValue[] = [];
    for (let c = box.left; c <= right; c++) {
      const cell = tab.cell(r, c);
      row.push(cell === undefined ? '' : renderCell(cell, options.render, options.dateTime));
    }
    rows.push(row);
  }
  return trim(options.major === 'COLUMNS' ? transpose(rows) : rows);
}

/** `values.get` for one range. */
export function getValues(spreadsheet: Spreadsheet, range: string, options: RenderOptions): ValueRange {
  const target = resolveTarget(spreadsheet, range);
  const box = readBox(target);
  const values = renderBox(target.tab, box, options);
  const out: ValueRange = { range: formatRange(target.tab.title, box), majorDimension: options.major };
  if (values.length > 0) {
    out.values = values;
  }
  return out;
}

/** `values.batchGet`: one ValueRange per `ranges` parameter, in order; any bad range fails the whole call. */
export function batchGetValues(spreadsheet: Spreadsheet, query: URLSearchParams): object {
  const options = renderOptions(query);
  const ranges = query.getAll('ranges');
  if (ranges.length === 0) {
    return { spreadsheetId: spreadsheet.id };
  }
  return { spreadsheetId: spreadsheet.id, valueRanges: ranges.map((r) => getValues(spreadsheet, r, options)) };
}

/** `spreadsheets.get` without grid data (`fields` is not honoured: the whole metadata is returned). */
export function getSpreadsheet(spreadsheet: Spreadsheet): object {
  return {
    spreadsheetId: spreadsheet.id,
    properties: {
      title: spreadsheet.title,
      locale: spreadsheet.locale,
      autoRecalc: 'ON_CHANGE',
      timeZone: spreadsheet.timeZone,
    },
    sheets: spreadsheet.tabs.map((tab, index) => ({
      properties: {
        sheetId: tab.sheetId,
        title: tab.title,
        index,
        sheetType: 'GRID',
        gridProperties: { rowCount: tab.rowCount, columnCount: tab.columnCount },
      },
    })),
    spreadsheetUrl: `https://docs.google.com/spreadsheets/d/${spreadsheet.id}/edit`,
  };
}
