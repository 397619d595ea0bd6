import type { KeyRecord, Snapshot } from '../keys/types';
import type { AuthErrorCode } from './errors';

/** Refusals `verify` can give; the others (missing, malformed, scope, limit, unavailable) are decided elsewhere. */
export type KeyRefusal = Extract<AuthErrorCode, 'invalid_api_key' | 'key_inactive' | 'key_expired'>;

export type Verdict =
  { readonly ok: true; readonly key: KeyRecord } | { readonly ok: false; readonly code: KeyRefusal };

const INVALID: Verdict = { ok: false, code: 'invalid_api_key' };
const INACTIVE: Verdict = { ok: false, code: 'key_inactive' };
const EXPIRED: Verdict = { ok: false, code: 'key_expired' };

/**
 * Decides whether the key with this hash may call now. Pure and synchronous: a Map lookup and two checks.
 * Expiry is checked against `now` on every call, not at load time.
 * Lookup is by sha256 of the presented key, so timing depends on the hash, never on how much of the key matched.
 */
export function verify(snapshot: Snapshot, hash: string, now: number): Verdict {
  const key = snapshot.byHash.get(hash);
  if (key === undefined) {
    return INVALID;
  }
  if (!key.active) {
    return INACTIVE;
  }
  if (key.expiresAt !== undefined && now >= key.expiresAt) {
    return EXPIRED;
  }
  return { ok: true, key };
}

/** Scopes with this prefix are sheetgate's own (e.g. `sheetgate:admin`): never implied, granted only when listed. */
export const RESERVED_SCOPE_PREFIX = 'sheetgate:';

/**
 * True when the key grants `scope`. A key with no scopes has full access to application scopes, but never to a
 * reserved `sheetgate:` scope: an ordinary key must not become an admin because its scopes cell is empty.
 */
export function hasScope(key: { readonly scopes: readonly string[] }, scope: string): boolean {
  if (key.scopes.includes(scope)) {
    return true;
  }
  return key.scopes.length === 0 && !scope.startsWith(RESERVED_SCOPE_PREFIX);
}
