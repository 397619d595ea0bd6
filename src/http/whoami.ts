import { Router } from 'express';
import type { Request, Response } from 'express';

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

/**
 * Protected identity routes, mounted after the auth middleware:
 * `GET /auth/whoami` (the caller's client name, limit, scopes) and `GET /auth/verify`, the forward-auth check for
 * nginx `auth_request` / Traefik forwardAuth: reaching it means the key passed, so it answers 200 with identity headers.
 */
export function identityRoutes(): Router {
  const router = Router();
  router.get('/auth/whoami', (req, res) => {
    res.json(identity(req));
  });
  router.all('/auth/verify', (req, res) => {
    setIdentityHeaders(req, res);
    res.status(200).json(identity(req));
  });
  return router;
}
