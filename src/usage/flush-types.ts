import type { SheetsError } from '../keys/sheets-error';
import type { QuotaCounter } from '../limits/quota-counter';
import type { Logger } from '../log';
import type { SliceOptions } from '../slicing';
import type { UsageLedger } from './ledger';
import type { UsageSheet } from './usage-sheet';

export interface UsageFlusherOptions {
  readonly sheet: UsageSheet;
  /** Where deltas wait and the write in doubt is kept. Defaults to a new `MemoryLedger` (one instance). */
  readonly ledger?: UsageLedger;
  readonly logger: Logger;
  /** `USAGE_FLUSH_INTERVAL` in ms. Defaults to `60000`. */
  readonly intervalMs?: number;
  /**
   * The spreadsheet zone as the key store last read it (`() => store.snapshot()?.timeZone`), so a flush costs one
   * read, not two. When it gives undefined the flusher reads the zone itself and keeps it for an hour.
   */
  readonly timeZone?: () => string | undefined;
  /** Longest wait between flushes after failures. Defaults to `600000` ms (never less than `intervalMs`). */
  readonly maxBackoffMs?: number;
  /** Bound on the final flush in `stop()`. Defaults to `15000` ms. */
  readonly stopTimeoutMs?: number;
  readonly now?: () => number;
  /** [0, 1) source for backoff jitter. */
  readonly random?: () => number;
  /** Called after every flush that had something to do (metrics). */
  readonly onFlush?: (result: FlushResult) => void;
  /** How the plan of a flush gives the event loop its turns; defaults to slices of ~5 ms. */
  readonly slicing?: SliceOptions;
  /** The quota counters the auth middleware charges: each flush writes their totals to `quota_used`. */
  readonly quotas?: QuotaCounter;
  /**
   * `USAGE_HISTORY_TAB`: the tab of one row per key per day, kept by the same flush (its header and window in the
   * flush's read, its cells in the flush's write, new rows in one append). Undefined = no history.
   */
  readonly historyTab?: string;
}

/**
 * What one flush did. `written`: the batch is in the sheet. `failed`: nothing was written, the deltas are pending
 * again. `in_doubt`: the write was sent but no answer came; the next flush reads the sheet to tell.
 */
export interface FlushResult {
  readonly outcome: 'idle' | 'written' | 'failed' | 'in_doubt';
  /** Keys and requests written (`written`), or attempted (`in_doubt`), or put back (`failed`). */
  readonly keys: number;
  readonly requests: number;
  /** Requests of keys whose row vanished (or is duplicated): kept out of the sheet. */
  readonly droppedRequests: number;
  readonly ms: number;
  readonly error?: SheetsError;
}

/** `/auth/status` and metrics. Counts and times only, never a key. */
export interface UsageStatus {
  readonly intervalMs: number;
  /** Epoch ms of the last flush that succeeded (idle intervals make no flush). */
  readonly lastFlushAt: number | undefined;
  /** Duration of the last flush that did any Sheets call. */
  readonly lastFlushMs: number | undefined;
  readonly lastAttemptAt: number | undefined;
  readonly nextFlushAt: number | undefined;
  /** Requests counted in this instance and not yet taken by a flush (with Redis: not yet pushed). */
  readonly pendingKeys: number;
  readonly pendingRequests: number;
  /** Requests sent in a write whose outcome is not known yet. */
  readonly inDoubtRequests: number;
  readonly consecutiveFailures: number;
  readonly lastError: { readonly code: string; readonly message: string; readonly at: number } | undefined;
  /** Since start: requests written, and requests kept out because their row vanished. */
  readonly writtenRequests: number;
  readonly droppedRequests: number;
}

/** A flush that had nothing to do, or was not this instance's to do. */
export const IDLE: FlushResult = { outcome: 'idle', keys: 0, requests: 0, droppedRequests: 0, ms: 0 };

/**
 * The wait before the next flush: the interval after a success; after `failures` failed flushes, uniform in
 * [interval, min(maxBackoff, interval · 2^failures)].
 */
export function backoffMs(failures: number, intervalMs: number, maxBackoffMs: number, random: () => number): number {
  if (failures === 0) {
    return intervalMs;
  }
  const cap = Math.min(maxBackoffMs, intervalMs * 2 ** Math.min(failures, 20));
  return Math.round(intervalMs + random() * (cap - intervalMs));
}

/** `promise`'s value, or undefined when it has not settled within `ms` (the bound on the final flush). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
