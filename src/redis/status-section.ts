/** What the `redis` section of `/auth/status` reads. Counts and states only, never a key. */
export interface RedisStatusParts {
  readonly link: { connected(): boolean };
  readonly limiter: { insurance(): boolean };
  /** The usage ledger: requests not yet pushed, and the last push. */
  readonly usage?: { pending(): { readonly requests: number }; lastPush(): number | undefined };
  readonly lease?: { held(): boolean };
  readonly source?: { status(): { readonly from: string | undefined; readonly version: number } };
}

/**
 * `redis: { connected, insurance, pendingLocal, leader, lastPush, table }` in `/auth/status`.
 * `insurance`: limits are per instance right now (Redis unreachable, or its last limiter command failed).
 * `pendingLocal`: requests counted here and not yet pushed to Redis. `leader`: this instance reads the sheet and
 * writes usage for all. `table`: where this instance's last key table came from and its shared version.
 */
export function redisStatusSection(parts: RedisStatusParts): () => Record<string, unknown> {
  return function redisStatus() {
    const connected = parts.link.connected();
    const lastPush = parts.usage?.lastPush();
    return {
      connected,
      insurance: !connected || parts.limiter.insurance(),
      pendingLocal: parts.usage?.pending().requests ?? 0,
      leader: parts.lease?.held() ?? false,
      lastPush: lastPush === undefined ? null : new Date(lastPush).toISOString(),
      ...(parts.source === undefined ? {} : { table: parts.source.status() }),
    };
  };
}
