import { headerSafe } from '../auth/header-safe';
import type { AuthContext } from '../auth/middleware';

/** The identity headers sheetgate sets for an accepted key, lower-case names as Node keeps them. */
export type IdentityHeaders = Readonly<Record<'x-client-name' | 'x-sheetgate-key-id' | 'x-sheetgate-scopes', string>>;

/**
 * Identity headers of an accepted caller, every value through {@link headerSafe}: the client name and scopes are sheet
 * text (`données:écrire`, `日本:読む`), the key id is derived from a sheet cell, and no cell may make a response or an
 * upstream request fail. Used by `/auth/verify` (gateways copy them) and by the reverse proxy.
 */
export function identityHeaders(auth: AuthContext): IdentityHeaders {
  return {
    'x-client-name': headerSafe(auth.clientName),
    'x-sheetgate-key-id': headerSafe(auth.keyId),
    'x-sheetgate-scopes': headerSafe(auth.scopes.join(' ')),
  };
}
