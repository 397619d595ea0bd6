import { SheetsError } from '../keys/sheets-error';
import { backoffMs, IDLE, within } from './flush-types';
import type { FlushResult, UsageFlusherOptions, UsageStatus } from './flush-types';
import { batchTotals } from './counter';
import type { CountedKey, PendingUsage } from './counter';
import { logFailedFlush, logLedgerFailure, logPlan, logUnwritten } from './flush-log';
import { usageOf } from './ledger';
import type { TakenUsage, UsageLedger } from './ledger';
import { MemoryLedger } from './memory-ledger';
import { quotaTotalsOf } from './quota-plan';
import { usageHistory } from './history-flush';
import type { HistoryStep, UsageHistory } from './history-flush';
import { readAndPlan, refusedByServer, SheetZone, toSheetsFailure } from './usage-sheet';
import type { RangeValues } from '../keys/sheet-source';
import type { CellValue } from '../keys/types';
import type { UsageSheet } from './usage-sheet';

export type { FlushResult, UsageFlusherOptions, UsageSheet, UsageStatus };

/**
 * Writes usage back to the sheet. Counts through `record()` (the middleware's `UsageRecorder`) into its ledger; every
 * interval, when anything is pending and this instance is the writer, one `values.get` locates each key's row by
 * identity and one `values.batchUpdate` adds the deltas to the counts found there. A refused write puts the deltas
 * back and backs off; a write without an answer stays in the ledger as in doubt and is settled by the next read, so
 * nothing is lost or counted twice. Sheets traffic is ≤ 1 read + 1 write per interval whatever the request rate (and,
 * with the Redis ledger, whatever the number of instances), and none when nothing was used.
 */
export class UsageFlusher {
  private readonly ledger: UsageLedger;
  private readonly intervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly stopTimeoutMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<FlushResult> | undefined;
  private stopped = true;
  private readonly zone: SheetZone;
  /** The usage history tab's part of each flush; undefined when no history is kept. */
  private readonly history: UsageHistory | undefined;
  private readonly reportedMissing = new Set<string>();
  /** Keys this instance refused for quota since its last flush as the writer (see {@link quotaRefused}). */
  private watched = new Map<string, CountedKey>();
  private inDoubtRequests = 0;
  private lastFlushAt: number | undefined;
  private lastFlushMs: number | undefined;
  private lastAttemptAt: number | undefined;
  private nextFlushAt: number | undefined;
  private failures = 0;
  private lastError: UsageStatus['lastError'];
  private writtenRequests = 0;
  private droppedRequests = 0;

  constructor(private readonly options: UsageFlusherOptions) {
    this.ledger = options.ledger ?? new MemoryLedger();
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
    this.zone = new SheetZone(options.sheet, options.timeZone, this.now);
    this.history = usageHistory(options.historyTab, options.sheet, options.logger);
  }

  /** Counts one accepted request (the auth middleware calls this after the rate limit let it through). */
  record(key: CountedKey, at: number): void {
    this.ledger.record(key, at);
  }

  /** `record` for one key, without a lookup per call (the middleware keeps it with the key's answer). */
  recorderFor(key: CountedKey): (at: number) => void {
    return this.ledger.recorderFor(key);
  }

  /**
   * A request of `key` was refused for quota: the next flush reads the sheet even if nothing else was used, so that
   * an admin's reset of `quota_used` reaches a key that can make no request until then. With the Redis ledger only
   * the writer's own refusals are watched (they are not pooled).
   */
  quotaRefused(key: CountedKey): void {
    if (this.options.quotas !== undefined) {
      this.watched.set(key.hash, key);
    }
  }

  /** Starts the interval loop (and the ledger's own work). */
  start(): void {
    this.stopped = false;
    this.ledger.start();
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
    const pending: PendingUsage = this.ledger.pending();
    return {
      intervalMs: this.intervalMs,
      lastFlushAt: this.lastFlushAt,
      lastFlushMs: this.lastFlushMs,
      lastAttemptAt: this.lastAttemptAt,
      nextFlushAt: this.nextFlushAt,
      pendingKeys: pending.keys,
      pendingRequests: pending.requests,
      inDoubtRequests: this.inDoubtRequests,
      consecutiveFailures: this.failures,
      lastError: this.lastError,
      writtenRequests: this.writtenRequests,
      droppedRequests: this.droppedRequests,
    };
  }

