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
  /**
   * Charges one request to `keyId` whose budget is `limit` requests per 60 s, then calls `decided` with the decision
   * (allowed or not), or `failed` with the reason there is none (e.g. the store is unreachable): exactly one of them,
   * once, now or later. Callbacks, not a promise: the auth middleware admits the request in the limiter's own promise
   * reaction rather than in one more chained to it, on every accepted request. A promise-based limiter adapts as
   * `consume(id, limit, decided, failed) { charge(id, limit).then(decided, failed); }`.
   */
  consume(
    keyId: string,
    limit: number,
    decided: (decision: LimitDecision) => void,
    failed: (err: unknown) => void,
  ): void;
  /** Releases connections/timers. */
  close(): Promise<void>;
}

/** {@link Limiter.consume} as a promise, for callers that await the decision (off the accepted path's hot part). */
export function consumed(limiter: Limiter, keyId: string, limit: number): Promise<LimitDecision> {
  return new Promise((resolve, reject) => {
    limiter.consume(keyId, limit, resolve, reject);
  });
}
