import type { CellValue } from './types';

/** Columns sheetgate understands (DESIGN §1). Others are ignored. */
export const COLUMNS = [
  'api_key',
  'key_hash',
  'client_name',
  'created_at',
  'expires_at',
  'is_active',
  'rate_limit',
  'scopes',
  'usage_count',
  'last_used_at',
  'revoked_at',
] as const;
export type Column = (typeof COLUMNS)[number];

/** 0-based index of each known column present in the header row. */
export type HeaderMap = Readonly<Partial<Record<Column, number>>>;

export interface HeaderResult {
  readonly columns: HeaderMap;
  /** Why the table cannot be used; empty when it can. */
  readonly problems: readonly string[];
}

const KNOWN = new Set<string>(COLUMNS);

/** `" API Key "` → `api_key`: trimmed, lower-case, inner spaces and dashes as underscores. */
export function normalizeHeader(cell: CellValue): string {
  return String(cell)
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

/**
 * Maps header names to column indexes: case-insensitive after trimming, any order, `API Key` = `api_key`.
 * Unusable: a known column twice, no `api_key` nor `key_hash`, or no `client_name` / `is_active`.
 */
export function mapHeader(row: readonly CellValue[]): HeaderResult {
  const columns: Partial<Record<Column, number>> = {};
  const problems: string[] = [];
  row.forEach((cell, index) => {
    const name = normalizeHeader(cell);
    if (!KNOWN.has(name)) {
      return;
    }
    const column = name as Column;
    if (columns[column] === undefined) {
      columns[column] = index;
    } else {
      problems.push(`column "${column}" appears twice`);
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
