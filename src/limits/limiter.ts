/** Result of charging one request to a key's per-minute budget. */
export interface LimitDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Milliseconds until the budget resets. */
  readonly resetMs: number;
}

/** One key's per-minute budget, decided at once: what {@link Limiter.deciderFor} hands out. */
export interface KeyDecider {
  /** Charges one request to the key and decides it, as `consume` would. */
  decide(): LimitDecision;
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
  /**
   * One key's charge as an object to keep beside the key, from a limiter that decides synchronously (in memory): its
   * `decide()` charges one request and decides it, as `consume(keyId, limit)` would, with no lookup per request.
   * Optional; undefined from a limiter that cannot decide at once (a shared store), and the middleware then charges
   * through `consumeInto` or `consume`.
   */
  deciderFor?(keyId: string, limit: number): KeyDecider | undefined;
  /** Releases connections/timers. */
  close(): Promise<void>;
}
