import express from 'express';
import type { ErrorRequestHandler, Express, Router } from 'express';
import helmet from 'helmet';
import { healthRoutes } from './http/health';
import { statusRoutes } from './http/status';
import type { StatusSection } from './http/status';
import { identityRoutes } from './http/whoami';
import type { Logger } from './log';
import type { Sheetgate } from './sheetgate';

export interface AppDeps {
  readonly gate: Sheetgate;
  readonly logger: Logger;
  /** Express `trust proxy` (TRUST_PROXY). */
  readonly trustProxy?: boolean | number | string;
  /** Extra public routes mounted before auth (e.g. `/metrics`). */
  readonly publicRoutes?: readonly Router[];
  /** Protected routes mounted after auth; defaults to the demo `/api/hello`. */
  readonly protectedRoutes?: readonly Router[];
  /** Extra `/auth/status` sections. */
  readonly statusSections?: Readonly<Record<string, StatusSection>>;
  readonly now?: () => number;
}

/** The demo API the service protects when no upstream is configured. */
function demoRoutes(): Router {
  const router = express.Router();
  router.get('/api/hello', (req, res) => {
    res.json({ message: `hello, ${req.auth?.clientName ?? 'anonymous'}` });
  });
  return router;
}

/**
 * Builds the Express app; never listens (tests use supertest on it). Public: /health, /ready, /auth/status and
 * `publicRoutes`. Everything else passes the sheetgate middleware first, so an unknown path without a key is 401,
 * not 404 (DESIGN §3).
 */
export function createApp(deps: AppDeps): Express {
  const { gate, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  if (deps.trustProxy !== undefined) {
    app.set('trust proxy', deps.trustProxy);
  }
  app.use(helmet());
  app.use(healthRoutes(gate));
  app.use(statusRoutes(gate, deps.statusSections, deps.now));
  for (const router of deps.publicRoutes ?? []) {
    app.use(router);
  }
  app.use(gate);
  app.use(identityRoutes());
  for (const router of deps.protectedRoutes ?? [demoRoutes()]) {
    app.use(router);
  }
  app.use((req, res) => {
    res
      .status(404)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          title: 'Not found',
          status: 404,
          code: 'not_found',
          detail: `No route for ${req.method} ${req.path}`,
        }),
      );
  });
  const onError: ErrorRequestHandler = (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const status =
      typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' && err.status < 500
        ? err.status
        : 500;
    if (status >= 500) {
      logger.error('request failed', { path: req.path, error: err instanceof Error ? err.message : String(err) });
    }
    res
      .status(status)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          title: status >= 500 ? 'Internal error' : 'Bad request',
          status,
          code: status >= 500 ? 'internal_error' : 'bad_request',
        }),
      );
  };
  app.use(onError);
  return app;
}
