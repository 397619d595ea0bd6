/**
 * The key table as it may be stored in Redis: no raw key. Pure.
 *
 * Instances that follow the leader read the tab from Redis instead of Google; Redis must not become a second place
 * that holds every client's secret. Each `api_key` cell is replaced by its hash in the `key_hash` column (added when
 * missing) — the form a sheet that never holds secrets uses anyway — so the snapshot built from the
 * redacted table has the same keys, limits, scopes and expiries, and refuses the same rows (docs/scaling.md lists the
 * differences: masked previews, some refusal wordings). Cells of columns sheetgate does not read (notes, owner…) are
 * replaced by {@link UNREAD_CELL}.
 * A table in which a secret could still be left — an unusable header (keys may sit in a column not recognised), a
 * `key_hash` cell that is not a hash on a row without `api_key` (a raw key typed there), a key of the sheet typed
 * in another cell — is not redacted at all: {@link UnredactableTableError}, and it is not shared.
 */
import { mapHeader, normalizeHeader } from '../keys/header';
import { formatKeyHash, hashKey, parseKeyHash } from '../keys/key-id';
import { runToEnd } from '../slicing';
import { cellText as text } from '../keys/row-key';
import type { CellValue, SheetTable } from '../keys/types';

/** Why a table cannot be stored without a raw key in it; the message names a row and column, never the key. */
export class UnredactableTableError extends Error {
  override readonly name = 'UnredactableTableError';
}

/**
 * Stands for the content of a cell in a column the snapshot does not read: the content is not shared, but the row
 * stays non-blank (a row with only such cells filled is still a row the snapshot refuses, not a blank one).
 */
export const UNREAD_CELL = '…';

/** Put in `is_active` of a row whose `api_key` and `key_hash` disagree: the row stays refused, with its key id. */
export const DISAGREEING_HASH_MARK = 'key_hash disagrees';

function padded(cells: readonly CellValue[], width: number): CellValue[] {
  const out = [...cells];
  while (out.length < width) {
    out.push('');
  }
  return out;
}

/**
 * `table` without raw keys. Each readable `api_key` becomes `key_hash` = `sha256:<hex>` and an empty `api_key`; a row
 * whose existing `key_hash` is malformed or disagrees keeps being refused (its `is_active` reads
 * {@link DISAGREEING_HASH_MARK}) and keeps its key id, so a duplicate of it is still caught. Non-blank cells of columns
 * the snapshot does not read become {@link UNREAD_CELL}.
 * @throws UnredactableTableError when a secret could be left in it (see the file's description)
 */
export function redactTable(table: SheetTable): SheetTable {
  return runToEnd(redactTableSteps(table));
}

/**
 * {@link redactTable}, yielding every `stepRows` rows: it hashes every key, which takes long on a big sheet, so the leader runs
 * it in slices (`runInSlices`). A second pass, in steps too, checks that no cell left holds a key of the sheet.
 * @throws UnredactableTableError as `redactTable`
 */
export function* redactTableSteps(table: SheetTable, stepRows = Infinity): Generator<number, SheetTable, void> {
  const header = table.rows[0] ?? [];
  const mapped = mapHeader(header);
  if (mapped.problems.length > 0) {
    throw new UnredactableTableError(`row 1: ${mapped.problems.join('; ')}`);
  }
  const { columns } = mapped;
  const keyColumn = columns.api_key;
  const activeColumn = columns.is_active ?? 0; // present: mapHeader requires it
  const existingHash = columns.key_hash;
  const read = new Set(Object.values(columns).filter((i) => i !== keyColumn && i !== existingHash));
  // A loop, not Math.max(...rows): spreading 100,000+ arguments can overflow the stack.
  let widest = 0;
  for (const row of table.rows) {
    widest = Math.max(widest, row.length);
  }
  const hashColumn = existingHash ?? widest;
  const rows: CellValue[][] = [existingHash === undefined ? [...padded(header, hashColumn), 'key_hash'] : [...header]];
  const secrets = new KeyFinder();
  for (let r = 1; r < table.rows.length; r++) {
    if (r % stepRows === 0) {
      yield r;
    }
    const row = table.rows[r] ?? [];
    const cells = padded(row, hashColumn + 1).map((cell, i) =>
      read.has(i) || i === hashColumn || cell === false || text(cell) === '' ? cell : UNREAD_CELL,
    );
    const keyCell = keyColumn === undefined ? undefined : row[keyColumn];
    const key = text(keyCell);
    const storedText = text(cells[hashColumn]);
    const stored = parseKeyHash(storedText);
    if (typeof keyCell === 'boolean' || key === '') {
      if (storedText !== '' && stored === undefined) {
        throw new UnredactableTableError(
          `row ${r + 1}: key_hash is not sha256:<64 hex> and may be a raw key: fix the cell to share the table`,
        );
      }
      if (stored !== undefined) {
        secrets.addHash(stored);
      }
      if (keyColumn !== undefined) {
        cells[keyColumn] = keyCell ?? ''; // a boolean or blank: no secret in it
      }
      rows.push(cells);
      continue;
    }
    const hash = hashKey(key);
    secrets.addKey(key, hash);
    if (storedText !== '' && stored !== hash) {
      cells[activeColumn] = DISAGREEING_HASH_MARK;
    }
    if (keyColumn !== undefined) {
      cells[keyColumn] = '';
    }
    cells[hashColumn] = formatKeyHash(hash);
    rows.push(cells);
  }
  for (let r = 1; r < rows.length; r++) {
    if (r % stepRows === 0) {
      yield table.rows.length + r;
    }
    const at = (rows[r] ?? []).findIndex((cell, i) => read.has(i) && secrets.holdsKey(cell));
    if (at !== -1) {
      const column = normalizeHeader(header[at] ?? '');
      throw new UnredactableTableError(
        `row ${r + 1}: the ${column} cell holds a key of this sheet: fix it to share the table`,
      );
    }
  }
  return { timeZone: table.timeZone, rows };
}

/**
 * Recognises a key of the sheet in a cell: the cell, or one of its words (split at spaces, commas and semicolons),
 * is a key of an `api_key` cell, or hashes to a `key_hash` cell's hash (one sha256 per word, only once the sheet has
 * hashed rows). Keys inside longer words are not recognised.
 */
class KeyFinder {
  private readonly keys = new Set<string>();
  private readonly hashes = new Set<string>();
  private hashedOnly = false;

  addKey(key: string, hash: string): void {
    this.keys.add(key);
    this.hashes.add(hash);
  }

  addHash(hash: string): void {
    this.hashes.add(hash);
    this.hashedOnly = true;
  }

  holdsKey(cell: CellValue): boolean {
    if (typeof cell === 'boolean') {
      return false;
    }
    const whole = text(cell);
    if (whole === '') {
      return false;
    }
    const words = whole.split(/[\s,;]+/);
    return [whole, ...words].some(
      (word) => word !== '' && (this.keys.has(word) || (this.hashedOnly && this.hashes.has(hashKey(word)))),
    );
  }
}
