/**
 * The key table as it may be stored in Redis (issue 6): no raw key. Pure.
 *
 * Instances that follow the leader read the tab from Redis instead of Google; Redis must not become a second place
 * that holds every client's secret. Each `api_key` cell is replaced by its hash in the `key_hash` column (added when
 * missing) — the form DESIGN §1 already accepts for a sheet that never holds secrets — so the snapshot built from the
 * redacted table has the same keys, limits, scopes and expiries, and refuses the same rows (docs/scaling.md lists the
 * differences: masked previews, some refusal wordings).
 */
import { mapHeader, normalizeHeader } from '../keys/header';
import { formatKeyHash, hashKey, parseKeyHash } from '../keys/key-id';
import { runToEnd } from '../keys/snapshot';
import type { CellValue, SheetTable } from '../keys/types';

/** Put in `is_active` of a row whose `api_key` and `key_hash` disagree: the row stays refused, with its key id. */
export const DISAGREEING_HASH_MARK = 'key_hash disagrees';

function text(cell: CellValue | undefined): string {
  if (typeof cell === 'string') {
    return cell.trim();
  }
  return cell === undefined ? '' : String(cell);
}

function columnOf(header: readonly CellValue[], name: string): number | undefined {
  const index = header.findIndex((cell) => normalizeHeader(cell) === name);
  return index < 0 ? undefined : index;
}

function padded(cells: readonly CellValue[], width: number): CellValue[] {
  const out = [...cells];
  while (out.length < width) {
    out.push('');
  }
  return out;
}

/**
 * `table` without raw keys. A usable table: each readable `api_key` becomes `key_hash` = `sha256:<hex>` and an empty
 * `api_key`; a row whose existing `key_hash` is malformed or disagrees keeps being refused (its `is_active` reads
 * {@link DISAGREEING_HASH_MARK}) and keeps its key id, so a duplicate of it is still caught. An unusable header: the
 * key cells are emptied, the header (and so the reason the table is refused) is unchanged.
 */
export function redactTable(table: SheetTable): SheetTable {
  return runToEnd(redactTableSteps(table));
}

/**
 * {@link redactTable}, yielding every `stepRows` rows: it hashes every key, ~0.1 s for 100,000 rows, so the leader runs
 * it in slices (`runInSlices`, issue 8).
 */
export function* redactTableSteps(table: SheetTable, stepRows = Infinity): Generator<number, SheetTable, void> {
  const header = table.rows[0] ?? [];
  const keyColumn = columnOf(header, 'api_key');
  if (keyColumn === undefined) {
    return table;
  }
  if (mapHeader(header).problems.length > 0) {
    const keyColumns = header.flatMap((cell, i) => (normalizeHeader(cell) === 'api_key' ? [i] : []));
    const rows = table.rows.map((row, r) =>
      r === 0 ? row : row.map((cell, i) => (keyColumns.includes(i) ? '' : cell)),
    );
    return { timeZone: table.timeZone, rows };
  }
  const activeColumn = columnOf(header, 'is_active') ?? 0; // present: mapHeader requires it
  const existingHash = columnOf(header, 'key_hash');
  // A loop, not Math.max(...rows): spreading 100,000+ arguments can overflow the stack.
  let widest = 0;
  for (const row of table.rows) {
    widest = Math.max(widest, row.length);
  }
  const hashColumn = existingHash ?? widest;
  const rows: CellValue[][] = [existingHash === undefined ? [...padded(header, hashColumn), 'key_hash'] : [...header]];
  for (let r = 1; r < table.rows.length; r++) {
    if (r % stepRows === 0) {
      yield r;
    }
    const row = table.rows[r] ?? [];
    const keyCell = row[keyColumn];
    const key = text(keyCell);
    if (typeof keyCell === 'boolean' || key === '') {
      rows.push([...row]); // no secret in it
      continue;
    }
    const hash = hashKey(key);
    const cells = padded(row, hashColumn + 1);
    const storedText = text(cells[hashColumn]);
    if (storedText !== '' && parseKeyHash(storedText) !== hash) {
      cells[activeColumn] = DISAGREEING_HASH_MARK;
    }
    cells[keyColumn] = '';
    cells[hashColumn] = formatKeyHash(hash);
    rows.push(cells);
  }
  return { timeZone: table.timeZone, rows };
}
