import { mapHeader } from './header';
import { parseRow } from './row';
import type { KeyRecord, RowProblem, SheetTable, Snapshot } from './types';

/**
 * Builds the immutable snapshot from a whole tab (DESIGN §1, §4). Pure and synchronous.
 * An unusable header gives no keys and one problem on row 1 (the key store then keeps its previous snapshot).
 * A key on two rows — plaintext or hashed, valid or not — is refused on every row it appears on.
 */
export function buildSnapshot(table: SheetTable, ctx: { readonly defaultRateLimit: number }, now: number): Snapshot {
  const [header = [], ...rows] = table.rows;
  const { columns, problems: headerProblems } = mapHeader(header);
  if (headerProblems.length > 0) {
    return freeze(new Map(), [{ row: 1, reason: headerProblems.join('; ') }], table.timeZone, now);
  }
  const parseContext = { timeZone: table.timeZone, defaultRateLimit: ctx.defaultRateLimit };
  const byHash = new Map<string, KeyRecord>();
  const problems: RowProblem[] = [];
  const firstRowOf = new Map<string, number>();
  const duplicates = new Map<string, number[]>();

  rows.forEach((cells, i) => {
    const row = i + 2;
    const result = parseRow(cells, columns, row, parseContext);
    if (result.kind === 'blank') {
      return;
    }
    const hash = result.kind === 'key' ? result.record.hash : result.hash;
    if (hash !== undefined) {
      const first = firstRowOf.get(hash);
      if (first === undefined) {
        firstRowOf.set(hash, row);
      } else {
        duplicates.set(hash, [...(duplicates.get(hash) ?? [first]), row]);
      }
    }
    if (result.kind === 'key') {
      byHash.set(result.record.hash, result.record);
    } else {
      problems.push(result.problem);
    }
  });

  for (const [hash, dupRows] of duplicates) {
    byHash.delete(hash);
    for (const row of dupRows) {
      const others = dupRows.filter((r) => r !== row).join(', ');
      problems.push({ row, reason: `duplicate key (also on row ${others})`, keyId: hash.slice(0, 16) });
    }
  }
  problems.sort((a, b) => a.row - b.row);
  return freeze(byHash, problems, table.timeZone, now);
}

function freeze(byHash: Map<string, KeyRecord>, problems: RowProblem[], timeZone: string, loadedAt: number): Snapshot {
  return Object.freeze({
    byHash,
    problems: Object.freeze(problems),
    timeZone,
    loadedAt,
  });
}
