import type { SheetsError } from '../keys/sheets-error';
import type { QuotaCounter } from '../limits/quota-counter';
import type { Logger } from '../log';
import { batchTotals, UsageCounter } from './counter';
import type { CountedKey, PendingUsage, UsageBatch } from './counter';
import { logPlan, logUnwritten } from './flush-log';
import type { ChunkedBuildOptions } from '../keys/snapshot-chunked';
import type { Attempts, UsagePlan } from './plan';
import { quotaTotalsOf } from './quota-plan';
import { readAndPlan, refusedByServer, toSheetsFailure } from './usage-sheet';
import type { UsageSheet } from './usage-sheet';

export type { UsageSheet };

export interface UsageFlusherOptions {
  readonly sheet: UsageSheet;
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
  /** Defaults to a new, empty counter. */
  readonly counter?: UsageCounter;
  readonly now?: () => number;
  /** [0, 1) source for backoff jitter. */
  readonly random?: () => number;
  /** Called after every flush that had something to do (metrics). */
  readonly onFlush?: (result: FlushResult) => void;
  /** How the plan of a flush gives the event loop its turns; defaults to slices of ~5 ms (issue 8). */
  readonly slicing?: ChunkedBuildOptions;
  /** The quota counters the auth middleware charges: each flush writes their totals to `quota_used`. */
  readonly quotas?: QuotaCounter;
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

const ZONE_TTL_MS = 60 * 60_000;

/**
 * Writes usage back to the sheet (DESIGN §4, issue 4). Counts in memory through `record()` (the middleware's
 * `UsageRecorder`); every interval, when anything is pending, one `values.get` locates each key's row by identity and
 * one `values.batchUpdate` adds the deltas to the counts found there. A failed write puts the deltas back and backs
 * off; a write without an answer is settled by the next read. Sheets traffic is ≤ 1 read + 1 write per interval
 * whatever the request rate, and none when nothing was used.
 */
export class UsageFlusher {
  private readonly counter: UsageCounter;
  private readonly intervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly stopTimeoutMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<FlushResult> | undefined;
  private stopped = true;
  /** The batch a flush has taken and not yet settled: for the shutdown report only. */
  private writing: UsageBatch | undefined;
  private inDoubt: Attempts = new Map();
  private zone: { readonly name: string; readonly at: number } | undefined;
  private readonly reportedMissing = new Set<string>();
  /** Keys refused for quota since the last flush (see {@link quotaRefused}). */
  private watched = new Map<string, CountedKey>();
  private lastFlushAt: number | undefined;
  private lastFlushMs: number | undefined;
  private lastAttemptAt: number | undefined;
  private nextFlushAt: number | undefined;
  private failures = 0;
  private lastError: UsageStatus['lastError'];
  private writtenRequests = 0;
  private droppedRequests = 0;

