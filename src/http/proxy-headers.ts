import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Request } from 'express';
import { headerSafe } from '../auth/client-name';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, never the message, so a proxy must not forward
 * them. Headers named in `Connection` are added per message.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/**
 * Request headers sheetgate owns on the way to the upstream. The credentials are hidden (Kong `hide_credentials`);
 * identity and forwarding headers are set by sheetgate alone, so a client cannot forge them. `expect` was already
 * answered by Node (100 Continue) and `host` becomes the upstream's.
 */
const OWNED_REQUEST_HEADERS = new Set([
  'authorization',
  'x-api-key',
  'x-client-name',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'expect',
  'host',
]);

function connectionTokens(value: string | string[] | undefined): Set<string> {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    text
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ''),
  );
}

/** Every header of a message minus hop-by-hop ones (and `drop`), keeping repeated headers as arrays. */
function endToEnd(
  headers: IncomingHttpHeaders,
  distinct: NodeJS.Dict<string[]>,
  drop: (name: string) => boolean,
): OutgoingHttpHeaders {
  const listed = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, values] of Object.entries(distinct)) {
    if (values === undefined || HOP_BY_HOP.has(name) || listed.has(name) || drop(name)) {
      continue;
    }
    out[name] = values.length === 1 ? values[0] : values;
  }
  return out;
}

/**
 * Headers for the upstream request (issue 7): end-to-end headers of the client's request without its credentials,
 * plus `X-Client-Name` (header-safe), `X-Sheetgate-Key-Id`, `X-Sheetgate-Scopes` and `X-Forwarded-For/-Host/-Proto`.
 * `upgrade` keeps `Connection: upgrade` and the `Upgrade` protocol for a websocket handshake.
 */
export function upstreamRequestHeaders(req: Request, upstreamHost: string, upgrade: boolean): OutgoingHttpHeaders {
  const out = endToEnd(
    req.headers,
    req.headersDistinct,
    (name) => OWNED_REQUEST_HEADERS.has(name) || name.startsWith('x-sheetgate-'),
  );
  out['host'] = upstreamHost;
  const priorFor = req.headersDistinct['x-forwarded-for'] ?? [];
  out['x-forwarded-for'] = [...priorFor, req.socket.remoteAddress ?? 'unknown'].join(', ');
  // Express resolves these through `trust proxy` (TRUST_PROXY): a trusted proxy's values, else our own connection's.
  // `req.host` is undefined at run time for an HTTP/1.0 request without Host, whatever its type says.
  const host = req.host as string | undefined;
  if (host !== undefined) {
    out['x-forwarded-host'] = host;
  }
  out['x-forwarded-proto'] = req.protocol;
  if (req.auth !== undefined) {
    out['x-client-name'] = headerSafe(req.auth.clientName);
    out['x-sheetgate-key-id'] = req.auth.keyId;
    out['x-sheetgate-scopes'] = req.auth.scopes.join(' ');
  }
  if (upgrade) {
    out['connection'] = 'upgrade';
    out['upgrade'] = req.headers.upgrade ?? 'websocket';
  } else if (req.headers['transfer-encoding'] !== undefined) {
    // A chunked body stays chunked: Node would not frame a GET/DELETE body on its own.
    out['transfer-encoding'] = 'chunked';
  }
  return out;
}

/** Headers of the upstream response to pass to the client: everything but hop-by-hop headers. */
export function clientResponseHeaders(
  headers: IncomingHttpHeaders,
  distinct: NodeJS.Dict<string[]>,
): OutgoingHttpHeaders {
  return endToEnd(headers, distinct, () => false);
}
