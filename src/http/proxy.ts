import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../log';
import { isUpgrade, tunnelUpgrade } from './proxy-upgrade';
import { createUpstream, guardUpstream, relayResponse } from './proxy-upstream';

export interface ProxyOptions {
  readonly logger: Logger;
  /**
   * Milliseconds the upstream may stay silent (connecting, or between two reads of its answer) before the request
   * fails with 504 `upstream_timeout`. Defaults to `60000` (nginx's `proxy_read_timeout`).
   */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Reverse-proxy mode (`UPSTREAM_URL`, issue 7): a middleware, mounted as a protected route, that forwards every request
 * reaching it to the upstream — same method, path and query, bodies streamed both ways without buffering. The
 * client's `Authorization`/`X-API-Key` are removed (Kong `hide_credentials`); the upstream receives `X-Client-Name`,
 * `X-Sheetgate-Key-Id`, `X-Sheetgate-Scopes` and `X-Forwarded-For/-Host/-Proto` set by sheetgate alone. Hop-by-hop
 * headers are dropped both ways. Unreachable upstream → 502 `upstream_unavailable`; silent upstream → 504
 * `upstream_timeout`. Upgrade requests arriving through {@link upgradeHandler} are tunnelled (websockets).
 * Public routes (/health, /ready, /auth/status, /metrics) and /auth/whoami, /auth/verify are mounted before it and
 * stay on sheetgate.
 * @throws Error when `upstreamUrl` is not an http(s) URL without credentials or query, or `timeoutMs` is not positive.
 */
export function proxyRoutes(upstreamUrl: string, options: ProxyOptions): RequestHandler {
  const upstream = createUpstream(upstreamUrl, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.logger);
  return function sheetgateProxy(req: Request, res: Response): void {
    if (isUpgrade(req)) {
      tunnelUpgrade(req, res, upstream);
      return;
    }
    const upstreamReq = upstream.open(req, false);
    guardUpstream(upstreamReq, req, res, upstream);
    upstreamReq.on('response', (upstreamRes) => {
      relayResponse(upstreamRes, res);
    });
    req.pipe(upstreamReq);
  };
}

export { upgradeHandler } from './proxy-upgrade';
export type { RequestListener, UpgradeHandler } from './proxy-upgrade';
