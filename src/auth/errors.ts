import type { Response } from 'express';

/** The stable error codes every refusal carries in its problem+json `code`. */
export const AUTH_ERROR_CODES = [
  'missing_api_key',
  'malformed_authorization',
  'invalid_api_key',
  'key_inactive',
  'key_expired',
  'insufficient_scope',
  'ip_not_allowed',
  'rate_limited',
  'quota_exceeded',
  'auth_unavailable',
] as const;
export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];

export function codeToStatus(code: AuthErrorCode): 401 | 403 | 429 | 503 {
  switch (code) {
    case 'missing_api_key':
    case 'malformed_authorization':
    case 'invalid_api_key':
    case 'key_inactive':
    case 'key_expired':
      return 401;
    case 'insufficient_scope':
    case 'ip_not_allowed':
      return 403;
    case 'rate_limited':
    case 'quota_exceeded':
      return 429;
    case 'auth_unavailable':
      return 503;
  }
}

const TITLES: Readonly<Record<AuthErrorCode, string>> = {
  missing_api_key: 'Authentication required',
  malformed_authorization: 'Malformed Authorization header',
  invalid_api_key: 'Invalid API key',
  key_inactive: 'API key is inactive',
  key_expired: 'API key has expired',
  insufficient_scope: 'Insufficient scope',
  ip_not_allowed: 'Address not allowed',
  rate_limited: 'Rate limit exceeded',
  quota_exceeded: 'Quota exceeded',
  auth_unavailable: 'Authentication unavailable',
};

const DETAILS: Readonly<Record<AuthErrorCode, string>> = {
  missing_api_key:
    'Send your key as "Authorization: Bearer <key>", "Authorization: ApiKey <key>" or "X-API-Key: <key>".',
  malformed_authorization: 'The Authorization header could not be read.',
  invalid_api_key: 'The key is not registered.',
  key_inactive: 'The key has been revoked or is not active yet. Ask the administrator.',
  key_expired: 'The key has expired. Ask the administrator for a new one.',
  insufficient_scope: 'The key does not grant access to this resource.',
  // Never the allowed ranges: they would tell a thief where to use the key from.
  ip_not_allowed: 'This key may not be used from this address.',
  rate_limited: 'Too many requests for this key. Retry after the number of seconds in Retry-After.',
  quota_exceeded: 'The key has used its quota for this period. It renews when the period ends, in Retry-After seconds.',
  auth_unavailable: 'The key registry has not been loaded yet. Retry shortly.',
};

const REALM = 'Bearer realm="sheetgate"';

/**
 * RFC 6750 §3 challenge: no error attribute when no credentials were sent. `ip_not_allowed` gets none: no other token
 * or scope would help, the address would.
 */
function challenge(code: AuthErrorCode, scope: string | undefined): string | undefined {
  switch (codeToStatus(code)) {
    case 401:
      return code === 'missing_api_key' ? REALM : `${REALM}, error="invalid_token"`;
    case 403:
      return code === 'insufficient_scope'
        ? `${REALM}, error="insufficient_scope"${scope === undefined ? '' : `, scope="${scope}"`}`
        : undefined;
    case 429:
    case 503:
      return undefined;
  }
}

export interface ProblemExtras {
  /** Overrides the generic detail; must never contain the key. */
  readonly detail?: string;
  /** Required scope(s), space-separated, for `insufficient_scope`. */
  readonly scope?: string;
  /** Seconds, for `rate_limited`, `quota_exceeded` and `auth_unavailable`. */
  readonly retryAfterSec?: number;
}

/** The problem+json body (RFC 9457) for a code. */
export function problemBody(code: AuthErrorCode, extras: ProblemExtras = {}): Record<string, unknown> {
  return {
    type: `https://sheetgate.dev/errors/${code}`,
    title: TITLES[code],
    status: codeToStatus(code),
    code,
    detail: extras.detail ?? DETAILS[code],
    ...(extras.scope === undefined ? {} : { scope: extras.scope }),
  };
}

/** Writes a refusal: status, `WWW-Authenticate` on 401/403, `Retry-After` when known, problem+json body. */
export function sendProblem(res: Response, code: AuthErrorCode, extras: ProblemExtras = {}): void {
  // Gateways (nginx auth_request) see only the status of the auth subrequest; this lets them pass the exact code on.
  res.setHeader('X-Sheetgate-Code', code);
  const header = challenge(code, extras.scope);
  if (header !== undefined) {
    res.setHeader('WWW-Authenticate', header);
  }
  if (extras.retryAfterSec !== undefined) {
    res.setHeader('Retry-After', String(Math.max(1, Math.ceil(extras.retryAfterSec))));
  }
  res
    .status(codeToStatus(code))
    .type('application/problem+json')
    .send(JSON.stringify(problemBody(code, extras)));
}
