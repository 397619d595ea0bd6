/**
 * Authorization header → key | missing | malformed . Pure: no Express, no I/O.
 */

export type Credentials =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'missing' }
  | { readonly kind: 'malformed'; readonly reason: string };

/** Raw header values as received; repeated headers appear several times (read from `rawHeaders`). */
export interface CredentialHeaders {
  readonly authorization: readonly string[];
  readonly apiKey: readonly string[];
}

/** Longest key accepted; longer values are refused before hashing (hostile input: no sha256 of megabytes). */
export const MAX_KEY_LENGTH = 512;

const SCHEMES = new Set(['bearer', 'apikey']);
// Printable ASCII except space: what a key can be inside a header value.
const KEY_CHARS = /^[\x21-\x7e]+$/;

const MISSING: Credentials = { kind: 'missing' };

function malformed(reason: string): Credentials {
  return { kind: 'malformed', reason };
}

function checkKey(key: string): Credentials {
  if (key === '') {
    return malformed('empty key');
  }
  if (key.length > MAX_KEY_LENGTH) {
    return malformed(`key longer than ${MAX_KEY_LENGTH} characters`);
  }
  if (!KEY_CHARS.test(key)) {
    return malformed('key contains spaces or non-printable characters');
  }
  return { kind: 'key', key };
}

/** `Bearer ` as browsers, SDKs and curl send it. */
const BEARER = 'Bearer ';

function fromAuthorization(value: string): Credentials {
  // What nearly every request sends, `Bearer <key>` and nothing else, found without trimming, searching or lower-casing
  // anything: the key then starts right after the one space and must be printable to its end, so the general reading
  // below would find the same key. Anything else, including a refusal, takes the general reading and its reason.
  if (value.startsWith(BEARER)) {
    const key = value.slice(BEARER.length);
    if (key.length <= MAX_KEY_LENGTH && KEY_CHARS.test(key)) {
      return { kind: 'key', key };
    }
  }
  const text = value.trim();
  const space = text.search(/\s/);
  const scheme = (space === -1 ? text : text.slice(0, space)).toLowerCase();
  if (!SCHEMES.has(scheme)) {
    return malformed(scheme === '' ? 'empty Authorization header' : 'unknown scheme (use Bearer or ApiKey)');
  }
  return checkKey(space === -1 ? '' : text.slice(space).trim());
}

/**
 * Extracts the one key a request carries.
 * `Authorization: Bearer|ApiKey <key>` (scheme case-insensitive, surrounding whitespace ignored) or `X-API-Key: <key>`.
 * Several different keys (repeated headers, or both headers disagreeing) are malformed: never guess which one counts.
 */
export function parseCredentials(headers: CredentialHeaders): Credentials {
  const { authorization, apiKey } = headers;
  if (authorization.length > 1 || apiKey.length > 1) {
    return malformed('several credentials sent');
  }
  const fromAuth = authorization[0] === undefined ? undefined : fromAuthorization(authorization[0]);
  const fromHeader = apiKey[0] === undefined ? undefined : checkKey(apiKey[0].trim());
  if (fromAuth && fromHeader) {
    const same = fromAuth.kind === 'key' && fromHeader.kind === 'key' && fromAuth.key === fromHeader.key;
    return same ? fromAuth : malformed('several credentials sent');
  }
  return fromAuth ?? fromHeader ?? MISSING;
}

/** Collects Authorization and X-API-Key values from Node's `rawHeaders` (Node keeps only the first `authorization`). */
export function credentialHeaders(rawHeaders: readonly string[]): CredentialHeaders {
  const authorization: string[] = [];
  const apiKey: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    const value = rawHeaders[i + 1];
    if (name === undefined || value === undefined || name.length < 9) {
      continue;
    }
    const lower = name.toLowerCase();
    if (lower === 'authorization') {
      authorization.push(value);
    } else if (lower === 'x-api-key') {
      apiKey.push(value);
    }
  }
  return { authorization, apiKey };
}
