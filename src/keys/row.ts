/**
 * One sheet row → a usable key, a refusal or nothing. Pure and synchronous; never throws for any cell content.
 * Refusal reasons quote the offending cell but never the key.
 */
import { parseAddressList } from './address-list';
import { parseDateCell } from './date-cell';
import type { HeaderMap } from './header';
import { hashKey, keyIdOf, maskHash, maskKey } from './key-id';
import { parseQuota, readQuotaPeriod } from './quota';
import { cellAt as at, cellText as text, readRowKey } from './row-key';
import type { CellValue, KeyRecord, ParseContext, RowProblem } from './types';

export type RowResult =
  | { readonly kind: 'blank' }
  | { readonly kind: 'key'; readonly record: KeyRecord }
  /**
   * `hash` when the key cell was readable, so a duplicate of a refused row is still caught. `quoted`: the
   * cell text the reason quotes as typed, so that the snapshot can mask it when it holds a key of some row; the reason
   * ends with it, as JSON.
   */
  | { readonly kind: 'refused'; readonly problem: RowProblem; readonly hash?: string; readonly quoted?: string };

const TRUE_TEXT: ReadonlySet<string> = new Set(['true', 'yes', '1']);
const FALSE_TEXT: ReadonlySet<string> = new Set(['false', 'no', '0']);
/** Longer cell values are shown masked in reasons: a key pasted into the wrong column must not leak. */
const SHOWN_MAX = 24;
/**
 * `is_active`: a boolean cell, number 1/0, or text true/false/yes/no/1/0 in any case; empty → false (an inactive
 * key, not a refusal). undefined = unreadable.
 */
export function parseActive(cell: CellValue | undefined): boolean | undefined {
  if (typeof cell === 'boolean') {
    return cell;
  }
  if (typeof cell === 'number') {
    return cell === 1 ? true : cell === 0 ? false : undefined;
  }
  const t = text(cell).toLowerCase();
  if (t === '' || FALSE_TEXT.has(t)) {
    return false;
  }
  return TRUE_TEXT.has(t) ? true : undefined;
}

