/**
 * Throwaway Google service-account credentials for tests, the demo, the soak and the benches: a real RSA key pair in a
 * JSON file of Google's exact shape, which the emulator can trust (`emulator.trust`) and google-auth-library can sign
 * with. It lives beside the emulator because everything that starts one needs it.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A service-account key file as downloaded from Google Cloud. */
export interface ServiceAccount {
  readonly type: 'service_account';
  readonly project_id: string;
  readonly private_key_id: string;
  readonly private_key: string;
  readonly client_email: string;
  readonly client_id: string;
  readonly auth_uri: string;
  readonly token_uri: string;
  readonly auth_provider_x509_cert_url: string;
  readonly client_x509_cert_url: string;
  readonly universe_domain: string;
}

export interface MadeCredentials {
  /** Where the JSON was written (what `GOOGLE_CREDENTIALS_PATH` is set to). */
  readonly path: string;
  readonly credentials: ServiceAccount;
}

export interface MakeCredentialsOptions {
  /** Defaults to a fresh `sheetgate-test-<hex>@sheetgate-test.iam.gserviceaccount.com`. */
  readonly email?: string;
  /** Sign with a newly generated key instead of the per-process cached one (e.g. a forged token). */
  readonly freshKey?: boolean;
}

const PROJECT = 'sheetgate-test';
let cachedKey: string | undefined;

/** A PKCS#8 PEM RSA-2048 private key. Generating one takes ~100 ms, so one is shared per process. */
function privateKey(fresh: boolean): string {
  if (!fresh && cachedKey !== undefined) {
    return cachedKey;
  }
  const { privateKey: pem } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  if (!fresh) {
    cachedKey = pem;
  }
  return pem;
}

/**
 * Writes a new service-account JSON (mode 0600) to `dir/service-account.json` (overwriting it), or to a new temp
 * directory when `dir` is omitted.
 */
export function makeCredentials(dir?: string, options: MakeCredentialsOptions = {}): MadeCredentials {
  const key = privateKey(options.freshKey === true);
  const der = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const email = options.email ?? `sheetgate-test-${randomBytes(4).toString('hex')}@${PROJECT}.iam.gserviceaccount.com`;
  const credentials: ServiceAccount = {
    type: 'service_account',
    project_id: PROJECT,
    private_key_id: createHash('sha1').update(der).digest('hex'),
    private_key: key,
    client_email: email,
    client_id: String(BigInt(`0x${randomBytes(8).toString('hex')}`)).padStart(21, '1'),
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: 'https://oauth2.googleapis.com/token',
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
    universe_domain: 'googleapis.com',
  };
  const path = join(dir ?? mkdtempSync(join(tmpdir(), 'sheetgate-creds-')), 'service-account.json');
  writeFileSync(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  return { path, credentials };
}
