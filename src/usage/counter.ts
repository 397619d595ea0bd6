/**
 * In-memory usage deltas per key (the usage write-back). Pure: no I/O, no timers; the time of use is passed in.
 * The flusher drains it with `take()` and gives a batch back with `restore()` when the batch could not be written.
 */

/** What the counter needs to know about a key: its identity, never the key itself. */
export interface CountedKey {
  /** Lower-case hex sha256 of the key: how the flusher finds the key's row again. */
  readonly hash: string;
  /** Non-secret id, for logs. */
  readonly keyId: string;
}

/** Requests counted for one key since its last successful write. */
export interface KeyUsage extends CountedKey {
  /** Accepted requests not yet in the sheet (≥ 1). */
  readonly count: number;
  /** Epoch ms of the latest of those requests. */
  readonly lastUsedAt: number;
}

/** A counter's own, mutable entry: a {@link KeyUsage} while it is being counted. */
interface Tally extends CountedKey {
  count: number;
  lastUsedAt: number;
}

/** A drained set of deltas, by key hash. Immutable once taken. */
export type UsageBatch = ReadonlyMap<string, KeyUsage>;

/** Totals of what is waiting to be written. */
export interface PendingUsage {
  readonly keys: number;
  readonly requests: number;
}

/** Adds two deltas of the same key: counts add, the latest use wins. */
export function mergeUsage(a: KeyUsage, b: KeyUsage): KeyUsage {
  return { hash: a.hash, keyId: a.keyId, count: a.count + b.count, lastUsedAt: Math.max(a.lastUsedAt, b.lastUsedAt) };
}

/** Merges batches into one new batch (none is modified). */
export function mergeBatches(...batches: readonly UsageBatch[]): UsageBatch {
  const out = new Map<string, KeyUsage>();
  for (const batch of batches) {
    for (const [hash, usage] of batch) {
      const seen = out.get(hash);
      out.set(hash, seen === undefined ? usage : mergeUsage(seen, usage));
    }
  }
  return out;
}

/** Sum of a batch's keys and requests. */
export function batchTotals(batch: UsageBatch): PendingUsage {
  let requests = 0;
  for (const usage of batch.values()) {
    requests += usage.count;
  }
  return { keys: batch.size, requests };
}

/**
 * Counts accepted requests per key. Satisfies the auth middleware's `UsageRecorder` port (`record(key, at)`).
 * Every request recorded is in exactly one place at any time: here, or in one batch the flusher holds. `take()` hands
 * the whole map over and starts a fresh one; `restore()` adds a batch back, so a failed write neither loses nor doubles
 * a request.
 */
export class UsageCounter {
  // Entries are mutated in place while in this map (one Map lookup, no allocation per request: this runs on every
  // accepted request). A map handed out by `take()` is never touched again; `restore()` and `peek()` copy.
  private deltas = new Map<string, Tally>();
  private requests = 0;
  /** Counts the maps `take()` handed over: an entry held from an earlier map must not be counted into any more. */
  private generation = 0;

  /** Counts one accepted request for `key` at `at` (epoch ms). O(1), no allocation beyond the first use of a key. */
  record(key: CountedKey, at: number): void {
    const seen = this.deltas.get(key.hash);
    if (seen === undefined) {
      this.deltas.set(key.hash, { hash: key.hash, keyId: key.keyId, count: 1, lastUsedAt: at });
    } else {
      seen.count += 1;
      if (at > seen.lastUsedAt) {
        seen.lastUsedAt = at;
      }
    }
    this.requests += 1;
  }

  /**
   * What `record(key, at)` does, as a function for that one key: it keeps the key's entry between calls and counts into
   * it directly while the counter holds it (until the next `take()`), where `record` looks the key up every time.
   */
  recorderFor(key: CountedKey): (at: number) => void {
    let entry: Tally | undefined;
    let generation = -1;
    return (at) => {
      if (entry === undefined || generation !== this.generation) {
        this.record(key, at);
        entry = this.deltas.get(key.hash);
        generation = this.generation;
        return;
      }
      entry.count += 1;
      if (at > entry.lastUsedAt) {
        entry.lastUsedAt = at;
      }
      this.requests += 1;
    };
  }

  /** Drains everything counted so far into a batch; the counter starts empty. */
  take(): UsageBatch {
    const batch = this.deltas;
    this.deltas = new Map();
    this.requests = 0;
    this.generation += 1;
    return batch;
  }

  /** Adds a batch that was not written back in (merged with whatever was counted since it was taken). */
  restore(batch: UsageBatch): void {
    for (const [hash, usage] of batch) {
      const seen = this.deltas.get(hash);
      if (seen === undefined) {
        this.deltas.set(hash, { ...usage }); // a copy: the batch's entries may be held elsewhere (attempts, logs)
      } else {
        seen.count += usage.count;
        seen.lastUsedAt = Math.max(seen.lastUsedAt, usage.lastUsedAt);
      }
      this.requests += usage.count;
    }
  }

  /** A copy of what is pending, leaving the counter as it is (shutdown report). */
  peek(): UsageBatch {
    return new Map([...this.deltas].map(([hash, usage]) => [hash, { ...usage }]));
  }

  /** Keys and requests waiting for the next flush. */
  pending(): PendingUsage {
    return { keys: this.deltas.size, requests: this.requests };
  }
}
