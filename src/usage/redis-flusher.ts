import type { CountedKey } from './counter';
import { batchTotals } from './counter';
import type { PendingUsage, UsageBatch } from './counter';
import { logPlan } from './flush-log';
import type { FlushResult, UsageStatus } from './flusher';
import type { ChunkedBuildOptions } from '../keys/snapshot-chunked';
import type { Attempts } from './plan';
import type { RedisUsageLedger } from './redis-ledger';
import type { UsagePusher } from './redis-pusher';
import { readAndPlan, refusedByServer, toSheetsFailure } from './usage-sheet';
import type { UsageSheet } from './usage-sheet';
import { SheetsError } from '../keys/sheets-error';
import type { QuotaCounter } from '../limits/quota-counter';
import type { Logger } from '../log';
import { toRedisError } from '../redis/redis-error';
import { quotaTotalsOf } from './quota-plan';

export interface RedisUsageFlusherOptions {
  readonly sheet: UsageSheet;
  readonly ledger: Pick<RedisUsageLedger, 'take' | 'sending' | 'written' | 'refused'>;
  /** The leader lease: only its holder flushes. */
  readonly lease: { held(): boolean };
  /** Moves local deltas to Redis; the middleware records into `pusher.counter`. */
  readonly pusher: UsagePusher;
  readonly logger: Logger;
  /** `USAGE_FLUSH_INTERVAL` in ms. Defaults to `60000`. */
  readonly intervalMs?: number;
  /** The zone of the last snapshot (`() => store.snapshot()?.timeZone`); else read from the sheet, kept 1 h. */
  readonly timeZone?: () => string | undefined;
  /** Longest wait between flushes after Sheets failures. Defaults to `600000` ms (never less than `intervalMs`). */
  readonly maxBackoffMs?: number;
  /** Bound on the final push + flush in `stop()`. Defaults to `15000` ms. */
  readonly stopTimeoutMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Called after every flush that had something to do (metrics). */
  readonly onFlush?: (result: FlushResult) => void;
  /** How the plan of a flush gives the event loop its turns; defaults to slices of ~5 ms (issue 8). */
  readonly slicing?: ChunkedBuildOptions;
  /** The shared quota counters: the leader's flush writes their totals to `quota_used`. */
  readonly quotas?: QuotaCounter;
}

const ZONE_TTL_MS = 60 * 60_000;
const IDLE: FlushResult = { outcome: 'idle', keys: 0, requests: 0, droppedRequests: 0, ms: 0 };

function usageOf(attempts: Attempts): UsageBatch {
  return new Map([...attempts].map(([hash, attempt]) => [hash, attempt.usage]));
}

/**
 * Usage write-back with Redis (issue 6): every instance pushes its deltas to the Redis pool every few seconds (and at
 * shutdown); every `USAGE_FLUSH_INTERVAL` the lease holder alone takes the pool, reads the tab once, plans with the
 * same pure `planUsageWrite` as the in-process flusher, records the attempts in Redis, and sends one
 * `values.batchUpdate`. So Sheets traffic stays ≤ 1 read + 1 write per interval for the whole cluster. What was taken
 * or sent lives in Redis until settled: a leader that dies at any step leaves it for the next one, which settles an
 * unanswered write by reading the sheet back (nothing lost, nothing counted twice). Same `record` / `status` / `stop`
 * surface as `UsageFlusher`, so it wires in its place.
 */
export class RedisUsageFlusher {
  private readonly intervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly stopTimeoutMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<FlushResult> | undefined;
  private stopped = true;
  private zone: { readonly name: string; readonly at: number } | undefined;
  private readonly reportedMissing = new Set<string>();
  /** Keys this instance refused for quota since its last flush as leader. */
  private watched = new Map<string, CountedKey>();
  private inDoubtRequests = 0;
  private failures = 0;
  private lastError: UsageStatus['lastError'];
  private lastFlushAt: number | undefined;
  private lastFlushMs: number | undefined;
  private lastAttemptAt: number | undefined;
  private nextFlushAt: number | undefined;
  private writtenRequests = 0;
  private droppedRequests = 0;

