import express from 'express';
import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { healthHandler, readyHandler } from './http/health';
import { pathLookup, pathRoutes } from './http/path-routes';
import type { PathRoute } from './http/path-routes';
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
  /** Public `GET` routes on exact paths, served before auth (e.g. `/metrics`), beside /health, /ready, /auth/status. */
  readonly publicPaths?: Readonly<Record<string, RequestHandler>>;
  /** Extra public middleware mounted before auth, in order, after `publicPaths`. */
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

/**
 * The headers a middleware sets on every response, read once by running it against a response that only records.
 * helmet configured as above sets the same five values on every response (no nonces, nothing read from the request),
 * so the app sets them from this list instead of running helmet's six functions and building its CSP string per
 * request.
 * @throws Error when the middleware does anything else to the response, or does not pass the request on at once:
 *   then its headers are not a fixed list
 */
export function fixedHeaders(middleware: RequestHandler): readonly (readonly [string, string])[] {
  const headers: [string, string][] = [];
  const outcome = { passed: false };
  const recorder = {
    setHeader(name: string, value: unknown): unknown {
      headers.push([name, String(value)]);
      return recorder;
    },
  };
  const done: NextFunction = (err?: unknown) => {
    outcome.passed = err === undefined;
  };
  // Not an Express request or response: only `setHeader` exists, so any other use of them throws here, at start.
  (middleware as (req: object, res: object, next: NextFunction) => void)({}, recorder, done);
  if (!outcome.passed) {
    throw new Error('fixedHeaders: the middleware did not pass the request on synchronously');
  }
  return headers;
}

const SECURITY_HEADERS = fixedHeaders(apiHelmet);

/** The demo API the service protects when no upstream is configured. */
const helloHandler: RequestHandler = function hello(req, res) {
  res.json({ message: `hello, ${req.auth?.clientName ?? 'anonymous'}` });
};

/**
 * Builds the Express app; never listens (tests use supertest on it). Public: /health, /ready, /auth/status and
 * `publicRoutes`. Everything else passes the sheetgate middleware first, so an unknown path without a key is 401,
 * not 404.
 */
export function createApp(deps: AppDeps): Express {
  const { gate, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  // sheetgate's own answers (status, identity, verify, problems) are small and never fetched conditionally; an ETag
  // is a hash of every body for nothing. Proxied responses keep the upstream's own ETag.
  app.set('etag', false);
  if (deps.trustProxy !== undefined) {
    app.set('trust proxy', deps.trustProxy);
  }
  const publicLookup = pathLookup([
    { path: '/health', method: 'GET', handler: healthHandler },
    { path: '/ready', method: 'GET', handler: readyHandler(gate) },
    { path: '/auth/status', method: 'GET', handler: statusHandler(gate, deps.statusSections, deps.now) },
    ...Object.entries(deps.publicPaths ?? {}).map(([path, handler]): PathRoute => ({ path, method: 'GET', handler })),
  ]);
  const publicRoutes = deps.publicRoutes ?? [];
  // sheetgate's own protected routes.
  const ownRoutes: PathRoute[] = [
    { path: '/auth/whoami', method: 'GET', handler: whoamiHandler },
    { path: '/auth/verify', method: 'ALL', handler: verifyHandler },
    ...((deps.demoApi ?? true) ? [{ path: '/api/hello', method: 'GET' as const, handler: helloHandler }] : []),
  ];
  // One router layer for what every request needs before its route: the security headers, the public routes, auth, and
  // sheetgate's own protected routes once auth passes the request on — unless extra public middleware must run between
  // the public routes and auth. Each layer Express walks costs every request a path match and a dispatch.
  const authAfter = publicRoutes.length === 0;
  const ownLookup = pathLookup(ownRoutes);
  app.use(function sheetgateFront(req: Request, res: Response, next: NextFunction): unknown {
    for (const [name, value] of SECURITY_HEADERS) {
      res.setHeader(name, value);
    }
    // Read once for both lookups: auth never changes the request's URL.
    const { path, method } = req;
    const route = publicLookup(path, method);
    if (route !== undefined) {
      return route(req, res, next);
    }
    if (authAfter) {
      return gate(req, res, (err?: unknown) => {
        const own = err === undefined ? ownLookup(path, method) : undefined;
        if (own === undefined) {
          next(err);
          return;
        }
        // As Express does for a route's handler: a promise it returns that rejects goes to the error handlers.
        const done: unknown = own(req, res, next);
        if (done instanceof Promise) {
          done.catch(next);
        }
      });
    }
    next();
    return undefined;
  });
  if (!authAfter) {
    for (const route of publicRoutes) {
      app.use(route);
    }
    app.use(gate);
    app.use(pathRoutes(ownRoutes));
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
