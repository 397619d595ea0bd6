/**
 * One Sheets API call, in Google's order of checks: credentials (401), spreadsheet exists (404), shared with the
 * caller (403), then the method itself (400 for bad ranges or values). Synchronous: faults and latency are the
 * server's business.
 */
import { getFile } from './drive';
import { GoogleError, isDrive, isWrite, MESSAGES } from './errors';
import { DRIVE_SCOPES, verifyJwt } from './jwt';
import type { TrustedAccount } from './jwt';
import type { Route } from './routes';
import type { Spreadsheet } from './store';
import { batchUpdateSpreadsheet } from './spreadsheet-write';
import { batchGetValues, getSpreadsheet, getValues, renderOptions } from './values-read';
import { appendValues, batchClearValues, batchUpdateValues, clearValues, updateValues } from './values-write';

export interface ApiRequest {
  readonly route: Route;
  readonly authorization: string | undefined;
  readonly query: URLSearchParams;
  readonly body: unknown;
}

export interface ApiWorld {
  readonly accounts: ReadonlyMap<string, TrustedAccount>;
  readonly spreadsheets: ReadonlyMap<string, Spreadsheet>;
}

/** The caller's client_email. @throws GoogleError 401 (or 403 for a token without a Sheets / Drive scope). */
function authenticate(authorization: string | undefined, world: ApiWorld, nowSeconds: number, drive: boolean): string {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (token === undefined) {
    throw new GoogleError(401, MESSAGES.missingCredentials, { reason: 'no Bearer token' });
  }
  const verdict = drive
    ? verifyJwt(token, world.accounts, nowSeconds, DRIVE_SCOPES)
    : verifyJwt(token, world.accounts, nowSeconds);
  if (verdict.ok) {
    return verdict.email;
  }
  if (verdict.insufficientScope === true) {
    throw new GoogleError(403, MESSAGES.insufficientScopes, { reason: verdict.reason });
  }
  throw new GoogleError(401, MESSAGES.invalidCredentials, { reason: verdict.reason });
}

function sharedWith(spreadsheet: Spreadsheet, email: string, world: ApiWorld): boolean {
  return spreadsheet.sharedWith === undefined ? world.accounts.has(email) : spreadsheet.sharedWith.has(email);
}

/** The range of a single-range method; the router guarantees it is there. */
function rangeOf(route: Route): string {
  if (route.range === undefined) {
    throw new GoogleError(400, `Unable to parse range: `);
  }
  return route.range;
}

/**
 * Answers one call with the JSON Google would send; a write that succeeds is a change of the file (a new Drive
 * `version`). @throws GoogleError for every refusal.
 */
export function answer(world: ApiWorld, request: ApiRequest, nowSeconds: number): object {
  const { route } = request;
  const drive = isDrive(route.method);
  const email = authenticate(request.authorization, world, nowSeconds, drive);
  const spreadsheet = world.spreadsheets.get(route.spreadsheetId);
  if (drive) {
    // Drive does not tell a file that exists but is not shared from one that does not exist.
    if (spreadsheet === undefined || !sharedWith(spreadsheet, email, world)) {
      throw new GoogleError(404, `File not found: ${route.spreadsheetId}.`, { reason: `not visible to ${email}` });
    }
    return getFile(spreadsheet, request.query);
  }
  const answered = answerSheets(world, request, email, spreadsheet);
  if (spreadsheet !== undefined && isWrite(route.method)) {
    spreadsheet.touch();
  }
  return answered;
}

function answerSheets(
  world: ApiWorld,
  request: ApiRequest,
  email: string,
  spreadsheet: Spreadsheet | undefined,
): object {
  const { route, query, body } = request;
  if (spreadsheet === undefined) {
    throw new GoogleError(404, MESSAGES.notFound, { reason: `no spreadsheet ${route.spreadsheetId}` });
  }
  if (!sharedWith(spreadsheet, email, world)) {
    throw new GoogleError(403, MESSAGES.notShared, { reason: `not shared with ${email}` });
  }
  switch (route.method) {
    case 'spreadsheets.get':
      return getSpreadsheet(spreadsheet);
    case 'spreadsheets.batchUpdate':
      return batchUpdateSpreadsheet(spreadsheet, body);
    case 'values.get':
      return getValues(spreadsheet, rangeOf(route), renderOptions(query));
    case 'values.batchGet':
      return batchGetValues(spreadsheet, query);
    case 'values.update':
      return updateValues(spreadsheet, rangeOf(route), query, body);
    case 'values.batchUpdate':
      return batchUpdateValues(spreadsheet, body);
    case 'values.append':
      return appendValues(spreadsheet, rangeOf(route), query, body);
    case 'values.clear':
      return clearValues(spreadsheet, rangeOf(route));
    case 'values.batchClear':
      return batchClearValues(spreadsheet, body);
    case 'files.get':
      throw new GoogleError(500, 'emulator bug: files.get is a Drive method');
  }
}
