/**
 * The snapshot's keys by hash, stored column-wise in a few flat typed arrays rather than one object per key.
 *
 * Why: a refresh of 100,000 rows built ~40 MB of small objects (a record, its strings, a Map entry per key), all of
 * which survive; V8's scavenger copies each survivor twice before it settles, and those copies were the 15–30 ms
 * pauses that broke the ≤ 20 ms event-loop budget while a big sheet was being loaded (docs/performance.md). Flat arrays are
 * a handful of large objects the scavenger never copies. A key's {@link KeyRecord} is made the first time it is asked
 * for (a request with that key, an iteration) and kept for the snapshot's life, so the hot path pays it once per key
 * per refresh.
 *
 * Lookup: by open addressing on the first 32 bits of the sha256 (uniform by construction), then all 256 bits compared;
 * a record already made is then one array load away.
 */
import { Buffer } from 'node:buffer';
import { keyIdOf } from './key-id';
import type { KeyRecord, KeyTable, KeyTally } from './types';

const HASH_WORDS = 8; // 32 bytes of sha256 as Uint32
const HEX_LENGTH = 64;
const ACTIVE = 1;
const DROPPED = 2;
/** A quota's period, in `flags`; neither = no quota. */
const QUOTA_DAY = 4;
const QUOTA_MONTH = 8;
/** Per key in `numbers`: createdAt, expiresAt (NaN = none), rateLimit, usageCount, quota limit, quotaUsed. */
const NUMBERS = 6;
/**
 * Per key in `text`: client name, preview, scopes (space-separated), allowed IPs (space-separated), quota period, as
 * UTF-16 code units — not UTF-8, which would turn a lone surrogate a sheet can hold into U+FFFD: a name must come
 * back exactly as it was read.
 */
const TEXTS = 5;
const ALLOWED_IPS = 3;
const QUOTA_PERIOD = 4;
const EMPTY_LIST: readonly string[] = Object.freeze([]);

/** The 32 bytes of the hash being looked up. Lookups are synchronous, so one scratch buffer serves them all. */
const scratchWords = new Uint32Array(HASH_WORDS);
const scratch = Buffer.from(scratchWords.buffer);

/** Reads a 64-hex-digit hash into `scratch`; false when it is not one. */
function readHash(hash: string): boolean {
  return hash.length === HEX_LENGTH && scratch.write(hash, 0, 'hex') === HASH_WORDS * 4;
}

/** The columns, shared by the builder and the finished table. */
interface Columns {
  readonly words: Uint32Array;
  readonly hashes: Buffer;
  readonly slots: Int32Array;
  readonly mask: number;
  readonly numbers: Float64Array;
  readonly rows: Uint32Array;
  readonly flags: Uint8Array;
  readonly textEnds: Uint32Array;
}

/** Index of the key whose hash is in `scratch`, dropped or not; -1 when absent. */
function find(c: Columns): number {
  const { words, slots, mask } = c;
  for (let slot = (scratchWords[0] ?? 0) & mask; ; slot = (slot + 1) & mask) {
    const entry = slots[slot] ?? 0;
    if (entry === 0) {
      return -1;
    }
    const index = entry - 1;
    const base = index * HASH_WORDS;
    let same = true;
    for (let w = 0; w < HASH_WORDS && same; w++) {
      same = words[base + w] === scratchWords[w];
    }
    if (same) {
      return index;
    }
  }
}

/** Empty columns for `capacity` keys. */
function columns(capacity: number): Columns {
  let slotCount = 8;
  while (slotCount < capacity * 2) {
    slotCount *= 2;
  }
  const words = new Uint32Array(capacity * HASH_WORDS);
  return {
    words,
    hashes: Buffer.from(words.buffer),
    slots: new Int32Array(slotCount),
    mask: slotCount - 1,
    numbers: new Float64Array(capacity * NUMBERS),
    rows: new Uint32Array(capacity),
    flags: new Uint8Array(capacity),
    textEnds: new Uint32Array(capacity * TEXTS),
  };
}

/** Puts key `index` (its hash already in `c.words`) in the first free slot from its own. */
function place(c: Columns, index: number): void {
  const { slots, mask } = c;
  let slot = (c.words[index * HASH_WORDS] ?? 0) & mask;
  while ((slots[slot] ?? 0) !== 0) {
    slot = (slot + 1) & mask;
  }
  slots[slot] = index + 1;
}

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

/**
 * The lower-case hex hash of key `index` of a table a builder made, dropped or not.
 * @throws RangeError for another table or an index it does not hold
 */
export function tableHash(table: KeyTable, index: number): string {
  if (!(table instanceof FlatKeyTable) || !Number.isInteger(index) || index < 0 || index >= table.count) {
    throw new RangeError(`key table: no key ${index}`);
  }
  return table.hashAt(index);
}

/** A finished table: read-only, answers like a `ReadonlyMap` in row order. */
class FlatKeyTable implements KeyTable {
  /** Records made so far (never a dropped one), by index. */
  private readonly madeAt: (KeyRecord | undefined)[];

  /** Read by the builder of a next table that copies keys from this one. */
  constructor(
    readonly c: Columns,
    readonly text: Buffer,
    readonly count: number,
    readonly size: number,
  ) {
    this.madeAt = new Array<KeyRecord | undefined>(count);
    Object.freeze(this);
  }

