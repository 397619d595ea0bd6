import type { RequestHandler } from 'express';
import type { GateView } from './status';

/** `GET /health`: liveness, 200 while the process serves. */
export const healthHandler: RequestHandler = function health(_req, res) {
  res.json({ status: 'ok' });
};

/**
 * `GET /ready`: 200 once a snapshot is loaded (or auth is degraded/disabled, when there is nothing to load), else 503,
 * so a load balancer holds traffic back.
 */
export function readyHandler(gate: Pick<GateView, 'mode' | 'status'>): RequestHandler {
  return function ready(_req, res) {
    const loaded = gate.mode.kind !== 'enforce' || gate.status()?.loaded === true;
    res.status(loaded ? 200 : 503).json({ ready: loaded, mode: gate.mode.kind });
  };
}
