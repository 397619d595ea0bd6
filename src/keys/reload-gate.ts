import type { Logger } from '../log';

/**
 * Where the next reload may start. `now`: the caller starts it at once. `later`: the caller starts it at `at` (the
 * interval after the last one). `joined`: a reload already set for `at` (after this request) covers it.
 */
export interface SlotClaim {
  readonly run: 'now' | 'later' | 'joined';
  /** Epoch ms when the reload that serves this request starts. */
  readonly at: number;
}

/** The shared record of the last (or next) reload start: per instance in memory, per deployment in Redis. */
export interface ReloadSlot {
  /** Claims a reload for a request made at `now`. @throws when the store behind it fails (the gate falls back). */
  claim(now: number, intervalMs: number): Promise<SlotClaim>;
}

/**
 * The decision of a claim, given the start of the last reload granted (`last`, possibly still ahead): one reload per
 * interval, and a request made after a reload started is always served by a later one (it may hold the edit the
 * earlier read missed). Exported for the Redis script's tests and the in-memory slot.
 */
export function claimSlot(last: number | undefined, now: number, intervalMs: number): SlotClaim {
  if (last === undefined || now >= last + intervalMs) {
    return { run: 'now', at: now };
  }
  if (last > now) {
    return { run: 'joined', at: last };
  }
  return { run: 'later', at: last + intervalMs };
}

/** One instance's slot (no Redis, or Redis unreachable). */
export class MemorySlot implements ReloadSlot {
  private last: number | undefined;

  claim(now: number, intervalMs: number): Promise<SlotClaim> {
    const claim = claimSlot(this.last, now, intervalMs);
    if (claim.run !== 'joined') {
      this.last = claim.at;
    }
    return Promise.resolve(claim);
  }
}

/** What a reload request got: started now (with what the reload said), or set for `at`. */
export type ReloadTicket<T> =
  | { readonly state: 'started'; readonly at: number; readonly outcome: T }
  | { readonly state: 'scheduled'; readonly at: number };

export interface ReloadGateOptions<T> {
  /** Starts one reload (the whole cluster's, or this instance's) and resolves with what it did. */
  readonly reload: () => Promise<T>;
  /** `REFRESH_MIN_INTERVAL` in ms. */
  readonly intervalMs: number;
  /** Defaults to a {@link MemorySlot}. */
  readonly slot?: ReloadSlot;
  readonly logger: Logger;
  readonly now?: () => number;
}

/**
 * Coalesces reload requests — admin refreshes and detected changes alike — into at most one reload per interval.
 * A request inside the interval is served by one reload at the interval's end, which every later request joins, so a
 * burst costs two reloads at most. When the slot's store fails (Redis down), this instance's own slot bounds it.
 */
export class ReloadGate<T> {
  private readonly slot: ReloadSlot;
  private readonly fallback = new MemorySlot();
  private readonly now: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: ReloadGateOptions<T>) {
    if (!(options.intervalMs >= 1000)) {
      throw new Error(
        `ReloadGate: intervalMs must be >= 1000 (got ${options.intervalMs}); REFRESH_MIN_INTERVAL is in seconds`,
      );
    }
    this.slot = options.slot ?? this.fallback;
    this.now = options.now ?? Date.now;
  }

  /** Asks for a reload: runs it now (and waits for it), or answers when it will run. Rejects only if the reload does. */
  async request(): Promise<ReloadTicket<T>> {
    const now = this.now();
    let claim: SlotClaim;
    try {
      claim = await this.slot.claim(now, this.options.intervalMs);
    } catch {
      claim = await this.fallback.claim(now, this.options.intervalMs);
    }
    switch (claim.run) {
      case 'now':
        return { state: 'started', at: claim.at, outcome: await this.options.reload() };
      case 'later':
        this.later(claim.at - now);
        return { state: 'scheduled', at: claim.at };
      case 'joined':
        return { state: 'scheduled', at: claim.at };
    }
  }

  /** Cancels the reloads set for later (shutdown). */
  close(): void {
    for (const timer of this.timers) {
      clearTimeout(timer);
    }
    this.timers.clear();
  }

  private later(delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.options.reload().catch((err: unknown) => {
        this.options.logger.warn(`scheduled key reload failed: ${err instanceof Error ? err.message : String(err)}`);
      });
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }
}