  constructor(private readonly options: RedisUsageFlusherOptions) {
    this.intervalMs = options.intervalMs ?? 60_000;
    if (!(this.intervalMs > 0)) {
      throw new Error(
        `RedisUsageFlusher: intervalMs must be > 0 (got ${this.intervalMs}); USAGE_FLUSH_INTERVAL is in s`,
      );
    }
    this.maxBackoffMs = Math.max(this.intervalMs, options.maxBackoffMs ?? 600_000);
    this.stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Counts one accepted request locally (the auth middleware's `UsageRecorder`). */
  record(key: CountedKey, at: number): void {
    this.options.pusher.counter.record(key, at);
  }

  /** As `UsageFlusher.quotaRefused`; only the leader's own refusals are watched (followers' are not pooled). */
  quotaRefused(key: CountedKey): void {
    if (this.options.quotas !== undefined) {
      this.watched.set(key.hash, key);
    }
  }

  start(): void {
    this.stopped = false;
    this.options.pusher.start();
    this.schedule(this.intervalMs);
  }

  /** Pushes local deltas, then flushes the pool when this instance leads (joins a flush under way). Never rejects. */
  flush(): Promise<FlushResult> {
    this.inflight ??= this.run().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** `pendingKeys`/`pendingRequests`: this instance's deltas not yet in Redis. Never a key. */
  status(): UsageStatus {
    const pending: PendingUsage = this.options.pusher.pending();
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
   * Stops the loop, pushes what is local, and — when leading — makes a final flush, all bounded by `stopTimeoutMs`.
   * Whatever the flush leaves (a failed or unanswered write) stays in Redis for the next leader. Call it after the
   * server stopped accepting, and before releasing the lease.
   */
  async stop(): Promise<FlushResult | undefined> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextFlushAt = undefined;
    let timer: NodeJS.Timeout | undefined;
    const final = (async () => {
      await this.inflight;
      await this.options.pusher.stop();
      return this.options.lease.held() ? this.flush() : IDLE;
    })();
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.stopTimeoutMs);
    });
    const result = await Promise.race([final, timeout]);
    clearTimeout(timer);
    if (result === undefined) {
      this.options.logger.warn(`usage flush did not finish within ${this.stopTimeoutMs} ms of shutdown`, {
        notPushed: this.options.pusher.pending().requests,
      });
    }
    return result;
  }

  private async run(): Promise<FlushResult> {
    try {
      await this.options.pusher.push(); // this instance's own deltas join the flush
      if (!this.options.lease.held()) {
        this.failures = 0; // the leader's Sheets backoff is no longer ours
        return IDLE; // another instance writes usage back
      }
      return await this.leaderFlush();
    } finally {
      this.schedule(this.failures === 0 ? this.intervalMs : this.backoff());
    }
  }

  private async leaderFlush(): Promise<FlushResult> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const { ledger, sheet } = this.options;
    let taken;
    try {
      taken = await ledger.take();
    } catch (err) {
      return this.redisFailed(err); // nothing left Redis
    }
    this.inDoubtRequests = batchTotals(usageOf(taken.inDoubt)).requests;
    if (taken.batch.size === 0 && taken.inDoubt.size === 0 && this.watched.size === 0) {
      return IDLE; // no Sheets call at all when nothing was used
    }
    this.lastAttemptAt = this.now();
    const { quotas } = this.options;
    const watched = this.watched;
    this.watched = new Map();
    const flushQuotas =
      quotas === undefined ? undefined : { counter: quotas, now: this.now(), watched: watched.values() };
    const plan = await readAndPlan(
      sheet,
      this.timeZone(),
      taken.batch,
      taken.inDoubt,
      this.options.slicing,
      flushQuotas,
    ).catch((err: unknown) => toSheetsFailure(err));
    if (plan instanceof SheetsError) {
      // Nothing was sent: what was taken stays taken in Redis, the in-doubt write stays in doubt.
      return this.failed(plan, 'failed', batchTotals(taken.batch), elapsed());
    }
    const dropped = logPlan(this.options.logger, plan, this.reportedMissing);
    const owned = usageOf(plan.attempts);
    let id: string;
    try {
      id = await ledger.sending(plan.attempts); // from here a crash leaves an in-doubt write for the next leader
    } catch (err) {
      return this.redisFailed(err);
    }
    this.droppedRequests += dropped;
    this.inDoubtRequests = 0;
    if (plan.writes.length === 0) {
      return this.succeeded({ keys: 0, requests: 0 }, dropped, elapsed());
    }
    const quotaTotals = quotaTotalsOf(plan.quotaWrites);
    try {
      await sheet.batchUpdate(plan.writes, 'USER_ENTERED');
    } catch (err) {
      const error = toSheetsFailure(err);
      if (refusedByServer(error)) {
        await ledger.refused(id, plan.attempts).catch(() => undefined); // else: settled by the next read
        return this.failed(error, 'failed', batchTotals(owned), elapsed());
      }
      this.inDoubtRequests = batchTotals(owned).requests;
      await quotas?.written(quotaTotals, false);
      return this.failed(error, 'in_doubt', batchTotals(owned), elapsed());
    }
    await quotas?.written(quotaTotals, true);
    await ledger.written(id).catch(() => undefined); // else: the next read finds it applied
    return this.succeeded(batchTotals(owned), dropped, elapsed());
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
    const what =
      outcome === 'failed' ? 'usage write-back failed' : 'usage write got no answer (the next read settles it)';
    this.options.logger.error(`${what}: ${error.message}`, {
      code: error.code,
      outcome,
      ...totals,
      failures: this.failures,
    });
    const result: FlushResult = { outcome, ...totals, droppedRequests: 0, ms, error };
    this.options.onFlush?.(result);
    return result;
  }

  /** Redis failed or the lease was lost: nothing was sent, everything stays in Redis. No Sheets backoff needed. */
  private redisFailed(err: unknown): FlushResult {
    const error = toRedisError(err);
    this.lastError = { code: error.code, message: error.message, at: this.now() };
    this.options.logger.warn(`usage flush skipped: ${error.message} (the deltas stay in Redis)`, { code: error.code });
    return IDLE;
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
