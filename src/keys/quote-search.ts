/**
 * The search for keys quoted in refusals: a refusal quotes the cell it is about as typed, and a short cell may hold a
 * key of the sheet (alone or among other text) that only its hash can tell. Known only once every row is in, so it
 * runs as a second pass of the snapshot build (src/keys/snapshot.ts), in steps.
 */
import { hashKey } from './key-id';
import type { RowProblem } from './types';

/**
 * sha256 computed by the quoted-key search between two yields of {@link maskQuotedKeys}: about half a
 * millisecond of work, so a slice stays close to its budget even when every row of the sheet is refused.
 */
const HASHES_PER_STEP = 1000;

/**
 * Distinct quoted texts whose search result is remembered during one build. A column pasted one to the side repeats
 * the same few values on every row; the bound keeps a sheet of all-different values from growing a second table.
 */
const REMEMBERED_TEXTS = 10_000;

/**
 * sha256 one build may spend searching quotes (about half a second of CPU, in slices). A sheet with `key_hash`-only rows (whose
 * keys may be of any length) and many refused rows would otherwise cost up to 300 sha256 per refused row on every
 * refresh; past the budget, a quote that was not searched is not shown at all.
 */
const SEARCH_BUDGET = 1_000_000;

/**
 * Rewords, in `problems`, each refusal whose quote holds a key (`isKey` of a stretch's hash) to read "a key of this
 * sheet" instead, and each one past the search budget to read "a value not shown". `quotedProblem[q]` is the index of
 * a quoting refusal in `problems`, `quoteStart[q]` where its quote (JSON, ending the reason) starts. Only stretches of
 * the `lengths` given are searched (undefined: all). Yields the number of refusals searched after every ~1,000 sha256.
 */
export function* maskQuotedKeys(
  problems: RowProblem[],
  quotedProblem: readonly number[],
  quoteStart: readonly number[],
  isKey: (hash: string) => boolean,
  lengths: readonly number[] | undefined,
): Generator<number, void, void> {
  const remembered = new Map<string, boolean>();
  let hashes = 0;
  let spent = 0;
  for (let q = 0; q < quotedProblem.length; q++) {
    const index = quotedProblem[q] ?? -1;
    const problem = problems[index];
    if (problem === undefined) {
      continue;
    }
    const start = quoteStart[q] ?? problem.reason.length;
    const text = JSON.parse(problem.reason.slice(start)) as string;
    let found = remembered.get(text);
    if (found === undefined) {
      const cost = searchCost(text.length, lengths);
      if (spent + cost > SEARCH_BUDGET) {
        problems[index] = { ...problem, reason: `${problem.reason.slice(0, start)}a value not shown` };
        continue;
      }
      found = holdsKey(text, isKey, lengths);
      hashes += cost;
      spent += cost;
      if (remembered.size < REMEMBERED_TEXTS) {
        remembered.set(text, found);
      }
    }
    if (found) {
      problems[index] = { ...problem, reason: `${problem.reason.slice(0, start)}a key of this sheet` };
    }
    if (hashes >= HASHES_PER_STEP) {
      hashes = 0;
      yield q + 1;
    }
  }
}

/**
 * Whether some stretch of `text` (a short cell a refusal quotes; at most 24 characters, so ≤ 300 stretches) is a key
 * of the sheet: any non-empty string can be a key, so a short one pasted into another cell, alone or among other
 * characters, is only recognisable by its hash. Only stretches of the `lengths` given are tried (undefined: all).
 */
function holdsKey(text: string, isKey: (hash: string) => boolean, lengths: readonly number[] | undefined): boolean {
  for (let length = 1; length <= text.length; length++) {
    if (lengths !== undefined && !lengths.includes(length)) {
      continue;
    }
    for (let start = 0; start + length <= text.length; start++) {
      if (isKey(hashKey(text.slice(start, start + length)))) {
        return true;
      }
    }
  }
  return false;
}

/** sha256 that {@link holdsKey} computes for a text this long: one per stretch of each searched length. */
function searchCost(textLength: number, lengths: readonly number[] | undefined): number {
  if (lengths === undefined) {
    return (textLength * (textLength + 1)) / 2;
  }
  let cost = 0;
  for (const length of lengths) {
    cost += Math.max(0, textLength - length + 1);
  }
  return cost;
}
