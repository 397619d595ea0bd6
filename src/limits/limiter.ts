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
  /** Releases connections/timers. */
  close(): Promise<void>;
}
