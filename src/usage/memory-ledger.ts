import { UsageCounter } from './counter';
import type { CountedKey, PendingUsage, UsageBatch } from './counter';
import { usageOf } from './ledger';
import type { TakenUsage, Unwritten, UsageLedger } from './ledger';
import type { Attempts } from './plan';

/**
 * The ledger of a single instance: deltas in a {@link UsageCounter}, the write in doubt in a field. A batch that was
 * not written goes back into the counter; the attempts of a write without an answer are held here, not in the
 * counter, so the next read settles them and they are never counted twice.
 */
export class MemoryLedger implements UsageLedger {
  private readonly counter = new UsageCounter();
  /** The batch a flush has taken and not yet sent: for the shutdown report only. */
  private taken: UsageBatch | undefined;
  private sent: { readonly id: string; readonly attempts: Attempts } | undefined;
  private lastWriteId = 0;

  record(key: CountedKey, at: number): void {
    this.counter.record(key, at);
  }

  recorderFor(key: CountedKey): (at: number) => void {
    return this.counter.recorderFor(key);
  }

  pending(): PendingUsage {
    return this.counter.pending();
  }

  start(): void {
    // Nothing runs in the background: the counter is the pool.
  }

  async gather(): Promise<void> {
    // The counter is already where the flush takes from.
  }

  writes(): boolean {
    return true;
  }

  take(): Promise<TakenUsage> {
    this.taken = this.counter.take();
    return Promise.resolve({ batch: this.taken, inDoubt: this.sent?.attempts ?? new Map() });
  }

  putBack(batch: UsageBatch): void {
    this.taken = undefined;
    this.counter.restore(batch);
  }

  sending(attempts: Attempts): Promise<string> {
    this.lastWriteId += 1;
    const id = String(this.lastWriteId);
    this.taken = undefined;
    this.sent = attempts.size === 0 ? undefined : { id, attempts };
    return Promise.resolve(id);
  }

  written(id: string): Promise<void> {
    if (this.sent?.id === id) {
      this.sent = undefined;
    }
    return Promise.resolve();
  }

  refused(id: string, attempts: Attempts): Promise<void> {
    if (this.sent?.id === id) {
      this.sent = undefined;
      this.counter.restore(usageOf(attempts));
    }
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    // Nothing to move: the final flush writes from the counter.
  }

  unwritten(): Unwritten {
    return {
      unwritten: [...this.counter.peek().values(), ...(this.taken?.values() ?? [])],
      inDoubt: [...(this.sent?.attempts.values() ?? [])].map((a) => a.usage),
    };
  }
}
