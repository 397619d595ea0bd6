import { parseDateCell } from './dates';
import type { HeaderMap } from './header';
import { hashKey, keyIdOf, maskHash, maskKey, parseKeyHash } from './key-id';
import type { CellValue, KeyRecord, ParseContext, RowProblem } from './types';

export type RowResult =
  | { readonly kind: 'blank' }
  | { readonly kind: 'key'; readonly record: KeyRecord }
  /** `hash` when the key cell was readable, so a duplicate of a refused row is still caught. */
  | { readonly kind: 'refused'; readonly problem: RowProblem; readonly hash?: string };

const TRUE_TEXT = new Set(['true', 'yes', '1', 'y']);
const FALSE_TEXT = new Set(['false', 'no', '0', 'n']);

function text(cell: CellValue | undefined): string {
  return cell === undefined ? '' : String(cell).trim();
}

/** Boolean cell, or text true/false/yes/no/1/0 in any case; empty → false (inactive). undefined = unreadable. */
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

/** Positive whole number (number cell or numeric text); empty → `fallback`; anything else undefined. */
function parseLimit(cell: CellValue | undefined, fallback: number): number | undefined {
  const t = text(cell);
  if (t === '') {
    return fallback;
  }
  const n = typeof cell === 'number' ? cell : /^\d+$/.test(t) ? Number(t) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** Space/comma separated, deduplicated; empty = full access. */
export function parseScopes(cell: CellValue | undefined): readonly string[] {
  return [
    ...new Set(
      text(cell)
        .split(/[\s,]+/)
        .filter((s) => s !== ''),
    ),
  ];
}

function parseUsage(cell: CellValue | undefined): number {
  const n = typeof cell === 'number' ? cell : Number(text(cell));
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

function shown(cell: CellValue | undefined): string {
  return JSON.stringify(text(cell).slice(0, 40));
}

/** Which key a row holds: its hash, preview, or why it has none. */
function rowKey(cells: readonly CellValue[], columns: HeaderMap): { hash: string; preview: string } | string {
  const key = columns.api_key === undefined ? '' : text(cells[columns.api_key]);
  const hashCell = columns.key_hash === undefined ? '' : text(cells[columns.key_hash]);
  const stored = hashCell === '' ? undefined : parseKeyHash(hashCell);
  if (hashCell !== '' && stored === undefined) {
    return 'key_hash: expected sha256:<64 hex digits>';
  }
  if (key !== '') {
    const hash = hashKey(key);
    if (stored !== undefined && stored !== hash) {
      return 'api_key and key_hash disagree';
    }
    return { hash, preview: maskKey(key) };
  }
  return stored === undefined ? 'no api_key or key_hash' : { hash: stored, preview: maskHash(stored) };
}

/**
 * Parses one data row (DESIGN §1). Never throws; a refusal's reason never contains the key.
 * `created_at` is informational: an unreadable one is ignored (undefined), it never makes a key unusable.
 * `usage_count` is ours: unreadable → 0. A bare date in `expires_at` lasts through the end of that day.
 */
export function parseRow(cells: readonly CellValue[], columns: HeaderMap, row: number, ctx: ParseContext): RowResult {
  if (cells.every((c) => text(c) === '')) {
    return { kind: 'blank' };
  }
  const key = rowKey(cells, columns);
  if (typeof key === 'string') {
    return { kind: 'refused', problem: { row, reason: key } };
  }
  const refuse = (reason: string): RowResult => ({
    kind: 'refused',
    problem: { row, reason, keyId: keyIdOf(key.hash) },
    hash: key.hash,
  });
  const cell = (column: keyof HeaderMap): CellValue | undefined => {
    const index = columns[column];
    return index === undefined ? undefined : cells[index];
  };

  const clientName = text(cell('client_name'));
  if (clientName === '') {
    return refuse('client_name is empty');
  }
  const active = parseActive(cell('is_active'));
  if (active === undefined) {
    return refuse(`is_active: expected TRUE/FALSE, got ${shown(cell('is_active'))}`);
  }
  const rateLimit = parseLimit(cell('rate_limit'), ctx.defaultRateLimit);
  if (rateLimit === undefined) {
    return refuse(`rate_limit: expected a positive whole number, got ${shown(cell('rate_limit'))}`);
  }
  const expires = parseDateCell(cell('expires_at') ?? '', ctx.timeZone, { endOfDay: true });
  if (!expires.ok) {
    return refuse(`expires_at: not a date: ${shown(cell('expires_at'))}`);
  }
  const created = parseDateCell(cell('created_at') ?? '', ctx.timeZone);
  return {
    kind: 'key',
    record: {
      hash: key.hash,
      keyId: keyIdOf(key.hash),
      preview: key.preview,
      clientName,
      createdAt: created.ok ? created.ms : undefined,
      expiresAt: expires.ms,
      active,
      rateLimit,
      scopes: parseScopes(cell('scopes')),
      row,
      usageCount: parseUsage(cell('usage_count')),
    },
  };
}
