import http from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Request, Response } from 'express';
import type { Logger } from '../log';
import { clientResponseHeaders, upstreamRequestHeaders } from './proxy-headers';

/** Problem codes of the proxy itself (not auth outcomes, so not in `AUTH_ERROR_CODES`). */
export type UpstreamErrorCode = 'upstream_unavailable' | 'upstream_timeout' | 'upgrade_not_supported';

const PROBLEMS: Readonly<Record<UpstreamErrorCode, { status: 400 | 502 | 504; title: string; detail: string }>> = {
  upstream_unavailable: {
    status: 502,
    title: 'Upstream unavailable',
    detail: 'The upstream service could not be reached or closed the connection.',
  },
  upstream_timeout: {
    status: 504,
    title: 'Upstream timeout',
    detail: 'The upstream service did not answer in time.',
  },
  upgrade_not_supported: {
    status: 400,
    title: 'Upgrade not supported',
    detail: 'sheetgate tunnels only Upgrade: websocket. Send the request without an Upgrade header.',
  },
};

/** The request target in origin form (`/path?query`): an absolute-form target (`GET http://host/path`) is reduced. */
function originForm(target: string): string {
  if (target.startsWith('/')) {
    return target;
  }
  try {
    const url = new URL(target);
    return url.pathname + url.search;
  } catch {
    return '/';
  }
}

/** Where authenticated requests go: one resolved target and its connection pool. */
export interface Upstream {
  readonly origin: string;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Starts the upstream request for `req` (same method and path, below the upstream URL's own path). */
  open(req: Request, upgrade: boolean): ClientRequest;
}

/**
 * Resolves `UPSTREAM_URL` once into an {@link Upstream} with its own keep-alive agent.
 * @throws Error when the URL is not `http:` or `https:`, or carries credentials, a query or a fragment.
 */
export function createUpstream(upstreamUrl: string, timeoutMs: number, logger: Logger): Upstream {
  const url = new URL(upstreamUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`proxy: upstream URL must be http: or https:, got ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new Error('proxy: upstream URL must not carry credentials (user:password@); they would not be sent');
  }
  if (url.search !== '' || url.hash !== '') {
    throw new Error('proxy: upstream URL must not have a query or fragment; requests keep their own');
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new Error(`proxy: timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  }
  const client = url.protocol === 'https:' ? https : http;
  const agent = new client.Agent({ keepAlive: true });
  const basePath = url.pathname.replace(/\/+$/, '');
  return {
    origin: url.origin,
    timeoutMs,
    logger,
    open(req, upgrade) {
      return client.request({
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port,
        method: req.method,
        path: basePath + originForm(req.originalUrl),
        headers: upstreamRequestHeaders(req, url.host, upgrade),
        // A tunnel owns its connection for its lifetime: never take one from, or give one back to, the pool.
        agent: upgrade ? false : agent,
      });
    },
  };
}

/** Writes a 400/502/504 problem+json (same shape as the auth errors), or cuts the response if it had started. */
export function sendUpstreamProblem(res: Response, code: UpstreamErrorCode): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, title, detail } = PROBLEMS[code];
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: `https://sheetgate.dev/errors/${code}`, title, status, code, detail }));
}

/**
 * Arms the upstream request's idle timeout (connect, or silence between two reads: nginx `proxy_read_timeout`
 * semantics) and turns its failure into 504 or 502. The client going away aborts the upstream request.
 */
export function guardUpstream(upstreamReq: ClientRequest, req: Request, res: Response, upstream: Upstream): void {
  let timedOut = false;
  upstreamReq.setTimeout(upstream.timeoutMs, () => {
    timedOut = true;
    upstreamReq.destroy(new Error(`no answer within ${upstream.timeoutMs} ms`));
  });
  upstreamReq.on('error', (err: NodeJS.ErrnoException) => {
    upstream.logger.warn('upstream request failed', {
      upstream: upstream.origin,
      method: req.method,
      path: req.path,
      error: timedOut ? 'timeout' : (err.code ?? err.message),
      client: req.auth?.clientName,
    });
    sendUpstreamProblem(res, timedOut ? 'upstream_timeout' : 'upstream_unavailable');
  });
  res.on('close', () => {
    if (!res.writableFinished) {
      upstreamReq.destroy();
    }
  });
}

/** Streams the upstream response to the client: status, end-to-end headers, body (no buffering). */
export function relayResponse(upstreamRes: IncomingMessage, res: Response): void {
  res.status(upstreamRes.statusCode ?? 502);
  if (upstreamRes.statusMessage !== undefined) {
    res.statusMessage = upstreamRes.statusMessage;
  }
  for (const [name, value] of Object.entries(clientResponseHeaders(upstreamRes.headers, upstreamRes.headersDistinct))) {
    if (value !== undefined) {
      res.setHeader(name, value);
    }
  }
  // The upstream going away mid-body: the status is sent, so cut the client's response too. (The client going away is
  // guardUpstream's 'close'.) Plain pipe, not stream.pipeline: it allocates an AbortController per request.
  upstreamRes.on('error', () => res.destroy());
  upstreamRes.pipe(res);
}
