import { credentialHeaders, MAX_KEY_LENGTH, parseCredentials } from '../../src/auth/credentials';

const KEY = 'sk-convergence-6f1c2b1e-0000-4000-8000-000000000001';

function parse(authorization: string[] = [], apiKey: string[] = []) {
  return parseCredentials({ authorization, apiKey });
}

describe('parseCredentials', () => {
  it.each([
    ['Bearer', [`Bearer ${KEY}`]],
    ['lower-case bearer', [`bearer ${KEY}`]],
    ['upper-case BEARER', [`BEARER ${KEY}`]],
    ['ApiKey', [`ApiKey ${KEY}`]],
    ['apikey', [`apikey ${KEY}`]],
    ['surrounding whitespace', [`   Bearer    ${KEY}   `]],
    ['tab separator', [`Bearer\t${KEY}`]],
  ])('reads the key from Authorization (%s)', (_name, authorization) => {
    expect(parse(authorization)).toEqual({ kind: 'key', key: KEY });
  });

  it('reads X-API-Key, trimmed', () => {
    expect(parse([], [`  ${KEY} `])).toEqual({ kind: 'key', key: KEY });
  });

  it('accepts both headers when they carry the same key', () => {
    expect(parse([`Bearer ${KEY}`], [KEY])).toEqual({ kind: 'key', key: KEY });
  });

  it('says missing when there is no credential at all', () => {
    expect(parse()).toEqual({ kind: 'missing' });
  });

  it.each([
    ['unknown scheme', [`Basic ${KEY}`], []],
    ['scheme only', ['Bearer'], []],
    ['scheme and spaces', ['Bearer    '], []],
    ['empty header', [''], []],
    ['two keys in one header', [`Bearer ${KEY} ${KEY}x`], []],
    ['two Authorization headers', [`Bearer ${KEY}`, `Bearer ${KEY}`], []],
    ['two X-API-Key headers', [], [KEY, KEY]],
    ['headers disagree', [`Bearer ${KEY}`], [`${KEY}x`]],
    ['empty X-API-Key', [], ['   ']],
    ['control character', [`Bearer sk-a\u0000b`], []],
    ['non-ASCII', [`Bearer sk-é`], []],
    ['too long', [`Bearer ${'a'.repeat(MAX_KEY_LENGTH + 1)}`], []],
    ['key without scheme', [KEY], []],
  ])('refuses %s as malformed', (_name, authorization, apiKey) => {
    expect(parse(authorization, apiKey).kind).toBe('malformed');
  });

  it('never echoes the key in a malformed reason', () => {
    for (const headers of [[`Basic ${KEY}`], [`Bearer ${KEY} ${KEY}`], [`Bearer ${KEY}\u0001`]]) {
      const result = parse(headers);
      expect(result.kind).toBe('malformed');
      expect(JSON.stringify(result)).not.toContain(KEY);
    }
  });
});

describe('credentialHeaders', () => {
  it('collects repeated headers from rawHeaders, case-insensitively', () => {
    const raw = [
      'Host',
      'x',
      'authorization',
      'Bearer a',
      'AUTHORIZATION',
      'Bearer b',
      'X-Api-Key',
      'c',
      'Accept',
      '*/*',
    ];
    expect(credentialHeaders(raw)).toEqual({ authorization: ['Bearer a', 'Bearer b'], apiKey: ['c'] });
  });
});
