import type { Request, RequestHandler, Response } from 'express';
import { sendProblem } from '../auth/errors';
import { hasScope } from '../auth/verify';
import { parseScopes } from '../keys/row';
import { identityHeaders } from './identity-headers';

function identity(req: Request): Record<string, unknown> {
  return req.auth === undefined
    ? { authenticated: false }
    : {
        authenticated: true,
        clientName: req.auth.clientName,
        keyId: req.auth.keyId,
        rateLimit: req.auth.limit,
        scopes: req.auth.scopes,
        expiresAt: req.auth.expiresAt === undefined ? null : new Date(req.auth.expiresAt).toISOString(),
        quota: req.auth.quota === undefined ? null : { limit: req.auth.quota.limit, period: req.auth.quota.period },
      };
}

/** Identity headers for gateways (nginx `auth_request_set`, Traefik `authResponseHeaders`), header-safe. */
function setIdentityHeaders(req: Request, res: Response): void {
  if (req.auth !== undefined) {
    for (const [name, value] of Object.entries(identityHeaders(req.auth))) {
      res.setHeader(name, value);
    }
  }
}

/**
 * `GET /auth/whoami` (protected): the caller's client name, key id, limit, scopes, expiry (`null`: never) and day/month
 * quota (`{ limit, period }`, `null`: none; what is left of it is in this response's `X-Sheetgate-Quota-*` headers).
 */
export const whoamiHandler: RequestHandler = function whoami(req, res) {
  res.json(identity(req));
};

/** The header a gateway sets to name the scopes a route needs (space-separated). */
const REQUIRE_SCOPE_HEADER = 'x-sheetgate-require-scope';

/** RFC 6749 §3.3 scope-token: printable ASCII without space, `"` and `\`, so it fits the quoted challenge. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * The scopes the route behind the gateway needs: every `scope` query parameter plus the `X-Sheetgate-Require-Scope`
 * header, each split on spaces and commas like the sheet's `scopes` cell. All of them are required, so a client that
 * adds to the list (a gateway passes the client's headers along) only makes its own check stricter.
 */
function requiredScopes(req: Request): readonly string[] {
  const query: unknown = req.query['scope'];
  const fromQuery: readonly unknown[] = Array.isArray(query) ? query : [query];
  const values = [...fromQuery, ...(req.headersDistinct[REQUIRE_SCOPE_HEADER] ?? [])];
  return parseScopes(values.filter((v): v is string => typeof v === 'string').join(' '));
}

/**
 * `/auth/verify` (protected, any method): the forward-auth check for nginx `auth_request` / Traefik forwardAuth.
 * Reaching it means the key passed; it answers 200 with identity headers when the key also holds every scope the
 * gateway requires (`?scope=a&scope=b` or `X-Sheetgate-Require-Scope: a b`), else 403 `insufficient_scope` with the
 * RFC 6750 challenge naming them. A required scope that is not a valid scope token is a gateway misconfiguration:
 * 400, never a pass.
 */
export const verifyHandler: RequestHandler = function verify(req, res) {
  const required = requiredScopes(req);
  if (required.length > 0) {
    const invalid = required.find((scope) => !SCOPE_TOKEN.test(scope));
    if (invalid !== undefined) {
      res
        .status(400)
        .type('application/problem+json')
        .send(
          JSON.stringify({
            title: 'Bad request',
            status: 400,
            code: 'bad_request',
            detail: `Required scope ${JSON.stringify(invalid)} is not a valid scope name (RFC 6749 scope-token).`,
          }),
        );
      return;
    }
    const { auth } = req;
    if (auth !== undefined && !required.every((scope) => hasScope(auth, scope))) {
      const named = required.map((scope) => `"${scope}"`).join(', ');
      sendProblem(res, 'insufficient_scope', {
        scope: required.join(' '),
        detail: `This route requires the scope${required.length === 1 ? '' : 's'} ${named}.`,
      });
      return;
    }
  }
  setIdentityHeaders(req, res);
  res.status(200).json(identity(req));
};
