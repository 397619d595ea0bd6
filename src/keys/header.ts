/**
 * The header row: which known column sits at which index. Pure.
 */
import type { CellValue } from './types';

/**
 * Columns sheetgate understands, in the order `init` writes them. `revoked_at` is written by the CLI's
 * `revoke` and never read by the service. Any other column is ignored.
 */
export const COLUMNS = [
  'api_key',
  'key_hash',
  'client_name',
  'created_at',
  'expires_at',
  'is_active',
  'rate_limit',
  'scopes',
  'allowed_ips',
  'quota',
  'usage_count',
  'last_used_at',
  'quota_used',
  'quota_period',
  'revoked_at',
] as const;
export type Column = (typeof COLUMNS)[number];

/** 0-based index of each known column present in the header row; locate cells with `row[columns.usage_count]`. */
export type HeaderMap = Readonly<Partial<Record<Column, number>>>;

export interface HeaderResult {
  readonly columns: HeaderMap;
  /** Why the table cannot be used, one sentence each; empty when it can. */
  readonly problems: readonly string[];
}

const KNOWN: ReadonlySet<string> = new Set(COLUMNS);

function isColumn(name: string): name is Column {
  return KNOWN.has(name);
}

/**
 * A header cell as a column name: trimmed, lower-case, runs of spaces or dashes as one underscore, so an admin's
 * `" API Key "` or `Rate-Limit` is `api_key` / `rate_limit`. Nothing fuzzier: `apikey` or `key` stay unknown.
 */
export function normalizeHeader(cell: CellValue): string {
  return String(cell)
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

/**
 * Maps header names to column indexes: `normalizeHeader` names, any order, unknown columns ignored.
 * The table is unusable (a problem each) when a known column appears twice (which one would we read, or write
 * usage to?), when it has neither `api_key` nor `key_hash`, or lacks `client_name` or `is_active`.
 */
export function mapHeader(row: readonly CellValue[]): HeaderResult {
  const columns: Partial<Record<Column, number>> = {};
  const problems: string[] = [];
  const reported = new Set<Column>();
  row.forEach((cell, index) => {
    const name = normalizeHeader(cell);
    if (!isColumn(name)) {
      return;
    }
    const first = columns[name];
    if (first === undefined) {
      columns[name] = index;
    } else if (!reported.has(name)) {
      reported.add(name);
      const at = row.flatMap((c, i) => (normalizeHeader(c) === name ? [columnLetter(i)] : []));
      problems.push(`column "${name}" appears twice (${at.join(', ')})`);
    }
  });
  if (columns.api_key === undefined && columns.key_hash === undefined) {
    problems.push('no "api_key" (or "key_hash") column');
  }
  for (const required of ['client_name', 'is_active'] as const) {
    if (columns[required] === undefined) {
      problems.push(`no "${required}" column`);
    }
  }
  return { columns, problems };
}

/** Spreadsheet column letters for a 0-based index: 0 → A, 26 → AA. */
export function columnLetter(index: number): string {
  let n = index + 1;
  let out = '';
  while (n > 0) {
    const rem = (n - 1) % 26;
    out = String.fromCharCode(65 + rem) + out;
    n = Math.floor((n - 1) / 26);
  }
  return out;
}

/** Top-left cell of an A1 range such as `'API_Keys'!A12:H12` → `{ column: 'A', row: 12 }`. */
export function rangeStart(range: string | undefined): { readonly column: string; readonly row: number } | undefined {
  const match = /^([A-Z]+)(\d+)/.exec(range?.slice(range.lastIndexOf('!') + 1) ?? '');
  return match?.[1] === undefined || match[2] === undefined ? undefined : { column: match[1], row: Number(match[2]) };
}
