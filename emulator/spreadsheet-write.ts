/**
 * `spreadsheets.batchUpdate`: structural requests applied to the spreadsheet in order. The emulator serves `addSheet`
 * (a new tab, as sheetgate's usage flush creates its history tab); any other request kind is refused with a 400
 * naming it, before anything is applied. Like Google, the batch is atomic: every request is checked first.
 */
import { GoogleError } from './errors';
import { DEFAULT_COLUMNS, DEFAULT_ROWS } from './store';
import type { Spreadsheet } from './store';

const record = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** A checked `addSheet`: its title and grid size. */
interface AddSheet {
  readonly title: string;
  readonly rows: number;
  readonly columns: number;
}

function gridSize(raw: unknown, fallback: number, field: string, index: number): number {
  if (raw === undefined) {
    return fallback;
  }
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1) {
    throw new GoogleError(400, `Invalid requests[${index}].addSheet: ${field} must be a positive integer`);
  }
  return raw;
}

/** @throws GoogleError 400 for a missing or taken title (Google's wording), or a bad grid size. */
function checkAddSheet(spreadsheet: Spreadsheet, body: unknown, index: number, titles: Set<string>): AddSheet {
  const properties = record(record(body)['properties']);
  const title = properties['title'];
  if (typeof title !== 'string' || title.trim() === '') {
    throw new GoogleError(400, `Invalid requests[${index}].addSheet: the sheet title must not be empty`);
  }
  if (spreadsheet.tab(title) !== undefined || titles.has(title.toLowerCase())) {
    throw new GoogleError(
      400,
      `Invalid requests[${index}].addSheet: A sheet with the name "${title}" already exists. Please enter another name.`,
    );
  }
  titles.add(title.toLowerCase());
  const grid = record(properties['gridProperties']);
  return {
    title,
    rows: gridSize(grid['rowCount'], DEFAULT_ROWS, 'rowCount', index),
    columns: gridSize(grid['columnCount'], DEFAULT_COLUMNS, 'columnCount', index),
  };
}

/** `spreadsheets.batchUpdate` with `addSheet` requests; replies in request order, as Google's do. */
export function batchUpdateSpreadsheet(spreadsheet: Spreadsheet, body: unknown): object {
  const requests: unknown[] = Array.isArray(record(body)['requests']) ? (record(body)['requests'] as unknown[]) : [];
  if (requests.length === 0) {
    throw new GoogleError(400, 'Invalid requestBody: requests must not be empty');
  }
  const titles = new Set<string>();
  const planned = requests.map((request, index) => {
    const kinds = Object.keys(record(request));
    if (kinds.length !== 1 || kinds[0] !== 'addSheet') {
      throw new GoogleError(
        400,
        `Invalid requests[${index}]: the emulator serves addSheet only (got ${kinds.join(', ') || 'nothing'})`,
      );
    }
    return checkAddSheet(spreadsheet, record(request)['addSheet'], index, titles);
  });
  const replies = planned.map(({ title, rows, columns }) => {
    const tab = spreadsheet.addTab(title);
    tab.rowCount = rows;
    tab.columnCount = columns;
    return {
      addSheet: {
        properties: {
          sheetId: tab.sheetId,
          title: tab.title,
          index: spreadsheet.tabs.indexOf(tab),
          sheetType: 'GRID',
          gridProperties: { rowCount: rows, columnCount: columns },
        },
      },
    };
  });
  return { spreadsheetId: spreadsheet.id, replies };
}
