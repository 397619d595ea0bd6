import express from 'express';
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';
import helmet from 'helmet';
import { healthHandler, readyHandler } from './http/health';
import { statusHandler } from './http/status';
import type { StatusSection } from './http/status';
import { verifyHandler, whoamiHandler } from './http/whoami';
import type { Logger } from './log';
import type { Sheetgate } from './sheetgate';

export interface AppDeps {
  readonly gate: Sheetgate;
  readonly logger: Logger;
  /** Express `trust proxy` (TRUST_PROXY). */
  readonly trustProxy?: boolean | number | string;
  /** Extra public routes or middleware mounted before auth, in order (e.g. the request timer, then `/metrics`). */
  readonly publicRoutes?: readonly RequestHandler[];
  /** Protected routes (routers or plain middleware) mounted after auth. */
  readonly protectedRoutes?: readonly RequestHandler[];
  /** Serve the demo `GET /api/hello` (before `protectedRoutes`). Defaults to `true`; off in reverse-proxy mode. */
  readonly demoApi?: boolean;
  /** Extra `/auth/status` sections. */
  readonly statusSections?: Readonly<Record<string, StatusSection>>;
  readonly now?: () => number;
}

/**
 * helmet for a JSON API rather than for HTML pages: the headers that protect API responses (nosniff, HSTS, a CSP that
 * allows nothing, no referrer, same-origin CORP) and none of the page-only or legacy ones (COOP, Origin-Agent-Cluster,
 * X-DNS-Prefetch-Control, X-Download-Options, X-Permitted-Cross-Domain-Policies, X-XSS-Protection, X-Frame-Options,
 * which `frame-ancestors 'none'` replaces). Every response carries these bytes: fewer, shorter headers is throughput.
 */
const apiHelmet = helmet({
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xFrameOptions: false,
  xPermittedCrossDomainPolicies: false,
  // createApp disables Express's X-Powered-By, so helmet's per-request removeHeader would remove nothing.
  xPoweredBy: false,
  xXssProtection: false,
});

/** The demo API the service protects when no upstream is configured. */
const helloHandler: RequestHandler = function hello(req, res) {
  res.json({ message: `hello, ${req.auth?.clientName ?? 'anonymous'}` });
};

/**
 * Builds the Express app; never listens (tests use supertest on it). Public: /health, /ready, /auth/status and
 * `publicRoutes`. Everything else passes the sheetgate middleware first, so an unknown path without a key is 401,
 * not 404 (DESIGN §3).
 */
export function createApp(deps: AppDeps): Express {
  const { gate, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  // sheetgate's own answers (status, identity, verify, problems) are small and never fetched conditionally; an ETag
  // is a hash of every body for nothing. Proxied responses keep the upstream's own ETag (issue 8).
  app.set('etag', false);
  if (deps.trustProxy !== undefined) {
    app.set('trust proxy', deps.trustProxy);
  }
  app.use(apiHelmet);
  for (const route of deps.publicRoutes ?? []) {
    app.use(route);
  }
  // Routes sit on the app itself, not in nested routers: every nested router is walked by every request.
  app.get('/health', healthHandler);
  app.get('/ready', readyHandler(gate));
  app.get('/auth/status', statusHandler(gate, deps.statusSections, deps.now));
  app.use(gate);
  app.get('/auth/whoami', whoamiHandler);
  app.all('/auth/verify', verifyHandler);
  if (deps.demoApi ?? true) {
    app.get('/api/hello', helloHandler);
  }
  for (const router of deps.protectedRoutes ?? []) {
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
