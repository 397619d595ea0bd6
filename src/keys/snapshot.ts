/**
 * A whole tab → the immutable snapshot the service answers from (DESIGN §1, §4). Pure and synchronous: the build is a
 * generator that can stop between rows, so that src/keys/snapshot-chunked.ts can give the event loop a turn on a big
 * sheet (issue 8); `buildSnapshot` runs it to the end in one go.
 */
import { isValidTimeZone } from './dates';
import { mapHeader } from './header';
import { hashKey, keyIdOf } from './key-id';
import { KeyTableBuilder, emptyKeyTable } from './key-table';
import { parseRow } from './row';
import type { KeyTable, RowProblem, SheetTable, Snapshot } from './types';

/**
 * Builds the snapshot of `table`, stamped `loadedAt: now`; dates are read in `table.timeZone`.
 * - An unusable header row, or a time zone Intl does not know, gives no keys and one problem on row 1 (the key
 *   store then keeps its previous snapshot).
 * - Each refused row is one problem, with its row number and, when the key cell was readable, its key id.
 * - A key on two or more rows — plaintext or hashed, valid or refused — is refused on every one of them
 *   ("duplicate key (also on row N)"), and absent from `byHash`: which row's limit and owner would count?
 * The snapshot, its problems and records are frozen; `byHash` is read-only (a {@link KeyTable}).
 */
export function buildSnapshot(table: SheetTable, ctx: { readonly defaultRateLimit: number }, now: number): Snapshot {
  return runToEnd(buildSnapshotSteps(table, ctx, now, Infinity));
}

/**
 * Runs a generator of pure work (one that yields between stretches of rows) to its end in one go and returns what it
 * returns; `runInSlices` (src/keys/snapshot-chunked.ts) is the same with event-loop turns in between.
 */
export function runToEnd<T>(steps: Generator<unknown, T, void>): T {
  for (;;) {
    const step = steps.next();
    if (step.done === true) {
      return step.value;
    }
  }
}

/**
 * {@link buildSnapshot} one stretch of rows at a time: the generator yields the number of table rows parsed so far
 * after every `stepRows` rows and returns the snapshot — the same snapshot `buildSnapshot` returns for the same
 * arguments. The caller decides what happens between steps; `table` must not change meanwhile.
 */
export function* buildSnapshotSteps(
  table: SheetTable,
  ctx: { readonly defaultRateLimit: number },
  now: number,
  stepRows: number,
): Generator<number, Snapshot, void> {
  const { timeZone, rows } = table;
  if (!isValidTimeZone(timeZone)) {
    const reason = `spreadsheet time zone ${JSON.stringify(timeZone)} is unknown (expected an IANA zone)`;
    return freeze(emptyKeyTable(), [{ row: 1, reason }], timeZone, now);
  }
  const header = mapHeader(rows[0] ?? []);
  if (header.problems.length > 0) {
    return freeze(emptyKeyTable(), [{ row: 1, reason: header.problems.join('; ') }], timeZone, now);
  }
  const parseContext = { timeZone, defaultRateLimit: ctx.defaultRateLimit };
  const byHash = new KeyTableBuilder(Math.max(0, rows.length - 1));
  const problems: RowProblem[] = [];
  /** First row of each hash seen on a refused row (valid rows are found through `byHash`). */
  const refusedAt = new Map<string, number>();
  /** Every row of each hash seen more than once. */
  const repeated = new Map<string, number[]>();
  /** Refusals that quote a cell as typed, by index in `problems`. */
  const quoted: { readonly index: number; readonly text: string }[] = [];

  for (let i = 1; i < rows.length; i++) {
    if (i % stepRows === 0) {
      yield i;
    }
    const row = i + 1;
    const result = parseRow(rows[i] ?? [], header.columns, row, parseContext);
    if (result.kind === 'blank') {
      continue;
    }
    const hash = result.kind === 'key' ? result.record.hash : result.hash;
    if (result.kind === 'refused') {
      if (result.quoted !== undefined) {
        quoted.push({ index: problems.length, text: result.quoted });
      }
      problems.push(result.problem);
    }
    if (hash === undefined) {
      continue;
    }
    const at = byHash.indexOf(hash);
    const first = at === -1 ? refusedAt.get(hash) : byHash.rowAt(at);
    if (first !== undefined) {
      const seen = repeated.get(hash);
      if (seen === undefined) {
        repeated.set(hash, [first, row]);
      } else {
        seen.push(row);
      }
    } else if (result.kind === 'key') {
      byHash.add(result.record);
    } else {
      refusedAt.set(hash, row);
    }
  }
  const isKey = (hash: string): boolean => byHash.indexOf(hash) !== -1 || refusedAt.has(hash);
  for (const { index, text } of quoted) {
    const problem = problems[index];
    if (problem !== undefined && holdsKey(text, isKey)) {
      problems[index] = { ...problem, reason: problem.reason.replace(JSON.stringify(text), 'a key of this sheet') };
    }
  }
  for (const hash of repeated.keys()) {
    byHash.drop(byHash.indexOf(hash));
  }
  return freeze(byHash.finish(), withDuplicates(problems, repeated), timeZone, now);
}

/**
 * Whether some stretch of `text` (a short cell a refusal quotes; at most 24 characters, so ≤ 300 stretches) is a key
 * of the sheet: any non-empty string can be a key (DESIGN §1), so a short one pasted into another cell, alone or
 * among other characters, is only recognisable by its hash. Runs for refused rows only.
 */
function holdsKey(text: string, isKey: (hash: string) => boolean): boolean {
  for (let start = 0; start < text.length; start++) {
    for (let end = start + 1; end <= text.length; end++) {
      if (isKey(hashKey(text.slice(start, end)))) {
        return true;
      }
    }
  }
  return false;
}

/** `problems` (in row order) plus one "duplicate key" problem per repeated row, merged into the row's own problem. */
function withDuplicates(problems: RowProblem[], repeated: ReadonlyMap<string, number[]>): readonly RowProblem[] {
  if (repeated.size === 0) {
    return problems;
  }
  const byRow = new Map(problems.map((p) => [p.row, p]));
  for (const [hash, rows] of repeated) {
    for (const row of rows) {
      const others = rows.filter((r) => r !== row);
      const duplicate = `duplicate key (also on row${others.length > 1 ? 's' : ''} ${others.join(', ')})`;
      const own = byRow.get(row);
      const reason = own === undefined ? duplicate : `${duplicate}; ${own.reason}`;
      byRow.set(row, { row, reason, keyId: keyIdOf(hash) });
    }
  }
  return [...byRow.values()].sort((a, b) => a.row - b.row);
}

/** Freezes the snapshot and its problems; `byHash` is read-only by construction. */
function freeze(byHash: KeyTable, problems: readonly RowProblem[], timeZone: string, loadedAt: number): Snapshot {
  return Object.freeze({
    byHash,
    problems: Object.freeze(problems.map((p) => Object.freeze(p))),
    timeZone,
    loadedAt,
  });
}
