import { Router } from 'express';
import type { Sheetgate } from '../sheetgate';

/**
 * `GET /health`: liveness, 200 while the process serves. `GET /ready`: 200 once a snapshot is loaded (or auth is
 * degraded/disabled, when there is nothing to load), else 503, so a load balancer holds traffic back (DESIGN §3).
 */
export function healthRoutes(gate: Pick<Sheetgate, 'mode' | 'status'>): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/ready', (_req, res) => {
    const loaded = gate.mode.kind !== 'enforce' || gate.status()?.loaded === true;
    res.status(loaded ? 200 : 503).json({ ready: loaded, mode: gate.mode.kind });
  });
  return router;
}
