/** Result of charging one request to a key's per-minute budget. */
export interface LimitDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Milliseconds until the budget resets. */
  readonly resetMs: number;
}

/** Per-key rate limiter port. Keyed by key id, never by the raw key. */
export interface Limiter {
  /** Charges one request to `keyId` whose budget is `limit` requests per 60 s. */
  consume(keyId: string, limit: number): Promise<LimitDecision>;
  /**
   * The same charge, answered through callbacks: `decided` with the decision (allowed or not), or `failed` with the
   * reason there is none (e.g. the store is unreachable) — exactly one of them, once, now or later. Optional: when a
   * limiter has it, the auth middleware admits an accepted request as soon as the limiter decides (at once, or in the
   * limiter's own promise reaction) instead of in one more chained to `consume`'s promise.
   */
  consumeInto?(
    keyId: string,
    limit: number,
    decided: (decision: LimitDecision) => void,
    failed: (err: unknown) => void,
  ): void;
  /** Releases connections/timers. */
  close(): Promise<void>;
}
