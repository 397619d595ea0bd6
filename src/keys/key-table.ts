/**
 * The snapshot's keys by hash, stored column-wise in a few flat typed arrays rather than one object per key.
 *
 * Why: a refresh of 100,000 rows built ~40 MB of small objects (a record, its strings, a Map entry per key), all of
 * which survive; V8's scavenger copies each survivor twice before it settles, and those copies were the 15–30 ms
 * pauses that broke the ≤ 20 ms event-loop budget while a big sheet was being loaded (docs/performance.md). Flat arrays are
 * a handful of large objects the scavenger never copies. A key's {@link KeyRecord} is made the first time it is asked
 * for (a request with that key, an iteration) and kept for the table's life, and a refresh that keeps the key's row as
 * it was keeps the record too (src/keys/key-table-builder.ts): the hot path pays it once per key and change.
 *
 * Lookup: by open addressing on the first 32 bits of the sha256 (uniform by construction), then all 256 bits compared;
 * a record already made is then one array load away.
 */
import { Buffer } from 'node:buffer';
import { keyIdOf } from './key-id';
import type { KeyRecord, KeyTable, KeyTally } from './types';

export const HASH_WORDS = 8; // 32 bytes of sha256 as Uint32
const HEX_LENGTH = 64;
export const ACTIVE = 1;
export const DROPPED = 2;
/** A quota's period, in `flags`; neither = no quota. */
export const QUOTA_DAY = 4;
export const QUOTA_MONTH = 8;
/** Per key in `numbers`: createdAt, expiresAt (NaN = none), rateLimit, usageCount, quota limit, quotaUsed. */
export const NUMBERS = 6;
/**
 * Per key in `text`: client name, preview, scopes (space-separated), allowed IPs (space-separated), quota period, as
 * UTF-16 code units — not UTF-8, which would turn a lone surrogate a sheet can hold into U+FFFD: a name must come
 * back exactly as it was read.
 */
export const TEXTS = 5;
export const ALLOWED_IPS = 3;
export const QUOTA_PERIOD = 4;
const EMPTY_LIST: readonly string[] = Object.freeze([]);

/** The 32 bytes of the hash being looked up. Lookups are synchronous, so one scratch buffer serves them all. */
export const scratchWords = new Uint32Array(HASH_WORDS);
const scratch = Buffer.from(scratchWords.buffer);

/** Reads a 64-hex-digit hash into `scratch`; false when it is not one. */
export function readHash(hash: string): boolean {
  return hash.length === HEX_LENGTH && scratch.write(hash, 0, 'hex') === HASH_WORDS * 4;
}

/** The columns, shared by the builder (src/keys/key-table-builder.ts) and the finished table. */
export interface Columns {
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
export function find(c: Columns): number {
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
export function columns(capacity: number): Columns {
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
export function place(c: Columns, index: number): void {
  const { slots, mask } = c;
  let slot = (c.words[index * HASH_WORDS] ?? 0) & mask;
  while ((slots[slot] ?? 0) !== 0) {
    slot = (slot + 1) & mask;
  }
  slots[slot] = index + 1;
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
export class FlatKeyTable implements KeyTable {
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

function orUndefined(n: number | undefined): number | undefined {
  return n === undefined || Number.isNaN(n) ? undefined : n;
}
