import { createPublicKey, sign } from 'node:crypto';
import type { Emulator } from '../../emulator/server';
import { makeCredentials } from '../../emulator/credentials';
import type { ServiceAccount } from '../../emulator/credentials';
import { sheetsClient, trustedEmulator } from '../helpers/emulator';
import { failure } from './google-error';

const SCOPE = 'https://www.googleapis.com/auth/spreadsheets';
const INVALID = {
  code: 401,
  message: expect.stringMatching(/^Request had invalid authentication credentials\./),
  status: 'UNAUTHENTICATED',
};

function jwt(header: object, claims: object, privateKey: string): string {
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = `${enc(header)}.${enc(claims)}`;
  return `${data}.${sign('RSA-SHA256', Buffer.from(data), privateKey).toString('base64url')}`;
}

describe('emulator authentication: self-signed service-account JWTs', () => {
  let emulator: Emulator;
  let trusted: ServiceAccount;
  let id: string;

  beforeAll(async () => {
    ({ emulator, credentials: trusted } = await trustedEmulator());
    id = emulator.createSpreadsheet({ tabs: { API_Keys: [['api_key']] } });
  });

  afterAll(async () => {
    await emulator.close();
  });

  /** Calls spreadsheets.get with a hand-made Authorization header. */
  async function getWith(
    authorization: string | undefined,
  ): Promise<{ status: number; body: unknown; reason: string | null }> {
    const res = await fetch(`${emulator.url}v4/spreadsheets/${id}`, {
      headers: authorization === undefined ? {} : { authorization },
    });
    return { status: res.status, body: await res.json(), reason: res.headers.get('x-emulator-reason') };
  }

  function claims(overrides: object = {}): object {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: trusted.client_email,
      sub: trusted.client_email,
      scope: SCOPE,
      iat: now,
      exp: now + 3600,
      ...overrides,
    };
  }

  it('accepts the real client with useJWTAccessWithScope (RS256, kid, scope claim)', async () => {
    const { data } = await sheetsClient(emulator.url, trusted).spreadsheets.get({ spreadsheetId: id });
    expect(data.spreadsheetId).toBe(id);
  });

  it('answers 401 to credentials the emulator does not trust', async () => {
    const stranger = makeCredentials().credentials;
    const f = await failure(sheetsClient(emulator.url, stranger).spreadsheets.get({ spreadsheetId: id }));
    expect(f.status).toBe(401);
    expect(f.error).toEqual(INVALID);
  });

  it('answers 401 to a trusted email signed with another key (bad signature)', async () => {
    const forged = makeCredentials(undefined, { email: trusted.client_email, freshKey: true }).credentials;
    // Without a kid, so that only the signature can give it away.
    const withoutKid = { client_email: forged.client_email, private_key: forged.private_key };
    const f = await failure(sheetsClient(emulator.url, withoutKid).spreadsheets.get({ spreadsheetId: id }));
    expect(f.status).toBe(401);
    expect(f.error).toEqual(INVALID);
    const direct = await getWith(`Bearer ${jwt({ alg: 'RS256', typ: 'JWT' }, claims(), forged.private_key)}`);
    expect(direct.reason).toBe('bad signature');
  });

  it.each([
    ['no Authorization header', undefined, /missing required authentication credential/, 'no Bearer token'],
    ['a non-JWT bearer', 'Bearer abc', /invalid authentication credentials/, 'not a JWT'],
    ['an expired token', 'expired', /invalid authentication credentials/, 'expired'],
    [
      'a token living over an hour',
      'long',
      /invalid authentication credentials/,
      'iat in the future or lifetime over one hour',
    ],
    [
      'a kid of another key',
      'kid',
      /invalid authentication credentials/,
      expect.stringMatching(/^kid "other" is not a key/),
    ],
    ['alg none', 'none', /invalid authentication credentials/, 'alg none is not RS256'],
  ])('answers 401 UNAUTHENTICATED to %s', async (_name, kind, message, reason) => {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', kid: trusted.private_key_id };
    const tokens: Record<string, string> = {
      expired: jwt(header, claims({ iat: now - 7200, exp: now - 3600 }), trusted.private_key),
      long: jwt(header, claims({ exp: now + 7200 }), trusted.private_key),
      kid: jwt({ ...header, kid: 'other' }, claims(), trusted.private_key),
      none: jwt({ ...header, alg: 'none' }, claims(), trusted.private_key),
    };
    const authorization =
      kind === undefined ? undefined : kind.startsWith('Bearer') ? kind : `Bearer ${tokens[kind] ?? ''}`;
    const res = await getWith(authorization);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: { code: 401, message: expect.stringMatching(message), status: 'UNAUTHENTICATED' },
    });
    expect(res.reason).toEqual(reason);
  });

  it('survives hostile JWT fields that cannot go into a header', async () => {
    const token = jwt({ alg: 'RS256', typ: 'JWT', kid: '☃\r\nx: y' }, claims(), trusted.private_key);
    const res = await getWith(`Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.reason).toBe('kid "?\\r\\nx: y" is not a key of ' + trusted.client_email);
    expect((await getWith(undefined)).status).toBe(401);
  });

  it('answers 403 to a token without a Sheets scope', async () => {
    const token = jwt(
      { alg: 'RS256', typ: 'JWT' },
      claims({ scope: 'https://www.googleapis.com/auth/calendar' }),
      trusted.private_key,
    );
    const res = await getWith(`Bearer ${token}`);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      error: { code: 403, message: 'Request had insufficient authentication scopes.', status: 'PERMISSION_DENIED' },
    });
  });

  it('checks credentials before the spreadsheet exists (401 beats 404)', async () => {
    const res = await fetch(`${emulator.url}v4/spreadsheets/nope`);
    expect(res.status).toBe(401);
  });

  it('trusts an account from its public key alone', async () => {
    const other = makeCredentials(undefined, { freshKey: true }).credentials;
    emulator.trust({
      client_email: other.client_email,
      public_key: createPublicKey(other.private_key).export({ type: 'spki', format: 'pem' }).toString(),
    });
    const { status } = await sheetsClient(emulator.url, other).spreadsheets.get({ spreadsheetId: id });
    expect(status).toBe(200);
  });
});
