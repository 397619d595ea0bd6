import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Request } from 'express';
import { identityHeaders } from './identity-headers';

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
  'forwarded',
  'x-real-ip',
  'expect',
  'host',
]);
const OWNED_PREFIXES = ['x-sheetgate-', 'x-forwarded-'];

/**
 * True for a client header sheetgate owns under any spelling: names are compared lower-cased (Node already lower-cases
 * them) with `_` read as `-`, because CGI, WSGI, Rack and PHP turn both `X-Client-Name` and `X_Client_Name` into the
 * same `HTTP_X_CLIENT_NAME` variable, and a header that reached it under the second spelling would pass for ours.
 */
export function isOwnedRequestHeader(name: string): boolean {
  const canonical = name.replaceAll('_', '-');
  return OWNED_REQUEST_HEADERS.has(canonical) || OWNED_PREFIXES.some((prefix) => canonical.startsWith(prefix));
}

/**
 * True when an Upgrade request asks for a websocket and nothing else (token compared case-insensitively): the only
 * protocol sheetgate tunnels. Any other token (`h2c` above all: an HTTP/2 connection tunnelled past sheetgate would
 * carry requests it never authenticates) is refused by the proxy.
 */
export function isWebsocketUpgrade(headers: IncomingHttpHeaders): boolean {
  return headers.upgrade?.trim().toLowerCase() === 'websocket';
}

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
 * Headers for the upstream request: end-to-end headers of the client's request without the ones sheetgate owns
 * ({@link isOwnedRequestHeader}), plus `X-Client-Name`, `X-Sheetgate-Key-Id`, `X-Sheetgate-Scopes` (header-safe) and
 * `X-Forwarded-For/-Host/-Proto`. `upgrade` sends `Connection: upgrade` and `Upgrade: websocket` for a websocket
 * handshake.
 */
export function upstreamRequestHeaders(req: Request, upstreamHost: string, upgrade: boolean): OutgoingHttpHeaders {
  const out = endToEnd(req.headers, req.headersDistinct, isOwnedRequestHeader);
  out['host'] = upstreamHost;
  // `req.ips` is the part of the client's X-Forwarded-For that `trust proxy` (TRUST_PROXY) vouches for, up to the
  // client address a trusted proxy saw; entries before it were written by the client itself and are not passed on.
  out['x-forwarded-for'] = [...req.ips, req.socket.remoteAddress ?? 'unknown'].join(', ');
  // Express resolves these through `trust proxy` (TRUST_PROXY): a trusted proxy's values, else our own connection's.
  // `req.host` is undefined at run time for an HTTP/1.0 request without Host, whatever its type says.
  const host = req.host as string | undefined;
  if (host !== undefined) {
    out['x-forwarded-host'] = host;
  }
  out['x-forwarded-proto'] = req.protocol;
  if (req.auth !== undefined) {
    Object.assign(out, identityHeaders(req.auth));
  }
  if (upgrade) {
    out['connection'] = 'upgrade';
    out['upgrade'] = 'websocket';
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
