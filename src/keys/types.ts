/**
 * Shared shapes of the key registry. Pure data: no I/O, no classes.
 */
export const QUOTA_PERIODS = ['day', 'month'] as const;
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];

/** A key's allowance: `limit` accepted requests per calendar `period`. */
export interface Quota {
  readonly limit: number;
  readonly period: QuotaPeriod;
}

/** One cell as the Sheets API returns it under `valueRenderOption=UNFORMATTED_VALUE` (`''` for an empty cell). */
export type CellValue = string | number | boolean;

/** One range of a batch write, A1 without the tab name. */
export interface CellWrite {
  /** The tab the range is in; unset = the key tab. */
  readonly tab?: string;
  readonly cells: string;
  readonly values: CellValue[][];
}

/** The whole tab plus what is needed to interpret it. */
export interface SheetTable {
  /** IANA zone from `spreadsheets.get` `properties.timeZone`; date serials are wall-clock in this zone. */
  readonly timeZone: string;
  /** Row 0 is the header row. Rows are ragged: trailing empty cells and rows are omitted by the API. */
  readonly rows: readonly (readonly CellValue[])[];
  /**
   * Epoch ms when the read of Google that gave these rows began, when the source knows it: for a table shared through
   * Redis, the leader's read. The snapshot built from it is stamped with it, so its age is the age of the data.
   */
  readonly readAt?: number;
}

/** A usable key, parsed from one sheet row. */
export interface KeyRecord {
  /** Lower-case hex sha256 of the key: the snapshot's index, never shown. */
  readonly hash: string;
  /** Short, stable, non-secret identifier (first 16 hex chars of `hash`): logs, metrics, limiter keys. */
  readonly keyId: string;
  /** Masked preview for humans: `sk-con…0000`, or `sha256:3f2a9c…` for hashed rows. */
  readonly preview: string;
  readonly clientName: string;
  /** Epoch ms; undefined when the cell is empty. Informational only. */
  readonly createdAt: number | undefined;
  /** Epoch ms; undefined = never expires. Checked per request. */
  readonly expiresAt: number | undefined;
  readonly active: boolean;
  /** Requests per minute. */
  readonly rateLimit: number;
  /** Empty = full access. */
  readonly scopes: readonly string[];
  /**
   * `allowed_ips`: addresses and CIDR ranges the key may be used from, each in one canonical form (`10.0.0.0/8`,
   * `2001:db8::/32`, `203.0.113.7`); empty = any address.
   */
  readonly allowedIps: readonly string[];
  /** 1-based sheet row the record came from, for messages only: rows move, identity is the key. */
  readonly row: number;
  /** `usage_count` as read; 0 when empty. */
  readonly usageCount: number;
  /** `quota` (`N/day`, `N/month`); undefined = no quota. */
  readonly quota: Quota | undefined;
  /** `quota_used` as read; 0 when empty or unreadable. Counts in `quotaPeriod` only. */
  readonly quotaUsed: number;
  /** `quota_period` as read (`2026-12-05`, `2026-12`); `''` when empty, unreadable, or the key has no quota. */
  readonly quotaPeriod: string;
}

/** A row that was refused. Never carries the key; `keyId` when the key cell itself was readable. */
export interface RowProblem {
  readonly row: number;
  readonly reason: string;
  readonly keyId?: string;
}

/**
 * Usable keys by `hash`, read-only, iterated in row order: the part of `ReadonlyMap` the service uses. Stored flat
 * (src/keys/key-table.ts), so a big snapshot is a few large arrays rather than one object per key.
 */
export interface KeyTable extends Iterable<[string, KeyRecord]> {
  readonly size: number;
  get(hash: string): KeyRecord | undefined;
  has(hash: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<KeyRecord>;
  entries(): IterableIterator<[string, KeyRecord]>;
  forEach(callback: (record: KeyRecord, hash: string, table: KeyTable) => void): void;
  /** Counts for `/auth/status`, taken without making a record per key. */
  tally(now: number, withinMs: number): KeyTally;
}

/** What {@link KeyTable.tally} counts among the usable keys. */
export interface KeyTally {
  /** Keys with a non-empty `allowed_ips`. */
  readonly withAllowedIps: number;
  /** Active keys whose `expires_at` is after `now` and at most `withinMs` later. */
  readonly expiringSoon: number;
}

/** Immutable result of one load. Swapped whole, never mutated. */
export interface Snapshot {
  /** Usable keys by `hash`. Refused rows (invalid, duplicate) are absent. */
  readonly byHash: KeyTable;
  readonly problems: readonly RowProblem[];
  readonly timeZone: string;
  /** Epoch ms when the table was read: `SheetTable.readAt` when the source gave it, else when the build began. */
  readonly loadedAt: number;
}

/** What row parsing needs besides the cells. */
export interface ParseContext {
  readonly timeZone: string;
  readonly defaultRateLimit: number;
}
