/**
 * Maps HTTP requests to Sheets v4 methods, as `@googleapis/sheets` sends them (gRPC-transcoded paths):
 *
 *   GET  /v4/spreadsheets/{id}                        spreadsheets.get
 *   POST /v4/spreadsheets/{id}:batchUpdate            spreadsheets.batchUpdate (addSheet)
 *   GET  /v4/spreadsheets/{id}/values/{range}         values.get
 *   PUT  /v4/spreadsheets/{id}/values/{range}         values.update
 *   POST /v4/spreadsheets/{id}/values/{range}:append  values.append
 *   POST /v4/spreadsheets/{id}/values/{range}:clear   values.clear
 *   GET  /v4/spreadsheets/{id}/values:batchGet        values.batchGet
 *   POST /v4/spreadsheets/{id}/values:batchUpdate     values.batchUpdate
 *   POST /v4/spreadsheets/{id}/values:batchClear      values.batchClear
 *   GET  /drive/v3/files/{id}                         files.get (Drive v3, as `@googleapis/drive` sends it)
 *
 * The client percent-encodes the range (`'API Keys'!A1:Z` → `%27API%20Keys%27%21A1%3AZ`), so a literal `:` can
 * only start a verb; unencoded colons (curl) are tolerated because only the known verbs are split off.
 */
import type { ApiMethod } from './errors';

export interface Route {
  readonly method: ApiMethod;
  readonly spreadsheetId: string;
  /** The decoded A1 range of single-range methods. */
  readonly range?: string;
}

const PREFIX = /^\/v4\/spreadsheets\/([^/:]+)(.*)$/;
const DRIVE_FILE = /^\/drive\/v3\/files\/([^/]+)$/;

const COLLECTION_VERBS: Record<string, { http: string; method: ApiMethod }> = {
  ':batchGet': { http: 'GET', method: 'values.batchGet' },
  ':batchUpdate': { http: 'POST', method: 'values.batchUpdate' },
  ':batchClear': { http: 'POST', method: 'values.batchClear' },
};

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function rangeRoute(http: string, spreadsheetId: string, encoded: string): Route | undefined {
  const verb = /:(append|clear)$/.exec(encoded);
  const range = decode(verb === null ? encoded : encoded.slice(0, verb.index));
  if (range === undefined || range === '') {
    return undefined;
  }
  if (verb === null) {
    if (http === 'GET') {
      return { method: 'values.get', spreadsheetId, range };
    }
    return http === 'PUT' ? { method: 'values.update', spreadsheetId, range } : undefined;
  }
  if (http !== 'POST') {
    return undefined;
  }
  return { method: verb[1] === 'append' ? 'values.append' : 'values.clear', spreadsheetId, range };
}

/** The Sheets method a request calls; `undefined` when the emulator does not serve it. */
export function route(http: string, pathname: string): Route | undefined {
  const file = DRIVE_FILE.exec(pathname);
  if (file !== null) {
    const id = decode(file[1] ?? '');
    return http === 'GET' && id !== undefined ? { method: 'files.get', spreadsheetId: id } : undefined;
  }
  const m = PREFIX.exec(pathname);
  const id = m === null ? undefined : decode(m[1] ?? '');
  if (m === null || id === undefined) {
    return undefined;
  }
  const rest = m[2] ?? '';
  if (rest === '' || rest === '/') {
    return http === 'GET' ? { method: 'spreadsheets.get', spreadsheetId: id } : undefined;
  }
  if (rest === ':batchUpdate') {
    return http === 'POST' ? { method: 'spreadsheets.batchUpdate', spreadsheetId: id } : undefined;
  }
  if (rest.startsWith('/values:')) {
    const verb = COLLECTION_VERBS[rest.slice('/values'.length)];
    return verb?.http === http ? { method: verb.method, spreadsheetId: id } : undefined;
  }
  if (rest.startsWith('/values/')) {
    return rangeRoute(http, id, rest.slice('/values/'.length));
  }
  return undefined;
}
