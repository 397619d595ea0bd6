import { randomUUID } from 'node:crypto';
import type { Column } from '../keys/header';
import { formatKeyHash, hashKey, keyIdOf } from '../keys/key-id';
import { SheetsError } from '../keys/sheets-error';
import { formatQuota } from '../keys/quota';
import type { Quota } from '../keys/quota';
import type { CellValue } from '../keys/types';
import { formatInZone } from '../keys/dates';
import type { CliContext } from './context';
import type { Expiry } from './expires';
import { cell, ensureColumns, rangeStart } from './tab';
import type { CellWrite, ColumnPlan, Tab } from './tab';

/** Key convention: `sk-convergence-` + a v4 UUID. */
export const KEY_PREFIX = 'sk-convergence-';

/** A new API key. `crypto.randomUUID` draws its 122 random bits from the OS CSPRNG, never `Math.random`. */
export function generateKey(): string {
  return `${KEY_PREFIX}${randomUUID()}`;
}

/** What a new row holds besides the key. */
export interface NewKeySpec {
  readonly clientName: string;
  /** Empty `rate_limit` cell (DEFAULT_RATE_LIMIT) when undefined. */
  readonly rateLimit: number | undefined;
  /** Empty `scopes` cell (full access) when empty. */
  readonly scopes: readonly string[];
  /** Empty `allowed_ips` cell (any address) when empty; canonical entries as `parseAddressList` gives them. */
  readonly allowedIps: readonly string[];
  /** Empty `quota` cell (no day/month quota) when undefined. */
  readonly quota: Quota | undefined;
  readonly expires: Expiry | undefined;
  /** Store only `key_hash` (`api_key` stays empty), so the sheet never holds the key. */
  readonly hashed: boolean;
}

export interface NewKey {
  /** The key itself: print it once, never log it. */
  readonly key: string;
  readonly keyId: string;
  readonly row: number;
  readonly createdAt: number;
  /** Header cells this write added. */
  readonly addedColumns: readonly string[];
}

/**
 * Appends a key row in two requests, because key strings must be written `RAW` (`USER_ENTERED` would turn some into
 * numbers, booleans or formulas) while dates must be `USER_ENTERED` text in the sheet's zone to become date cells:
 * 1. `values.append` RAW: key (or its hash), client, limit, scopes, allowed IPs, `is_active` FALSE;
 * 2. one `values.batchUpdate` USER_ENTERED: new header cells, `created_at`, `expires_at`, `is_active` TRUE, plus
 *    `extra` (rotate sets the old key's expiry in the same batch, so both changes land together).
 * If step 2 fails, the row stays inactive: a key nobody has seen never works.
 * @throws SheetsError
 */
export async function appendKey(
  ctx: CliContext,
  tab: Tab,
  spec: NewKeySpec,
  extra?: { readonly columns: readonly Column[]; readonly writes: (at: ColumnPlan['at']) => CellWrite[] },
): Promise<NewKey> {
  const keyColumn: Column = spec.hashed ? 'key_hash' : 'api_key';
  const needed: Column[] = [keyColumn, 'client_name', 'created_at', 'is_active', ...(extra?.columns ?? [])];
  if (spec.rateLimit !== undefined) {
    needed.push('rate_limit');
  }
  if (spec.scopes.length > 0) {
    needed.push('scopes');
  }
  if (spec.allowedIps.length > 0) {
    needed.push('allowed_ips');
  }
  if (spec.quota !== undefined) {
    needed.push('quota');
  }
  if (spec.expires !== undefined) {
    needed.push('expires_at');
  }
  const { at, writes: headerWrites, added } = ensureColumns(tab, needed);

  const key = generateKey();
  const hash = hashKey(key);
  const cells: CellValue[] = Array.from({ length: Math.max(...needed.map(at)) + 1 }, () => '');
  cells[at(keyColumn)] = spec.hashed ? formatKeyHash(hash) : key;
  cells[at('client_name')] = spec.clientName;
  cells[at('is_active')] = false;
  if (spec.rateLimit !== undefined) {
    cells[at('rate_limit')] = spec.rateLimit;
  }
  if (spec.scopes.length > 0) {
    cells[at('scopes')] = spec.scopes.join(' ');
  }
  if (spec.allowedIps.length > 0) {
    cells[at('allowed_ips')] = spec.allowedIps.join(', ');
  }
  if (spec.quota !== undefined) {
    cells[at('quota')] = formatQuota(spec.quota);
  }
  const written = rangeStart(await ctx.sheet.append([cells], 'RAW'));
  if (written === undefined) {
    throw new SheetsError(
      'bad_table',
      'values.append did not report where it wrote: look for a new inactive row',
      false,
    );
  }
  const { row } = written;
  if (written.column !== 'A') {
    // Sheets appends from the first column of the table it detects; an empty column A would shift every cell.
    throw new SheetsError(
      'bad_table',
      `Sheets appended the new row at ${written.column}${row}, not in column A, so its cells are shifted: delete row ` +
        `${row}. Column A must be part of the table (the header row starts in A1).`,
      false,
    );
  }

  const createdAt = ctx.now();
  const dated: CellWrite[] = [
    ...headerWrites,
    { cells: cell(at('created_at'), row), values: [[formatInZone(createdAt, tab.timeZone)]] },
    ...(spec.expires === undefined ? [] : [{ cells: cell(at('expires_at'), row), values: [[spec.expires.text]] }]),
    { cells: cell(at('is_active'), row), values: [[true]] },
    ...(extra?.writes(at) ?? []),
  ];
  try {
    await ctx.sheet.batchUpdate(dated, 'USER_ENTERED');
  } catch (err) {
    const cause = err instanceof SheetsError ? err : undefined;
    throw new SheetsError(
      cause?.code ?? 'unknown',
      `${cause?.message ?? String(err)}. Row ${row} was added but left inactive (is_active FALSE): delete it`,
      cause?.retryable ?? false,
      cause?.status,
      { cause: err },
    );
  }
  return { key, keyId: keyIdOf(hash), row, createdAt, addedColumns: added };
}
