import type { Request, RequestHandler, Response } from 'express';

function identity(req: Request): Record<string, unknown> {
  return req.auth === undefined
    ? { authenticated: false }
    : {
        authenticated: true,
        clientName: req.auth.clientName,
        keyId: req.auth.keyId,
        rateLimit: req.auth.limit,
        scopes: req.auth.scopes,
      };
}

/** Identity headers for gateways (nginx `auth_request_set`, Traefik `authResponseHeaders`). */
function setIdentityHeaders(req: Request, res: Response): void {
  if (req.auth !== undefined) {
    res.setHeader('X-Sheetgate-Key-Id', req.auth.keyId);
    res.setHeader('X-Sheetgate-Scopes', req.auth.scopes.join(' '));
  }
}

/** `GET /auth/whoami` (protected): the caller's client name, key id, limit and scopes. */
export const whoamiHandler: RequestHandler = function whoami(req, res) {
  res.json(identity(req));
};

/**
 * `/auth/verify` (protected, any method): the forward-auth check for nginx `auth_request` / Traefik forwardAuth.
 * Reaching it means the key passed, so it answers 200 with identity headers.
 */
export const verifyHandler: RequestHandler = function verify(req, res) {
  setIdentityHeaders(req, res);
  res.status(200).json(identity(req));
};
