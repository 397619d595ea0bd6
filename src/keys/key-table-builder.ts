/**
 * The builder of the snapshot's key table (src/keys/key-table.ts): keys added from parsed rows, or copied from the
 * table of the snapshot being replaced, into columns of its own — or, while nothing differs from that table, none.
 */
import { Buffer } from 'node:buffer';
import {
  ACTIVE,
  ALLOWED_IPS,
  DROPPED,
  FlatKeyTable,
  HASH_WORDS,
  NUMBERS,
  QUOTA_DAY,
  QUOTA_MONTH,
  QUOTA_PERIOD,
  TEXTS,
  columns,
  find,
  place,
  readHash,
  scratchWords,
} from './key-table';
import type { Columns } from './key-table';
import type { KeyRecord, KeyTable } from './types';

/**
 * Collects the records of one build, in row order; {@link finish} hands them over as a {@link KeyTable}. `expected`
 * sizes the first allocation (the row count, when known); the columns double as needed.
 */
export class KeyTableBuilder {
  private c: Columns;
  private capacity: number;
  private text: Buffer;
  private textUsed = 0;
  private count = 0;
  private dropped = 0;
  private finished = false;
  /** The table entries were copied from, and for each copy its index there and here. */
  private source: FlatKeyTable | undefined;
  private readonly copiedFrom: number[] = [];
  private readonly copiedTo: number[] = [];
  /** Text of copied keys not written yet: `pendingText` bytes from `pendingFrom` in the source's text. */
  private pendingFrom = 0;
  private pendingText = 0;
  /**
   * While every key so far is the same-numbered key of one finished table that has no dropped keys (the refresh of a
   * sheet whose rows did not change), that table: nothing is allocated or copied, and `finish` gives back the table
   * itself when the build ends with all of its keys. Any other step first makes this build's own columns (`own`).
   */
  private sharing: FlatKeyTable | undefined;
  private owned = false;

  constructor(expected = 1024) {
    this.capacity = Math.max(1, expected);
    // Empty until `own()`: a build that shares a finished table never allocates its columns.
    this.c = columns(1);
    this.text = Buffer.alloc(0);
  }

  /** Index of the record added with this hash (dropped or not), or -1. */
  indexOf(hash: string): number {
    if (!readHash(hash)) {
      return -1;
    }
    if (this.sharing !== undefined) {
      const index = find(this.sharing.c);
      return index < this.count ? index : -1;
    }
    return find(this.c);
  }

  /** Sheet row of the record at `index`. */
  rowAt(index: number): number {
    return (this.sharing?.c ?? this.c).rows[index] ?? 0;
  }

  /**
   * Adds a record whose hash is not in the table yet (check with {@link indexOf}); returns its index.
   * @throws RangeError once finished, for a hash that is not 64 hex digits or one already added, or for a scope or
   *   allowed-IP entry that is empty or holds a space (both are stored space-separated; `parseScopes` and
   *   `parseAddressList` never make such an entry)
   */
  add(record: KeyRecord): number {
    const index = this.count;
    if (this.finished) {
      throw new RangeError('key table: already finished');
    }
    this.own();
    if (!readHash(record.hash) || find(this.c) !== -1) {
      throw new RangeError(`key table: hash of row ${record.row} is malformed or already present`);
    }
    if (record.scopes.some(unstorable)) {
      throw new RangeError(`key table: a scope of row ${record.row} is empty or holds a space`);
    }
    if (record.allowedIps.some(unstorable)) {
      throw new RangeError(`key table: an allowed_ips entry of row ${record.row} is empty or holds a space`);
    }
    if (index === this.capacity) {
      this.grow();
    }
    const { words, numbers, rows, flags } = this.c;
    words.set(scratchWords, index * HASH_WORDS);
    place(this.c, index);
    const n = index * NUMBERS;
    numbers[n] = record.createdAt ?? NaN;
    numbers[n + 1] = record.expiresAt ?? NaN;
    numbers[n + 2] = record.rateLimit;
    numbers[n + 3] = record.usageCount;
    numbers[n + 4] = record.quota?.limit ?? 0;
    numbers[n + 5] = record.quotaUsed;
    rows[index] = record.row;
    const quotaFlag = record.quota === undefined ? 0 : record.quota.period === 'day' ? QUOTA_DAY : QUOTA_MONTH;
    flags[index] = (record.active ? ACTIVE : 0) | quotaFlag;
    this.addText(index * TEXTS, record.clientName);
    this.addText(index * TEXTS + 1, record.preview);
    this.addText(index * TEXTS + 2, record.scopes.join(' '));
    this.addText(index * TEXTS + ALLOWED_IPS, record.allowedIps.join(' '));
    this.addText(index * TEXTS + QUOTA_PERIOD, record.quotaPeriod);
    this.count += 1;
    return index;
  }