  constructor(private readonly options: UsageFlusherOptions) {
    this.counter = options.counter ?? new UsageCounter();
    this.intervalMs = options.intervalMs ?? 60_000;
    if (!(this.intervalMs > 0)) {
      throw new Error(
        `UsageFlusher: intervalMs must be > 0 (got ${this.intervalMs}); USAGE_FLUSH_INTERVAL is in seconds`,
      );
    }
    this.maxBackoffMs = Math.max(this.intervalMs, options.maxBackoffMs ?? 600_000);
    this.stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Counts one accepted request (the auth middleware calls this after the rate limit let it through). */
  record(key: CountedKey, at: number): void {
    this.counter.record(key, at);
  }

  /**
   * A request of `key` was refused for quota: the next flush reads the sheet even if nothing else was used, so that
   * an admin's reset of `quota_used` reaches a key that can make no request until then.
   */
  quotaRefused(key: CountedKey): void {
    if (this.options.quotas !== undefined) {
      this.watched.set(key.hash, key);
    }
  }

  /** Starts the interval loop. */
  start(): void {
    this.stopped = false;
    this.schedule(this.intervalMs);
  }

  /** Flushes now (joins a flush under way). Never rejects. */
  flush(): Promise<FlushResult> {
    this.inflight ??= this.run().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  status(): UsageStatus {
    const pending = this.counter.pending();
    let inDoubtRequests = 0;
    for (const attempt of this.inDoubt.values()) {
      inDoubtRequests += attempt.usage.count;
    }
    return {
      intervalMs: this.intervalMs,
      lastFlushAt: this.lastFlushAt,
      lastFlushMs: this.lastFlushMs,
      lastAttemptAt: this.lastAttemptAt,
      nextFlushAt: this.nextFlushAt,
      pendingKeys: pending.keys,
      pendingRequests: pending.requests,
      inDoubtRequests,
      consecutiveFailures: this.failures,
      lastError: this.lastError,
      writtenRequests: this.writtenRequests,
      droppedRequests: this.droppedRequests,
    };
  }

  /**
   * Stops the loop and makes a final flush (after any flush under way), bounded by `stopTimeoutMs`. Whatever could
   * not be written is logged at error level by key id and count. Call it after the server stopped accepting requests.
   */
  async stop(): Promise<FlushResult | undefined> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextFlushAt = undefined;
    let timer: NodeJS.Timeout | undefined;
    const final = (async () => {
      await this.inflight;
      return this.flush();
    })();
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.stopTimeoutMs);
    });
    const result = await Promise.race([final, timeout]);
    clearTimeout(timer);
    logUnwritten(this.options.logger, {
      result,
      unwritten: [...this.counter.peek().values(), ...(this.writing?.values() ?? [])],
      inDoubt: [...this.inDoubt.values()].map((a) => a.usage),
      stopTimeoutMs: this.stopTimeoutMs,
    });
    return result;
  }

  private async run(): Promise<FlushResult> {
    if (this.counter.pending().keys === 0 && this.inDoubt.size === 0 && this.watched.size === 0) {
      this.schedule(this.intervalMs); // no Sheets call at all when nothing was used
      return { outcome: 'idle', keys: 0, requests: 0, droppedRequests: 0, ms: 0 };
    }
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const batch = this.counter.take();
    const watched = this.watched;
    this.watched = new Map();
    this.writing = batch;
    this.lastAttemptAt = this.now();
    const { quotas } = this.options;
    try {
      let plan: UsagePlan;
      try {
        const flushQuotas =
          quotas === undefined ? undefined : { counter: quotas, now: this.now(), watched: watched.values() };
        plan = await readAndPlan(
          this.options.sheet,
          this.timeZone(),
          batch,
          this.inDoubt,
          this.options.slicing,
          flushQuotas,
        );
      } catch (err) {
        // Nothing was sent: the batch goes back; an earlier in-doubt write stays in doubt for the next read.
        this.counter.restore(batch);
        this.watched = new Map([...watched, ...this.watched]);
        return this.failed(toSheetsFailure(err), 'failed', batchTotals(batch), elapsed());
      }
      this.inDoubt = new Map(); // this read settled it: confirmed, merged into `plan`, or dropped
      const droppedRequests = logPlan(this.options.logger, plan, this.reportedMissing);
      this.droppedRequests += droppedRequests;
      const owned = usageOf(plan.attempts);
      if (plan.writes.length === 0) {
        return this.succeeded({ keys: 0, requests: 0 }, droppedRequests, elapsed());
      }
      this.writing = owned;
      const quotaTotals = quotaTotalsOf(plan.quotaWrites);
      try {
        await this.options.sheet.batchUpdate(plan.writes, 'USER_ENTERED');
      } catch (err) {
        const error = toSheetsFailure(err);
        if (refusedByServer(error)) {
          this.counter.restore(owned);
          return this.failed(error, 'failed', batchTotals(owned), elapsed());
        }
        this.inDoubt = plan.attempts; // held here, not in the counter: settled by the next read, never counted twice
        await quotas?.written(quotaTotals, false);
        return this.failed(error, 'in_doubt', batchTotals(owned), elapsed());
      }
      await quotas?.written(quotaTotals, true);
      return this.succeeded(batchTotals(owned), droppedRequests, elapsed());
    } finally {
      this.writing = undefined;
      this.schedule(this.failures === 0 ? this.intervalMs : this.backoff());
    }
  }

  private succeeded(written: PendingUsage, droppedRequests: number, ms: number): FlushResult {
    this.failures = 0;
    this.lastError = undefined;
    this.lastFlushAt = this.now();
    this.lastFlushMs = ms;
    this.writtenRequests += written.requests;
    this.options.logger.debug('usage flushed', { keys: written.keys, requests: written.requests, droppedRequests, ms });
    const result: FlushResult = { outcome: 'written', ...written, droppedRequests, ms };
    this.options.onFlush?.(result);
    return result;
  }

  private failed(error: SheetsError, outcome: 'failed' | 'in_doubt', totals: PendingUsage, ms: number): FlushResult {
    this.failures += 1;
    this.lastFlushMs = ms;
    this.lastError = { code: error.code, message: error.message, at: this.now() };
    const what =
      outcome === 'failed' ? 'usage write-back failed' : 'usage write got no answer (the next read settles it)';
    this.options.logger.error(`${what}: ${error.message}`, {
      code: error.code,
      outcome,
      keys: totals.keys,
      requests: totals.requests,
      failures: this.failures,
    });
    const result: FlushResult = { outcome, ...totals, droppedRequests: 0, ms, error };
    this.options.onFlush?.(result);
    return result;
  }

  private async timeZone(): Promise<string> {
    const known = this.options.timeZone?.();
    if (known !== undefined) {
      return known;
    }
    if (this.zone === undefined || this.now() - this.zone.at > ZONE_TTL_MS) {
      this.zone = { name: await this.options.sheet.timeZone(), at: this.now() };
    }
    return this.zone.name;
  }

  /** After `failures` failed flushes: uniform in [interval, min(maxBackoff, interval · 2^failures)]. */
  private backoff(): number {
    const cap = Math.min(this.maxBackoffMs, this.intervalMs * 2 ** Math.min(this.failures, 20));
    return Math.round(this.intervalMs + this.random() * (cap - this.intervalMs));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) {
      return;
    }
    clearTimeout(this.timer);
    this.nextFlushAt = this.now() + delayMs;
    this.timer = setTimeout(() => void this.flush(), delayMs);
    this.timer.unref();
  }
}

function usageOf(attempts: Attempts): UsageBatch {
  return new Map([...attempts].map(([hash, attempt]) => [hash, attempt.usage]));
}