  /**
   * Stops the loop, stops the ledger (the Redis ledger pushes what is local) and, when this instance is the writer,
   * makes a final flush (after any flush under way), all bounded by `stopTimeoutMs`. What only this process holds and
   * could not be written is logged at error level by key id and count. Call it after the server stopped accepting
   * requests (and, with Redis, before releasing the lease).
   */
  async stop(): Promise<FlushResult | undefined> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextFlushAt = undefined;
    const final = (async () => {
      await this.inflight;
      await this.ledger.stop();
      return this.ledger.writes() ? this.flush() : IDLE;
    })();
    const result = await within(final, this.stopTimeoutMs);
    logUnwritten(this.options.logger, {
      result,
      left: this.ledger.unwritten(),
      pending: this.ledger.pending(),
      stopTimeoutMs: this.stopTimeoutMs,
    });
    this.history?.logUnwritten();
    return result;
  }

  private async run(): Promise<FlushResult> {
    try {
      await this.ledger.gather(); // this instance's own deltas join the flush
      if (!this.ledger.writes()) {
        this.failures = 0; // the writer's Sheets backoff is not ours
        return IDLE;
      }
      return await this.write();
    } finally {
      this.schedule(backoffMs(this.failures, this.intervalMs, this.maxBackoffMs, this.random));
    }
  }

  private async write(): Promise<FlushResult> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const { ledger } = this;
    const { sheet } = this.options;
    let taken: TakenUsage;
    try {
      taken = await ledger.take();
    } catch (err) {
      return this.ledgerFailed(err); // nothing was taken
    }
    this.inDoubtRequests = batchTotals(usageOf(taken.inDoubt)).requests;
    const history = this.history;
    if (taken.batch.size === 0 && taken.inDoubt.size === 0 && this.watched.size === 0 && history?.waiting() !== true) {
      return IDLE; // no Sheets call at all when nothing was used
    }
    this.lastAttemptAt = this.now();
    const { quotas } = this.options;
    const watched = this.watched;
    this.watched = new Map();
    const flushQuotas =
      quotas === undefined ? undefined : { counter: quotas, now: this.now(), watched: watched.values() };
    // With a history tab, its header and window ride in the same read: one `values.batchGet`.
    const historyRanges = await history?.ranges();
    let historyRead: RangeValues[] | undefined;
    const rows: Promise<CellValue[][]> =
      historyRanges === undefined || sheet.readRanges === undefined
        ? sheet.readValues()
        : sheet.readRanges([{ cells: '' }, ...historyRanges]).then((ranges) => {
            historyRead = ranges.slice(1);
            return ranges[0]?.values ?? [];
          });
    const plan = await readAndPlan(
      rows,
      this.zone.get(),
      taken.batch,
      taken.inDoubt,
      this.options.slicing,
      flushQuotas,
    ).catch((err: unknown) => toSheetsFailure(err));
    if (plan instanceof SheetsError) {
      // Nothing was sent: the batch goes back; an earlier in-doubt write stays in doubt for the next read.
      history?.readFailed(plan);
      ledger.putBack(taken.batch);
      this.watched = new Map([...watched, ...this.watched]);
      return this.failed(plan, 'failed', batchTotals(taken.batch), elapsed());
    }
    const dropped = logPlan(this.options.logger, plan, this.reportedMissing);
    const owned = usageOf(plan.attempts);
    let id: string;
    try {
      id = await ledger.sending(plan.attempts); // from here an unanswered write is in doubt, never counted twice
    } catch (err) {
      return this.ledgerFailed(err);
    }
    this.droppedRequests += dropped;
    this.inDoubtRequests = 0;
    // The history counts the requests this write adds to `usage_count`, dated by this flush.
    const located = new Map([...taken.batch].filter(([hash]) => plan.attempts.has(hash)));
    const step = history?.plan(historyRead, located, plan.clientNames, this.now(), plan.zone);
    const writes = [...plan.writes, ...(step?.updates ?? [])];
    if (writes.length === 0) {
      await this.settleHistory(step, 'written');
      return this.succeeded({ keys: 0, requests: 0 }, dropped, elapsed());
    }
    const quotaTotals = quotaTotalsOf(plan.quotaWrites);
    try {
      await sheet.batchUpdate(writes, 'USER_ENTERED');
    } catch (err) {
      const error = toSheetsFailure(err);
      if (refusedByServer(error)) {
        await ledger.refused(id, plan.attempts).catch(() => undefined); // else: settled by the next read
        await this.settleHistory(step, 'refused');
        return this.failed(error, 'failed', batchTotals(owned), elapsed());
      }
      this.inDoubtRequests = batchTotals(owned).requests;
      await quotas?.written(quotaTotals, false);
      await this.settleHistory(step, 'in_doubt');
      return this.failed(error, 'in_doubt', batchTotals(owned), elapsed());
    }
    await quotas?.written(quotaTotals, true);
    await ledger.written(id).catch(() => undefined); // else: the next read finds it applied
    await this.settleHistory(step, 'written'); // its append's failure never undoes the key tab's write
    return this.succeeded(batchTotals(owned), dropped, elapsed());
  }

  private async settleHistory(step: HistoryStep | undefined, outcome: 'written' | 'refused' | 'in_doubt') {
    if (step !== undefined) {
      await this.history?.settle(step, outcome);
    }
  }

  private succeeded(written: PendingUsage, droppedRequests: number, ms: number): FlushResult {
    this.failures = 0;
    this.lastError = undefined;
    this.lastFlushAt = this.now();
    this.lastFlushMs = ms;
    this.writtenRequests += written.requests;
    this.options.logger.debug('usage flushed', { ...written, droppedRequests, ms });
    const result: FlushResult = { outcome: 'written', ...written, droppedRequests, ms };
    this.options.onFlush?.(result);
    return result;
  }

  private failed(error: SheetsError, outcome: 'failed' | 'in_doubt', totals: PendingUsage, ms: number): FlushResult {
    this.failures += 1;
    this.lastFlushMs = ms;
    this.lastError = { code: error.code, message: error.message, at: this.now() };
    logFailedFlush(this.options.logger, { error, outcome, totals, failures: this.failures });
    const result: FlushResult = { outcome, ...totals, droppedRequests: 0, ms, error };
    this.options.onFlush?.(result);
    return result;
  }

  /** The ledger could not be reached (or the lease was lost): nothing was sent, no Sheets backoff needed. */
  private ledgerFailed(err: unknown): FlushResult {
    this.lastError = { ...logLedgerFailure(this.options.logger, err), at: this.now() };
    return IDLE;
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
