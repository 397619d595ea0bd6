import { Router } from 'express';
import { requireScope } from '../auth/middleware';
import type { RefreshOutcome } from './refresh-bus';

/** The scope a key needs to trigger a refresh: reserved, so granted only when the key's scopes cell lists it. */
export const ADMIN_SCOPE = 'sheetgate:admin';

/** Starts a reload of the key table: across the cluster (`RedisCluster.refresh`) or of one store ({@link localRefresh}). */
export type RefreshTrigger = () => Promise<RefreshOutcome>;

/** Without Redis: reload this instance's store now and answer once it is done. */
export function localRefresh(store: { refresh(): Promise<void> }): RefreshTrigger {
  return async function refreshThisInstance() {
    await store.refresh();
    return { scope: 'instance' };
  };
}

/**
 * `POST /auth/refresh` (issue 6): a key with scope `sheetgate:admin` makes every instance reload the sheet now instead
 * of at its next scheduled refresh. Mount it among the protected routes (after the auth middleware). Answers 202
 * `{ scope: 'cluster', receivers }` once the request is published (instances reload within moments), or 200
 * `{ scope: 'instance' }` after this instance reloaded (no Redis, or Redis down). `GET /auth/status` shows the
 * result (`lastRefresh`, `redis.table.version`).
 */
export function refreshRoutes(trigger: RefreshTrigger): Router {
  const router = Router();
  router.post('/auth/refresh', requireScope(ADMIN_SCOPE), async function refreshKeys(_req, res) {
    const outcome = await trigger();
    res.status(outcome.scope === 'cluster' ? 202 : 200).json({ refresh: 'requested', ...outcome });
  });
  return router;
}
