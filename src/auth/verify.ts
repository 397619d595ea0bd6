import type { KeyRecord } from '../keys/types';
import type { AuthErrorCode } from './errors';

/** Refusals of the presented key itself (unknown, inactive, expired); the others (missing, malformed, scope, limit, unavailable) are decided elsewhere. */
export type KeyRefusal = Extract<AuthErrorCode, 'invalid_api_key' | 'key_inactive' | 'key_expired'>;

/**
 * Why a key found in the snapshot may not call now (inactive, or expired at `now`); undefined when it may. Pure and
 * synchronous; expiry is checked against `now` on every call, not at load time. The caller finds the record by the
 * sha256 of the presented key, so the lookup's timing depends on the hash, never on how much of the key matched.
 */
export function keyRefusal(key: KeyRecord, now: number): Exclude<KeyRefusal, 'invalid_api_key'> | undefined {
  if (!key.active) {
    return 'key_inactive';
  }
  if (key.expiresAt !== undefined && now >= key.expiresAt) {
    return 'key_expired';
  }
  return undefined;
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
