import { Router } from 'express';
import { requireScope } from '../auth/middleware';
import type { ReloadTicket } from '../keys/reload-gate';
import type { RefreshOutcome } from '../redis/refresh-bus';

/** The scope a key needs to trigger a refresh: reserved, so granted only when the key's scopes cell lists it. */
export const ADMIN_SCOPE = 'sheetgate:admin';

/** Starts a reload of the key table: across the cluster (`RedisCluster.refresh`) or of one store ({@link localRefresh}). */
export type RefreshTrigger = () => Promise<RefreshOutcome>;

/** A reload request through the reload gate (`ReloadGate.request`): started now, or set for later. */
export type RefreshRequest = () => Promise<ReloadTicket<RefreshOutcome>>;

/**
 * Without Redis: reload this instance's store now and answer once it is done. A load already under way is joined; it
 * began before the request and may miss the edit the admin wants seen, so one more load follows it.
 */
export function localRefresh(store: {
  refresh(): Promise<void>;
  status(): { readonly lastAttemptAt: number | undefined };
}): RefreshTrigger {
  return async function refreshThisInstance() {
    const askedAt = Date.now();
    await store.refresh();
    if ((store.status().lastAttemptAt ?? 0) < askedAt) {
      await store.refresh();
    }
    return { scope: 'instance' };
  };
}

/**
 * `POST /auth/refresh`: a key with scope `sheetgate:admin` makes every instance reload the sheet instead of at its next
 * scheduled refresh, at most once per `REFRESH_MIN_INTERVAL` (the gate behind `request`). Mount it among the protected
 * routes (after the auth middleware). Answers:
 * - 202 `{ refresh: 'requested', at, scope: 'cluster', receivers }` once the request is published (instances reload
 *   within moments), or 200 `{ refresh: 'requested', at, scope: 'instance' }` after this instance reloaded (no Redis,
 *   or Redis down);
 * - 202 `{ refresh: 'scheduled', at }` when a reload ran less than the interval ago: one reload at `at` (ISO 8601)
 *   serves this request and every other one made until then.
 * `GET /auth/status` shows the result (`lastRefresh`, `redis.table.version`).
 */
export function refreshRoutes(request: RefreshRequest): Router {
  const router = Router();
  router.post('/auth/refresh', requireScope(ADMIN_SCOPE), async function refreshKeys(_req, res) {
    const ticket = await request();
    const at = new Date(ticket.at).toISOString();
    if (ticket.state === 'scheduled') {
      res.status(202).json({ refresh: 'scheduled', at });
      return;
    }
    res.status(ticket.outcome.scope === 'cluster' ? 202 : 200).json({ refresh: 'requested', at, ...ticket.outcome });
  });
  return router;
}