  /**
   * Adds key `index` of a finished table as it is there (its row, numbers and text) and returns its index here; -1,
   * adding nothing, when its hash is already in this table. Once both tables are finished, a record the other one made
   * for it is this one's too. Every copy of one build comes from the same table.
   * @throws RangeError once finished, for a table not made by a builder, another table than earlier copies' or an index
   *   it does not hold
   */
  copy(from: KeyTable, index: number): number {
    if (this.finished) {
      throw new RangeError('key table: already finished');
    }
    if (!(from instanceof FlatKeyTable) || (this.source !== undefined && this.source !== from)) {
      throw new RangeError('key table: copies come from one finished table');
    }
    if (!Number.isInteger(index) || index < 0 || index >= from.count) {
      throw new RangeError(`key table: no key ${index} to copy`);
    }
    this.source = from;
    // Its keys are unique (none dropped), so the next one cannot repeat one before it.
    const shares = this.count === 0 ? from.size === from.count : this.sharing === from;
    if (!this.owned && index === this.count && shares) {
      this.sharing = from;
      this.count += 1;
      return index;
    }
    this.own();
    const src = from.c;
    const base = index * HASH_WORDS;
    for (let w = 0; w < HASH_WORDS; w++) {
      scratchWords[w] = src.words[base + w] ?? 0;
    }
    if (find(this.c) !== -1) {
      return -1;
    }
    const at = this.count;
    if (at === this.capacity) {
      this.grow();
    }
    const { words, numbers, rows, flags, textEnds } = this.c;
    words.set(scratchWords, at * HASH_WORDS);
    place(this.c, at);
    for (let n = 0; n < NUMBERS; n++) {
      numbers[at * NUMBERS + n] = src.numbers[index * NUMBERS + n] ?? NaN;
    }
    rows[at] = src.rows[index] ?? 0;
    flags[at] = (src.flags[index] ?? 0) & ~DROPPED;
    const first = index * TEXTS;
    const start = first === 0 ? 0 : (src.textEnds[first - 1] ?? 0);
    const end = src.textEnds[first + TEXTS - 1] ?? 0;
    const to = this.textUsed + this.pendingText;
    for (let t = 0; t < TEXTS; t++) {
      textEnds[at * TEXTS + t] = to + (src.textEnds[first + t] ?? 0) - start;
    }
    // Keys copied one after the other are usually neighbours there too: their text is copied in one piece.
    if (this.pendingText > 0 && start !== this.pendingFrom + this.pendingText) {
      this.flushText();
    }
    if (this.pendingText === 0) {
      this.pendingFrom = start;
    }
    this.pendingText += end - start;
    this.copiedFrom.push(index);
    this.copiedTo.push(at);
    this.count += 1;
    return at;
  }

  /** Copies the text of the keys copied and not written yet. */
  private flushText(): void {
    const source = this.source;
    if (this.pendingText === 0 || source === undefined) {
      return;
    }
    const bytes = this.pendingText;
    this.pendingText = 0;
    this.roomForText(bytes);
    source.text.copy(this.text, this.textUsed, this.pendingFrom, this.pendingFrom + bytes);
    this.textUsed += bytes;
  }

  /**
   * Leaves the record at `index` out of the finished table (a duplicate key).
   * @throws RangeError once finished: the table shares these columns and must not change
   */
  drop(index: number): void {
    if (this.finished) {
      throw new RangeError('key table: already finished');
    }
    this.own();
    const { flags } = this.c;
    const f = flags[index];
    if (f !== undefined && (f & DROPPED) === 0 && index < this.count) {
      flags[index] = f | DROPPED;
      this.dropped += 1;
    }
  }

  /** The table of every record added and not dropped; the builder is done. */
  finish(): KeyTable {
    if (this.sharing !== undefined && this.count === this.sharing.count) {
      this.finished = true;
      return this.sharing;
    }
    this.own();
    this.flushText();
    this.finished = true;
    const table = new FlatKeyTable(this.c, this.text, this.count, this.count - this.dropped);
    if (this.source !== undefined) {
      table.adopt(this.source, this.copiedFrom, this.copiedTo);
    }
    return table;
  }

  /**
   * Makes this build's own columns, once: with the keys it shares so far copied in, when it shares a table (their
   * records are adopted at `finish` like any other copied key's).
   */
  private own(): void {
    if (this.owned) {
      return;
    }
    this.owned = true;
    const shared = this.sharing;
    this.sharing = undefined;
    const n = this.count;
    this.capacity = Math.max(this.capacity, n + 1);
    const c = columns(this.capacity);
    this.c = c;
    this.text = Buffer.alloc(this.capacity * 64);
    if (shared === undefined) {
      return;
    }
    const src = shared.c;
    c.words.set(src.words.subarray(0, n * HASH_WORDS));
    c.numbers.set(src.numbers.subarray(0, n * NUMBERS));
    c.rows.set(src.rows.subarray(0, n));
    c.flags.set(src.flags.subarray(0, n));
    c.textEnds.set(src.textEnds.subarray(0, n * TEXTS));
    const bytes = n === 0 ? 0 : (src.textEnds[n * TEXTS - 1] ?? 0);
    this.roomForText(bytes);
    shared.text.copy(this.text, 0, 0, bytes);
    this.textUsed = bytes;
    for (let index = 0; index < n; index++) {
      place(c, index);
      this.copiedFrom.push(index);
      this.copiedTo.push(index);
    }
  }

  /** Twice the room: columns copied, slots rebuilt. */
  private grow(): void {
    const old = this.c;
    this.capacity *= 2;
    const c = columns(this.capacity);
    c.words.set(old.words);
    c.numbers.set(old.numbers);
    c.rows.set(old.rows);
    c.flags.set(old.flags);
    c.textEnds.set(old.textEnds);
    for (let index = 0; index < this.count; index++) {
      place(c, index);
    }
    this.c = c;
  }

  private addText(at: number, value: string): void {
    this.flushText();
    this.roomForText(value.length * 2);
    this.textUsed += this.text.write(value, this.textUsed, 'utf16le');
    this.c.textEnds[at] = this.textUsed;
  }

  private roomForText(bytes: number): void {
    const room = this.textUsed + bytes;
    if (room > this.text.length) {
      const grown = Buffer.alloc(Math.max(room, this.text.length * 2));
      this.text.copy(grown, 0, 0, this.textUsed);
      this.text = grown;
    }
  }
}

/** A list entry the space-separated text storage cannot give back as it was. */
function unstorable(entry: string): boolean {
  return entry === '' || entry.includes(' ');
}

/** A table with no keys. */
export function emptyKeyTable(): KeyTable {
  return new KeyTableBuilder(1).finish();
}
