import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../log';
import { isWebsocketUpgrade } from './proxy-headers';
import { isUpgrade, tunnelUpgrade } from './proxy-upgrade';
import { createUpstream, guardUpstream, relayResponse, sendUpstreamProblem } from './proxy-upstream';

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
 * Reverse-proxy mode (`UPSTREAM_URL`): a middleware, mounted as a protected route, that forwards every request
 * reaching it to the upstream — same method, path and query, bodies streamed both ways without buffering. The
 * client's `Authorization`/`X-API-Key` are removed (Kong `hide_credentials`), with every other header sheetgate owns
 * under any spelling; the upstream receives `X-Client-Name`, `X-Sheetgate-Key-Id`, `X-Sheetgate-Scopes` and
 * `X-Forwarded-For/-Host/-Proto` set by sheetgate alone. Hop-by-hop headers are dropped both ways. Unreachable
 * upstream → 502 `upstream_unavailable`; silent upstream → 504 `upstream_timeout`. Upgrade requests arriving through
 * {@link upgradeHandler} are tunnelled when they ask for a websocket, refused with 400 `upgrade_not_supported`
 * otherwise.
 * Public routes (/health, /ready, /auth/status, /metrics) and /auth/whoami, /auth/verify are mounted before it and
 * stay on sheetgate.
 * @throws Error when `upstreamUrl` is not an http(s) URL without credentials or query, or `timeoutMs` is not positive.
 */
export function proxyRoutes(upstreamUrl: string, options: ProxyOptions): RequestHandler {
  const upstream = createUpstream(upstreamUrl, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.logger);
  return function sheetgateProxy(req: Request, res: Response): void {
    if (isUpgrade(req)) {
      // Only websockets are tunnelled. Serving another upgrade (h2c) as a plain request is not an option either: Node
      // hands every Upgrade request to the upgrade listener before reading its body, which is left raw on the socket.
      if (isWebsocketUpgrade(req.headers)) {
        tunnelUpgrade(req, res, upstream);
      } else {
        sendUpstreamProblem(res, 'upgrade_not_supported');
      }
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
