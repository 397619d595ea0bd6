import type { CountedKey, KeyUsage, PendingUsage, UsageBatch } from './counter';
import type { Attempts } from './plan';

/** What a flush takes: new deltas, and the attempts of an earlier write whose outcome is unknown. */
export interface TakenUsage {
  readonly batch: UsageBatch;
  readonly inDoubt: Attempts;
}

/** What only this process holds at shutdown: lost when it exits. */
export interface Unwritten {
  /** Deltas counted and never sent. */
  readonly unwritten: readonly KeyUsage[];
  /** Deltas of a write sent without an answer: they may or may not be in the sheet. */
  readonly inDoubt: readonly KeyUsage[];
}

/**
 * Where usage deltas wait between the auth middleware and the sheet, and where the write in doubt is remembered: the
 * port of {@link UsageFlusher}. `MemoryLedger` keeps both in this process; `RedisUsageLedger` pools them in Redis
 * for every instance. One flush drives it as
 *
 *   gather → writes()? → take → read + plan → putBack (the read failed)
 *                                           | sending → batchUpdate → written | refused | no answer (stays in doubt)
 *
 * so every request is, at any time, in exactly one place: counted, taken, or in the attempts of one write.
 */
export interface UsageLedger {
  /** Counts one accepted request (the auth middleware's `UsageRecorder`). */
  record(key: CountedKey, at: number): void;
  /** `record` for one key, as a function that need not look the key up on every call. */
  recorderFor(key: CountedKey): (at: number) => void;
  /** Requests counted in this process and not yet where the writer takes them (`/auth/status`, metrics). */
  pending(): PendingUsage;
  /** Starts the ledger's own background work, if any. */
  start(): void;
  /** Brings this process's deltas to where the writer takes them, before a flush. Never rejects. */
  gather(): Promise<void>;
  /** Whether this process writes usage back now; when false a flush does nothing (another instance writes). */
  writes(): boolean;
  /** Everything to write now. @throws when the ledger cannot be reached: nothing was taken. */
  take(): Promise<TakenUsage>;
  /** The read before the write failed, nothing was sent: `batch` (from `take`) goes to the next flush. */
  putBack(batch: UsageBatch): void;
  /**
   * Right before the write is sent: everything taken is now in `attempts` (or was kept out of the sheet), and they
   * become the write in doubt, replacing the one the read just settled. Empty `attempts`: nothing will be sent.
   * Returns the write's id. @throws when this cannot be recorded: then the write must not be sent.
   */
  sending(attempts: Attempts): Promise<string>;
  /** Write `id` landed: forget its attempts. @throws harmlessly: the next read finds the write applied. */
  written(id: string): Promise<void>;
  /** Google refused write `id` (not applied): its deltas are taken again. @throws harmlessly: the next read settles it. */
  refused(id: string, attempts: Attempts): Promise<void>;
  /** Stops the background work and moves what is still local to where the writer takes it (shutdown). */
  stop(): Promise<void>;
  /** At shutdown: what only this process holds; undefined when the ledger keeps it beyond this process. */
  unwritten(): Unwritten | undefined;
}

/** The deltas a set of attempts carries. */
export function usageOf(attempts: Attempts): UsageBatch {
  return new Map([...attempts].map(([hash, attempt]) => [hash, attempt.usage]));
}
