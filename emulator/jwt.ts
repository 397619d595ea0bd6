/**
 * Verifies the self-signed service-account JWT that google-auth-library sends with `useJWTAccessWithScope = true`
 * (jwtaccess.js): header `{alg: RS256, typ: JWT, kid: private_key_id}`, claims `{iss, sub, scope, iat, exp}` with
 * `exp = iat + 3600`. Without scopes the library signs `aud: <url>` instead of `scope`; both are accepted.
 */
import { createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** What {@link Emulator.trust} takes: a service-account JSON (private key) or just its public key. */
export interface TrustedCredentials {
  readonly client_email: string;
  readonly private_key?: string;
  /** PEM (SPKI) public key, when the private key is not at hand. */
  readonly public_key?: string;
  readonly private_key_id?: string;
}

/** A trusted service account, ready for signature checks. */
export interface TrustedAccount {
  readonly email: string;
  readonly keyId: string | undefined;
  readonly publicKey: KeyObject;
}

/** Scopes that grant access to the Sheets API (read-only scopes are not distinguished). */
const SHEETS_SCOPES = [
  'https://www.googleapis.com/auth/spreadsheets',
  'https://www.googleapis.com/auth/spreadsheets.readonly',
  'https://www.googleapis.com/auth/drive',
  'https://www.googleapis.com/auth/drive.file',
  'https://www.googleapis.com/auth/drive.readonly',
];
/** Scopes that grant access to a file's Drive metadata (`files.get`). */
export const DRIVE_SCOPES = [
  'https://www.googleapis.com/auth/drive',
  'https://www.googleapis.com/auth/drive.file',
  'https://www.googleapis.com/auth/drive.readonly',
  'https://www.googleapis.com/auth/drive.metadata',
  'https://www.googleapis.com/auth/drive.metadata.readonly',
];
/** Google caps a self-signed JWT's lifetime at one hour; allow a little clock skew. */
const MAX_LIFETIME_S = 3600;
const SKEW_S = 300;

/** Derives the public key to verify with. @throws Error when neither key is given or the key does not parse. */
export function toTrustedAccount(credentials: TrustedCredentials): TrustedAccount {
  const pem = credentials.private_key ?? credentials.public_key;
  if (pem === undefined) {
    throw new Error(`emulator: trust(${credentials.client_email}) needs private_key or public_key`);
  }
  return {
    email: credentials.client_email.toLowerCase(),
    keyId: credentials.private_key_id,
    publicKey: createPublicKey(pem),
  };
}

/** Outcome of {@link verifyJwt}: the caller's email, or why not. */
export type JwtVerdict =
  | { readonly ok: true; readonly email: string }
  | { readonly ok: false; readonly reason: string; readonly insufficientScope?: true };

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function hasScope(scope: unknown, wanted: readonly string[]): boolean {
  return typeof scope === 'string' && scope.split(' ').some((s) => wanted.includes(s));
}

/**
 * Checks signature, issuer, key id, lifetime and scope (one of `scopes`: the Sheets ones by default, {@link
 * DRIVE_SCOPES} for Drive). `reason` is for the `x-emulator-auth` debug header only: Google's body says nothing more
 * than "invalid credentials".
 */
export function verifyJwt(
  token: string,
  accounts: ReadonlyMap<string, TrustedAccount>,
  nowSeconds: number,
  scopes: readonly string[] = SHEETS_SCOPES,
): JwtVerdict {
  const [h = '', p = '', s = '', ...extra] = token.split('.');
  const header = decodeJson(h);
  const claims = decodeJson(p);
  if (header === undefined || claims === undefined || s === '' || extra.length > 0) {
    return { ok: false, reason: 'not a JWT' };
  }
  if (header['alg'] !== 'RS256') {
    return { ok: false, reason: `alg ${String(header['alg'])} is not RS256` };
  }
  const iss = typeof claims['iss'] === 'string' ? claims['iss'].toLowerCase() : '';
  const account = accounts.get(iss);
  if (account === undefined) {
    return { ok: false, reason: `issuer ${iss || '(none)'} is not a trusted service account` };
  }
  if (account.keyId !== undefined && header['kid'] !== undefined && header['kid'] !== account.keyId) {
    return { ok: false, reason: `kid ${JSON.stringify(header['kid'])} is not a key of ${iss}` };
  }
  if (!verify('RSA-SHA256', Buffer.from(`${h}.${p}`), account.publicKey, Buffer.from(s, 'base64url'))) {
    return { ok: false, reason: 'bad signature' };
  }
  const { iat, exp } = claims;
  if (typeof iat !== 'number' || typeof exp !== 'number') {
    return { ok: false, reason: 'iat/exp missing' };
  }
  if (exp <= nowSeconds) {
    return { ok: false, reason: 'expired' };
  }
  if (iat > nowSeconds + SKEW_S || exp - iat > MAX_LIFETIME_S) {
    return { ok: false, reason: 'iat in the future or lifetime over one hour' };
  }
  if (claims['scope'] === undefined ? typeof claims['aud'] !== 'string' : !hasScope(claims['scope'], scopes)) {
    return { ok: false, reason: `no ${scopes === SHEETS_SCOPES ? 'Sheets' : 'Drive'} scope`, insufficientScope: true };
  }
  return { ok: true, email: iss };
}
