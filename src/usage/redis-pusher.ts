import { randomUUID } from 'node:crypto';
import type { Logger } from '../log';
import { batchTotals, UsageCounter } from './counter';
import type { PendingUsage, UsageBatch } from './counter';

export interface UsagePusherOptions {
  /** The pool: adds a batch once per push id (`RedisUsageLedger.push`). */
  readonly ledger: { push(id: string, batch: UsageBatch): Promise<void> };
  readonly logger: Logger;
  /** The counter the auth middleware records into. Defaults to a new, empty one. */
  readonly counter?: UsageCounter;
  /** How often local deltas go to Redis. Defaults to `2000` ms. */
  readonly intervalMs?: number;
  /** Called when a push fails (metrics). */
  readonly onError?: (operation: 'usage') => void;
}

/**
 * Moves this instance's usage deltas into the Redis pool every few seconds. A batch that could not be
 * pushed is kept, with its push id, and retried as is before anything newer: if Redis did apply it and only the reply
 * was lost, the id makes the retry a no-op, so a request is neither lost nor counted twice. While Redis is down the
 * deltas wait here (`pending()`), and go out when it returns.
 */
export class UsagePusher {
  readonly counter: UsageCounter;
  private readonly intervalMs: number;
  private unacked: { readonly id: string; readonly batch: UsageBatch } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<boolean> | undefined;
  private failing = false;
  private lastPushAt: number | undefined;

  constructor(private readonly options: UsagePusherOptions) {
    this.counter = options.counter ?? new UsageCounter();
    this.intervalMs = options.intervalMs ?? 2000;
    if (!(this.intervalMs > 0)) {
      throw new Error(`UsagePusher: intervalMs must be > 0 (got ${this.intervalMs})`);
    }
  }

  start(): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.push(), this.intervalMs);
    this.timer.unref();
  }

  /** Pushes everything local now (joins a push under way). Resolves true when nothing is left locally; never rejects. */
  push(): Promise<boolean> {
    this.inflight ??= this.run().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Requests counted here and not yet in Redis. */
  pending(): PendingUsage {
    const local = this.counter.pending();
    const unacked = this.unacked === undefined ? { keys: 0, requests: 0 } : batchTotals(this.unacked.batch);
    return { keys: local.keys + unacked.keys, requests: local.requests + unacked.requests };
  }

  /** Epoch ms of the last push that reached Redis. */
  lastPush(): number | undefined {
    return this.lastPushAt;
  }

  /** Stops the timer and pushes what is left (after a push under way). Logs what stays unpushed. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inflight;
    if (!(await this.push())) {
      const { keys, requests } = this.pending();
      this.options.logger.error('usage not pushed to Redis at shutdown: these requests are not counted', {
        keys,
        requests,
      });
    }
  }

  private async run(): Promise<boolean> {
    try {
      if (this.unacked !== undefined) {
        await this.options.ledger.push(this.unacked.id, this.unacked.batch);
        this.unacked = undefined;
      }
      if (this.counter.pending().keys > 0) {
        this.unacked = { id: randomUUID(), batch: this.counter.take() };
        await this.options.ledger.push(this.unacked.id, this.unacked.batch);
        this.unacked = undefined;
      }
      this.lastPushAt = Date.now();
      if (this.failing) {
        this.failing = false;
        this.options.logger.info('usage deltas reach Redis again');
      }
      return true;
    } catch (err) {
      this.options.onError?.('usage');
      if (!this.failing) {
        this.failing = true;
        this.options.logger.warn(
          `usage deltas stay in this instance until Redis answers (${err instanceof Error ? err.message : String(err)})`,
          this.pending(),
        );
      }
      return false;
    }
  }
}
