/**
 * The `/__emulator/` HTTP surface: the in-process admin API for child processes, the demo and curl.
 * Unauthenticated (the emulator listens on 127.0.0.1 by default); never counted in stats. See emulator/README.md.
 */
import { asCellInput, INPUT_OPTIONS } from './cells';
import type { CellInput, InputOption } from './cells';
import type { CreateSpreadsheetOptions } from './state';
import type { Emulator } from './server';

export interface AdminResult {
  readonly status: number;
  readonly body?: unknown;
}

const NO_CONTENT: AdminResult = { status: 204 };

function record(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('expected a JSON object body');
  }
  return value as Record<string, unknown>;
}

function rows(value: unknown): CellInput[][] {
  if (!Array.isArray(value)) {
    throw new Error('"values" must be an array of rows');
  }
  return value.map((row: unknown, i) => {
    if (!Array.isArray(row)) {
      throw new Error(`values[${i}] must be an array`);
    }
    return row.map((v: unknown, j) => {
      const cell = asCellInput(v);
      if (cell === undefined) {
        throw new Error(`values[${i}][${j}] must be a string, number, boolean or null`);
      }
      return cell;
    });
  });
}

function inputOption(value: unknown): InputOption | undefined {
  if (value === undefined) {
    return undefined;
  }
  const found = INPUT_OPTIONS.find((o) => o === value);
  if (found === undefined) {
    throw new Error(`"inputOption" must be RAW or USER_ENTERED`);
  }
  return found;
}

function asString(value: unknown, name: string): string {
  if (typeof value !== 'string') {
    throw new Error(`"${name}" must be a string`);
  }
  return value;
}

type Handler = (
  emulator: Emulator,
  params: readonly string[],
  body: unknown,
  query: URLSearchParams,
) => AdminResult | Promise<AdminResult>;

function createSpreadsheet(emulator: Emulator, body: unknown): AdminResult {
  const b = record(body);
  const tabs = b['tabs'] === undefined ? undefined : record(b['tabs']);
  const options: CreateSpreadsheetOptions = {
    ...(typeof b['id'] === 'string' ? { id: b['id'] } : {}),
    ...(typeof b['title'] === 'string' ? { title: b['title'] } : {}),
    ...(typeof b['timeZone'] === 'string' ? { timeZone: b['timeZone'] } : {}),
    ...(typeof b['locale'] === 'string' ? { locale: b['locale'] } : {}),
    ...(Array.isArray(b['sharedWith']) ? { sharedWith: b['sharedWith'].map((e) => asString(e, 'sharedWith[]')) } : {}),
    ...(tabs === undefined ? {} : { tabs: Object.fromEntries(Object.entries(tabs).map(([t, v]) => [t, rows(v)])) }),
    ...(b['inputOption'] === undefined ? {} : { inputOption: inputOption(b['inputOption']) }),
  };
  return { status: 201, body: { id: emulator.createSpreadsheet(options) } };
}

function trust(emulator: Emulator, body: unknown): AdminResult {
  const b = record(body);
  const optional = (key: string): Record<string, string> => (typeof b[key] === 'string' ? { [key]: b[key] } : {});
  emulator.trust({
    client_email: asString(b['client_email'], 'client_email'),
    ...optional('private_key'),
    ...optional('public_key'),
    ...optional('private_key_id'),
  });
  return NO_CONTENT;
}

/** Answers first, then goes down for `ms` and comes back: a child process cannot call down()/up() itself. */
function outage(emulator: Emulator, body: unknown): AdminResult {
  const ms = Number(record(body)['ms'] ?? 1000);
  if (!(ms >= 0)) {
    throw new Error('"ms" must be a number >= 0');
  }
  setTimeout(() => {
    void emulator
      .down()
      .then(() => new Promise((resolve) => setTimeout(resolve, ms)))
      .then(() => emulator.up());
  }, 10);
  return { status: 202, body: { downForMs: ms } };
}

const TAB = String.raw`spreadsheets/([^/]+)/tabs/([^/]+)`;

const ROUTES: readonly (readonly [string, RegExp, Handler])[] = [
  ['GET', /^stats$/, (e) => ({ status: 200, body: e.stats })],
  [
    'POST',
    /^stats\/reset$/,
    (e) => {
      e.resetStats();
      return NO_CONTENT;
    },
  ],
  [
    'POST',
    /^fault$/,
    (e, _p, body) => {
      e.fault(record(body));
      return NO_CONTENT;
    },
  ],
  [
    'DELETE',
    /^faults$/,
    (e) => {
      e.clearFaults();
      return NO_CONTENT;
    },
  ],
  ['POST', /^trust$/, (e, _p, body) => trust(e, body)],
  ['POST', /^outage$/, (e, _p, body) => outage(e, body)],
  ['GET', /^spreadsheets$/, (e) => ({ status: 200, body: { spreadsheets: e.spreadsheetIds() } })],
  ['POST', /^spreadsheets$/, (e, _p, body) => createSpreadsheet(e, body)],
  [
    'GET',
    new RegExp(`^${TAB}$`),
    (e, [id = '', tab = ''], _b, query) => {
      const render = query.get('render') === 'UNFORMATTED_VALUE' ? 'UNFORMATTED_VALUE' : 'FORMATTED_VALUE';
      return { status: 200, body: { values: e.getValues(id, tab, render) } };
    },
  ],
  [
    'POST',
    new RegExp(`^${TAB}$`),
    (e, [id = '', tab = ''], body) => {
      const b = record(body);
      e.setValues(id, tab, rows(b['values']), inputOption(b['inputOption']));
      return NO_CONTENT;
    },
  ],
  [
    'POST',
    new RegExp(`^${TAB}/rows$`),
    (e, [id = '', tab = ''], body) => {
      const b = record(body);
      e.insertRows(id, tab, Number(b['at']), rows(b['values']), inputOption(b['inputOption']));
      return NO_CONTENT;
    },
  ],
  [
    'DELETE',
    new RegExp(`^${TAB}/rows/(\\d+)$`),
    (e, [id = '', tab = '', row = '']) => {
      e.deleteRow(id, tab, Number(row));
      return NO_CONTENT;
    },
  ],
];

/** Runs one admin request. Bad input answers 400 `{ error }`; an unknown path 404. */
export async function handleAdmin(emulator: Emulator, method: string, url: URL, body: unknown): Promise<AdminResult> {
  const path = url.pathname.slice('/__emulator/'.length);
  for (const [verb, pattern, handler] of ROUTES) {
    const m = pattern.exec(path);
    if (m !== null && verb === method) {
      try {
        const params = m.slice(1).map((p) => decodeURIComponent(p));
        return await handler(emulator, params, body, url.searchParams);
      } catch (err) {
        return { status: 400, body: { error: err instanceof Error ? err.message : String(err) } };
      }
    }
  }
  return { status: 404, body: { error: `no admin route ${method} /__emulator/${path}` } };
}