  /**
   * Takes the records `source` made for the keys copied from it (`from[i]` there is `to[i]` here): the same row read
   * the same way is the same record, so what was derived from it (a request's answer, say) stays valid.
   */
  adopt(source: FlatKeyTable, from: readonly number[], to: readonly number[]): void {
    for (let i = 0; i < from.length; i++) {
      const record = source.madeAt[from[i] ?? -1];
      const at = to[i] ?? -1;
      if (record !== undefined && ((this.c.flags[at] ?? DROPPED) & DROPPED) === 0) {
        this.madeAt[at] = record;
      }
    }
  }

  hashAt(index: number): string {
    return this.c.hashes.toString('hex', index * HASH_WORDS * 4, (index + 1) * HASH_WORDS * 4);
  }

  get(hash: string): KeyRecord | undefined {
    const index = this.indexOf(hash);
    return index === -1 ? undefined : this.record(index);
  }

  /** Without making the record. */
  has(hash: string): boolean {
    return this.indexOf(hash) !== -1;
  }

  *entries(): IterableIterator<[string, KeyRecord]> {
    for (let index = 0; index < this.count; index++) {
      if (((this.c.flags[index] ?? 0) & DROPPED) === 0) {
        const record = this.record(index);
        yield [record.hash, record];
      }
    }
  }

  *keys(): IterableIterator<string> {
    for (const [hash] of this.entries()) {
      yield hash;
    }
  }

  *values(): IterableIterator<KeyRecord> {
    for (const [, record] of this.entries()) {
      yield record;
    }
  }

  forEach(callback: (record: KeyRecord, hash: string, table: KeyTable) => void): void {
    for (const [hash, record] of this.entries()) {
      callback(record, hash, this);
    }
  }

  [Symbol.iterator](): IterableIterator<[string, KeyRecord]> {
    return this.entries();
  }

  /** One pass over the columns: no record is made, so a big table costs no memory here. */
  tally(now: number, withinMs: number): KeyTally {
    const { numbers, flags, textEnds } = this.c;
    let withAllowedIps = 0;
    let expiringSoon = 0;
    for (let index = 0; index < this.count; index++) {
      const f = flags[index] ?? 0;
      if ((f & DROPPED) !== 0) {
        continue;
      }
      const ips = index * TEXTS + ALLOWED_IPS;
      if ((textEnds[ips] ?? 0) > (textEnds[ips - 1] ?? 0)) {
        withAllowedIps += 1;
      }
      const expiresAt = numbers[index * NUMBERS + 1] ?? NaN; // NaN (none) fails both comparisons
      if ((f & ACTIVE) !== 0 && expiresAt > now && expiresAt - now <= withinMs) {
        expiringSoon += 1;
      }
    }
    return { withAllowedIps, expiringSoon };
  }

  /** Index of the live key with this hash, or -1 (absent, dropped, or not a hash). */
  private indexOf(hash: string): number {
    const index = readHash(hash) ? find(this.c) : -1;
    return index === -1 || ((this.c.flags[index] ?? 0) & DROPPED) !== 0 ? -1 : index;
  }

  private record(index: number): KeyRecord {
    return this.madeAt[index] ?? this.make(index, this.hashAt(index));
  }

  private make(index: number, hash: string): KeyRecord {
    const { numbers, rows, flags } = this.c;
    const n = index * NUMBERS;
    const scopes = this.textAt(index * TEXTS + 2);
    const allowedIps = this.textAt(index * TEXTS + ALLOWED_IPS);
    const flag = flags[index] ?? 0;
    const period = (flag & QUOTA_DAY) !== 0 ? 'day' : (flag & QUOTA_MONTH) !== 0 ? 'month' : undefined;
    const record: KeyRecord = Object.freeze({
      hash,
      keyId: keyIdOf(hash),
      preview: this.textAt(index * TEXTS + 1),
      clientName: this.textAt(index * TEXTS),
      createdAt: orUndefined(numbers[n]),
      expiresAt: orUndefined(numbers[n + 1]),
      active: ((flags[index] ?? 0) & ACTIVE) !== 0,
      rateLimit: numbers[n + 2] ?? 0,
      scopes: scopes === '' ? EMPTY_LIST : Object.freeze(scopes.split(' ')),
      allowedIps: allowedIps === '' ? EMPTY_LIST : Object.freeze(allowedIps.split(' ')),
      row: rows[index] ?? 0,
      usageCount: numbers[n + 3] ?? 0,
      quota: period === undefined ? undefined : Object.freeze({ limit: numbers[n + 4] ?? 0, period }),
      quotaUsed: numbers[n + 5] ?? 0,
      quotaPeriod: this.textAt(index * TEXTS + QUOTA_PERIOD),
    });
    this.madeAt[index] = record;
    return record;
  }

  private textAt(at: number): string {
    const { textEnds } = this.c;
    const start = at === 0 ? 0 : (textEnds[at - 1] ?? 0);
    return this.text.toString('utf16le', start, textEnds[at] ?? 0);
  }
}

/** A list entry the space-separated text storage cannot give back as it was. */
function unstorable(entry: string): boolean {
  return entry === '' || entry.includes(' ');
}

function orUndefined(n: number | undefined): number | undefined {
  return n === undefined || Number.isNaN(n) ? undefined : n;
}

/** A table with no keys. */
export function emptyKeyTable(): KeyTable {
  return new KeyTableBuilder(1).finish();
}
