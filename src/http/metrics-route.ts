import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Registry } from 'prom-client';
import { sendProblem } from '../auth/errors';

export interface MetricsRoutesOptions {
  /** `METRICS_TOKEN`: when set, `/metrics` requires `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive), or undefined. */
function bearerToken(header: string | undefined): string | undefined {
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * `GET /metrics` in the Prometheus text format, as a route handler (`createApp({ publicPaths: { '/metrics': … } })`).
 * With a token, a scrape without it is 401 `missing_api_key` and a wrong one 401 `invalid_api_key`; the comparison is
 * constant-time (sha256 of both, then `timingSafeEqual`), so neither the token's content nor its length leaks through
 * timing.
 * @throws Error when `token` is the empty string.
 */
export function metricsHandler(registry: Registry, options: MetricsRoutesOptions = {}): RequestHandler {
  if (options.token === '') {
    throw new Error('metrics: token must not be empty (leave it undefined for a public /metrics)');
  }
  const expected = options.token === undefined ? undefined : digest(options.token);
  return async function sheetgateScrape(req: Request, res: Response): Promise<void> {
    if (expected !== undefined) {
      const presented = bearerToken(req.headers.authorization);
      if (presented === undefined) {
        sendProblem(res, 'missing_api_key', { detail: 'Send the metrics token as "Authorization: Bearer <token>".' });
        return;
      }
      if (!timingSafeEqual(digest(presented), expected)) {
        sendProblem(res, 'invalid_api_key', { detail: 'The metrics token is not valid.' });
        return;
      }
    }
    const body = await registry.metrics();
    res.setHeader('Cache-Control', 'no-store');
    res.type(registry.contentType).send(body);
  };
}

/**
 * {@link metricsHandler} as a middleware that passes every other request on, for an app of one's own
 * (`app.use(metricsRoutes(registry))`). A plain middleware, not an Express `Router`: it sits before auth, so every
 * request walks past it, and a nested router's dispatch (closures, `req` properties set and restored) is work for
 * nothing on each of them.
 * @throws Error when `token` is the empty string.
 */
export function metricsRoutes(registry: Registry, options: MetricsRoutesOptions = {}): RequestHandler {
  const scrape = metricsHandler(registry, options);
  return function sheetgateMetrics(req: Request, res: Response, next: NextFunction): unknown {
    if (req.path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      next();
      return undefined;
    }
    return scrape(req, res, next);
  };
}
