import { JWT } from 'google-auth-library';

/** Read and write the key tab. */
export const SHEETS_SCOPE = 'https://www.googleapis.com/auth/spreadsheets';
/** Read the spreadsheet's Drive `version` (change detection); no access to any file's content. */
export const DRIVE_METADATA_SCOPE = 'https://www.googleapis.com/auth/drive.metadata.readonly';

/** The fields of a service-account key file that signing needs. */
export interface SigningAccount {
  readonly client_email: string;
  readonly private_key: string;
  readonly private_key_id?: string;
}

/** What both JWT classes (google-auth-library's, and the one `@googleapis/drive` bundles) are built from. */
export function jwtOptions(account: SigningAccount): {
  email: string;
  key: string;
  keyId?: string;
  scopes: string[];
} {
  return {
    email: account.client_email,
    key: account.private_key,
    ...(account.private_key_id === undefined ? {} : { keyId: account.private_key_id }),
    scopes: [SHEETS_SCOPE, DRIVE_METADATA_SCOPE],
  };
}

/**
 * The service account's self-signed JWT (`useJWTAccessWithScope`: no token-endpoint call, so it works against Google
 * and the emulator alike), with the Sheets scope and the Drive metadata scope: the same token for both APIs.
 */
export function serviceAccountJwt(account: SigningAccount): JWT {
  const auth = new JWT(jwtOptions(account));
  auth.useJWTAccessWithScope = true; // a property, not a constructor option
  return auth;
}
