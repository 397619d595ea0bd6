/**
 * Which key a sheet row holds, read from its `api_key` and `key_hash` cells, and the text of a cell. Pure. The
 * snapshot, the usage write-back, the CLI and the redaction of a shared table all read rows through these two, so
 * that they agree on which rows hold which key.
 */
import type { Column, HeaderMap } from './header';
import { hashKey, parseKeyHash } from './key-id';
import type { CellValue } from './types';

/** A cell as text: a text cell trimmed, a number or boolean in its string form, `''` for an absent cell. */
export function cellText(cell: CellValue | undefined): string {
  if (typeof cell === 'string') {
    return cell.trim();
  }
  return cell === undefined ? '' : String(cell);
}

/** The cell of a known column, or undefined when the header has no such column or the row is shorter. */
export function cellAt(cells: readonly CellValue[], columns: HeaderMap, column: Column): CellValue | undefined {
  const index = columns[column];
  return index === undefined ? undefined : cells[index];
}

export const BAD_HASH = 'key_hash: expected sha256:<64 hex digits>';

/**
 * The key a row holds. `hash` is the sha256 of the trimmed `api_key` when that cell holds text, else the `key_hash`
 * cell's; `key` is the raw key (undefined for a `key_hash`-only row). `problem` says why the row holds no usable key:
 * a TRUE/FALSE `api_key`, no key at all, a malformed `key_hash`, or two cells that disagree. A row with a problem
 * still has its `hash` when its `api_key` was readable, so that a duplicate of a refused row is still found.
 */
export interface RowKeyCells {
  readonly hash: string | undefined;
  readonly key: string | undefined;
  readonly problem: string | undefined;
}

/** Reads a row's key cells (see {@link RowKeyCells}). */
export function readRowKey(keyCell: CellValue | undefined, hashCell: CellValue | undefined): RowKeyCells {
  if (typeof keyCell === 'boolean') {
    return { hash: undefined, key: undefined, problem: 'api_key: expected text, got a TRUE/FALSE cell' };
  }
  const key = cellText(keyCell);
  const storedText = cellText(hashCell);
  const stored = storedText === '' ? undefined : parseKeyHash(storedText);
  if (key === '') {
    if (storedText === '') {
      return { hash: undefined, key: undefined, problem: 'no api_key or key_hash' };
    }
    return stored === undefined
      ? { hash: undefined, key: undefined, problem: BAD_HASH }
      : { hash: stored, key: undefined, problem: undefined };
  }
  const hash = hashKey(key);
  if (storedText !== '' && stored === undefined) {
    return { hash, key, problem: BAD_HASH };
  }
  // Both cells: the api_key's hash stands for the row.
  const problem = stored === undefined || stored === hash ? undefined : 'api_key and key_hash disagree';
  return { hash, key, problem };
}

export interface RowIdentityOptions {
  /**
   * `'usable'` (the default): the hash only when the row's key cells are usable, as the snapshot reads them — what
   * the usage write-back locates. `'readable'`: the hash whenever one can be read, even from a row the snapshot
   * refuses for its key cells (`api_key` and `key_hash` disagree, or `key_hash` is malformed beside a readable
   * `api_key`) — what the CLI shows and matches, so that an admin can find and fix such a row by its key.
   */
  readonly accept?: 'usable' | 'readable';
}

/** The key hash row `cells` holds, by the `api_key` and `key_hash` columns given (0-based); undefined: none. */
export function rowIdentity(
  cells: readonly CellValue[],
  keyColumn: number | undefined,
  hashColumn: number | undefined,
  options: RowIdentityOptions = {},
): string | undefined {
  const read = readRowKey(
    keyColumn === undefined ? undefined : cells[keyColumn],
    hashColumn === undefined ? undefined : cells[hashColumn],
  );
  return read.problem === undefined || options.accept === 'readable' ? read.hash : undefined;
}

/** Data rows (1-based sheet row numbers) by key hash; several rows when a key is duplicated. */
export type RowsByHash = ReadonlyMap<string, readonly number[]>;
