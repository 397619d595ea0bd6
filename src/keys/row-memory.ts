/**
 * What a snapshot build that read its rows as text (src/keys/snapshot.ts, `addTexts`) remembers for the next build of
 * the same tab: the text of each row that became a key, where that key sits in the key table, and the length of its
 * plaintext key. A row of the next read whose text is the same, under the same header row, time zone and default
 * limit, is the same key: its entry is copied from the table (its record too, once made) instead of parsed, checked
 * and hashed again.
 */
import type { KeyTable, Snapshot } from './types';

export interface RowMemory {
  /** The header row's text. */
  readonly header: string;
  readonly timeZone: string;
  readonly defaultRateLimit: number;
  readonly table: KeyTable;
  readonly rows: RememberedRows;
  /** The body the rows were read from, byte for byte, when they came from one (a `values.get` response). */
  readonly body: Uint8Array | undefined;
}

/** Per data row (sheet row − 2): the text of a row that became a key, its index in the table, its key's length. */
export class RememberedRows {
  private readonly texts: (string | undefined)[] = [];
  private indexes: Int32Array;
  private keyLengths: Int32Array;

  /** `expected` rows only size the first allocation. */
  constructor(expected = 1024) {
    this.indexes = new Int32Array(Math.max(16, expected));
    this.keyLengths = new Int32Array(this.indexes.length);
  }

  /** The table index of the key row `d` became, when `text` is what that row read; -1 otherwise. */
  indexIf(d: number, text: string): number {
    return this.texts[d] === text ? (this.indexes[d] ?? -1) : -1;
  }

  /** Row `d`'s text, for a row that became a key. */
  text(d: number): string | undefined {
    return this.texts[d];
  }

  /** Length of row `d`'s plaintext key; 0 for a `key_hash`-only row. */
  keyLength(d: number): number {
    return this.keyLengths[d] ?? 0;
  }

  /** Rows are set in order, each once. */
  set(d: number, text: string, index: number, keyLength: number): void {
    if (d >= this.indexes.length) {
      this.grow(d + 1);
    }
    this.texts[d] = text;
    this.indexes[d] = index;
    this.keyLengths[d] = keyLength;
  }

  private grow(least: number): void {
    let size = this.indexes.length * 2;
    while (size < least) {
      size *= 2;
    }
    const indexes = new Int32Array(size);
    indexes.set(this.indexes);
    const keyLengths = new Int32Array(size);
    keyLengths.set(this.keyLengths);
    this.indexes = indexes;
    this.keyLengths = keyLengths;
  }
}

/** The memory of each snapshot built from row texts, dropped with the snapshot. */
const memories = new WeakMap<Snapshot, RowMemory>();

export function remember(snapshot: Snapshot, memory: RowMemory): void {
  memories.set(snapshot, memory);
}

/** What the build of `snapshot` remembers of its rows; undefined when it did not read them as text. */
export function recall(snapshot: Snapshot | undefined): RowMemory | undefined {
  return snapshot === undefined ? undefined : memories.get(snapshot);
}

/**
 * `text` in a string of its own. A row's text is a slice of the read's window of text, and a kept slice would keep
 * the whole window alive with it; the copy holds this row's characters only.
 */
export function ownCopy(text: string): string {
  return ` ${text}`.slice(1);
}