/** A whole number ≥ 0 from a number cell or digits (surrounding spaces allowed); otherwise undefined. */
function wholeNumber(cell: CellValue | undefined): number | undefined {
  const n = typeof cell === 'number' ? cell : typeof cell === 'string' && /^\s*\d+\s*$/.test(cell) ? Number(cell) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** `rate_limit`: a positive whole number; empty → `fallback`; anything else undefined. */
function parseLimit(cell: CellValue | undefined, fallback: number): number | undefined {
  if (cell === undefined || (typeof cell === 'string' && cell.trim() === '')) {
    return fallback;
  }
  const n = wholeNumber(cell);
  return n === undefined || n === 0 ? undefined : n;
}

/** `scopes`: split on spaces and commas, deduplicated in first-seen order; empty = full access. */
export function parseScopes(cell: CellValue | undefined): readonly string[] {
  const scopes: string[] = [];
  for (const scope of text(cell).split(/[\s,]+/)) {
    if (scope !== '' && !scopes.includes(scope)) {
      scopes.push(scope);
    }
  }
  return scopes;
}

/** `usage_count` is ours, never a reason to refuse a key: anything but a whole number counts as 0. */
function parseUsage(cell: CellValue | undefined): number {
  return wholeNumber(cell) ?? 0;
}

/** Unchecked checkboxes fill a column with FALSE down to the last formatted row: such rows are blank too. */
function isBlank(cells: readonly CellValue[]): boolean {
  return cells.every((c) => c === false || text(c) === '');
}

/**
 * Length of the row's plaintext key (the trimmed `api_key` cell), or undefined when the row has none (a
 * `key_hash`-only row, or no key at all): the snapshot searches refusal quotes only for stretches that long.
 */
export function plainKeyLength(cells: readonly CellValue[], columns: HeaderMap): number | undefined {
  const key = text(at(cells, columns, 'api_key'));
  return key === '' ? undefined : key.length;
}

interface RowKey {
  readonly hash: string;
  /** The raw key; undefined for a `key_hash`-only row. */
  readonly key: string | undefined;
}

/** Which key the row holds, or why it holds none usable (with the hash when the key itself was readable). */
function rowKey(cells: readonly CellValue[], columns: HeaderMap): RowKey | { reason: string; hash?: string } {
  const read = readRowKey(at(cells, columns, 'api_key'), at(cells, columns, 'key_hash'));
  if (read.problem !== undefined) {
    return read.hash === undefined ? { reason: read.problem } : { reason: read.problem, hash: read.hash };
  }
  return read.hash === undefined ? { reason: 'no api_key or key_hash' } : { hash: read.hash, key: read.key };
}

/**
 * A cell for a reason: quoted as typed (`quoted`); this row's key in a wrong column is named, not shown; any value
 * longer than `SHOWN_MAX` (another row's key, say) is masked. A short key inside a short value (a hashed row's own,
 * or another row's) cannot be told from here: `buildSnapshot` masks those, knowing every key of the sheet.
 */
function shown(cell: CellValue | undefined, key: RowKey): { readonly text: string; readonly quoted?: string } {
  const t = text(cell);
  if (key.key === undefined ? hashKey(t) === key.hash : t.includes(key.key)) {
    return { text: "this row's key" };
  }
  return t.length > SHOWN_MAX
    ? { text: `a ${t.length}-character value (${maskKey(t)})` }
    : { text: JSON.stringify(t), quoted: t };
}

function refused(row: number, reason: string, hash: string | undefined, quoted?: string): RowResult {
  const problem = hash === undefined ? { row, reason } : { row, reason, keyId: keyIdOf(hash) };
  return {
    kind: 'refused',
    problem,
    ...(hash === undefined ? {} : { hash }),
    ...(quoted === undefined ? {} : { quoted }),
  };
}

/** Refused because of one cell: `what` is the reason up to the quoted cell. */
function refusedCell(row: number, what: string, cell: CellValue | undefined, key: RowKey): RowResult {
  const { text: shownText, quoted } = shown(cell, key);
  return refused(row, `${what}${shownText}`, key.hash, quoted);
}

/**
 * Parses one data row; `row` is its 1-based sheet row number, for messages. Rules:
 * - `api_key` trimmed (a number cell is its string form, a TRUE/FALSE cell is refused); `key_hash`
 *   (`sha256:<hex>`, any case) when `api_key` is empty; when both are filled they must agree. No key but other data
 *   → refused.
 * - `client_name` trimmed, required. `is_active` as `parseActive`. `rate_limit` a positive whole number; empty →
 *   `ctx.defaultRateLimit`.
 * - `expires_at` as `parseDateCell` with `endOfDay`: a bare date is valid through that day; empty = never.
 * - `created_at` is informational: an unreadable one is `undefined`, never a refusal.
 * - `scopes` as `parseScopes`; `allowed_ips` as `parseAddressList` (an entry that is not an address or CIDR range →
 *   refused, quoting that entry); `usage_count` unreadable → 0.
 * - `quota` as `parseQuota` (unreadable → refused); `quota_used` and `quota_period` are sheetgate's: unreadable → 0
 *   and `''` (no period, so nothing counted yet in the current one).
 * A row of empty cells (or only unchecked checkboxes) is blank. A readable key comes back as `hash` even when the
 * row is refused, for duplicate detection. The record is frozen.
 * @throws RangeError when `ctx.timeZone` is unknown to Intl (`buildSnapshot` checks it first).
 */
export function parseRow(cells: readonly CellValue[], columns: HeaderMap, row: number, ctx: ParseContext): RowResult {
  if (isBlank(cells)) {
    return { kind: 'blank' };
  }
  const key = rowKey(cells, columns);
  if ('reason' in key) {
    return refused(row, key.reason, key.hash);
  }
  const clientName = text(at(cells, columns, 'client_name'));
  if (clientName === '') {
    return refused(row, 'client_name is empty', key.hash);
  }
  const activeCell = at(cells, columns, 'is_active');
  const active = parseActive(activeCell);
  if (active === undefined) {
    return refusedCell(row, 'is_active: expected TRUE/FALSE, got ', activeCell, key);
  }
  const limitCell = at(cells, columns, 'rate_limit');
  const rateLimit = parseLimit(limitCell, ctx.defaultRateLimit);
  if (rateLimit === undefined) {
    return refusedCell(row, 'rate_limit: expected a positive whole number, got ', limitCell, key);
  }
  const expiresCell = at(cells, columns, 'expires_at') ?? '';
  const expires = parseDateCell(expiresCell, ctx.timeZone, { endOfDay: true });
  if (!expires.ok) {
    return refusedCell(row, 'expires_at: not a date: ', expiresCell, key);
  }
  const allowed = parseAddressList(text(at(cells, columns, 'allowed_ips')));
  if (!allowed.ok) {
    return refusedCell(row, 'allowed_ips: not an IP address or CIDR range: ', allowed.entry, key);
  }
  const quotaCell = at(cells, columns, 'quota');
  const quota = parseQuota(quotaCell);
  if (quota === 'invalid') {
    return refusedCell(row, 'quota: expected N/day or N/month, got ', quotaCell, key);
  }
  const created = parseDateCell(at(cells, columns, 'created_at') ?? '', ctx.timeZone);
  return {
    kind: 'key',
    record: Object.freeze({
      hash: key.hash,
      keyId: keyIdOf(key.hash),
      preview: key.key === undefined ? maskHash(key.hash) : maskKey(key.key),
      clientName,
      createdAt: created.ok ? created.ms : undefined,
      expiresAt: expires.ms,
      active,
      rateLimit,
      scopes: Object.freeze(parseScopes(at(cells, columns, 'scopes'))),
      allowedIps: Object.freeze(allowed.entries),
      row,
      usageCount: parseUsage(at(cells, columns, 'usage_count')),
      quota,
      quotaUsed: quota === undefined ? 0 : parseUsage(at(cells, columns, 'quota_used')),
      quotaPeriod: quota === undefined ? '' : readQuotaPeriod(at(cells, columns, 'quota_period'), quota.period),
    }),
  };
}
