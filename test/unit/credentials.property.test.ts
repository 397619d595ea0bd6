import fc from 'fast-check';
import { credentialHeaders, MAX_KEY_LENGTH, parseCredentials } from '../../src/auth/credentials';

// Hostile input: whatever arrives, the parser answers one of its three kinds and never throws.
const anyHeader = fc.string({ unit: 'binary', maxLength: 2000 });
const printableKey = fc.stringMatching(/^[\x21-\x7e]{1,100}$/);

describe('parseCredentials properties', () => {
  it('never throws and always answers key | missing | malformed', () => {
    fc.assert(
      fc.property(fc.array(anyHeader, { maxLength: 3 }), fc.array(anyHeader, { maxLength: 3 }), (auth, apiKey) => {
        const result = parseCredentials({ authorization: auth, apiKey });
        expect(['key', 'missing', 'malformed']).toContain(result.kind);
      }),
      { numRuns: 2000 },
    );
  });

  it('only ever returns a key made of printable ASCII, at most MAX_KEY_LENGTH long', () => {
    fc.assert(
      fc.property(anyHeader, (header) => {
        const result = parseCredentials({ authorization: [header], apiKey: [] });
        if (result.kind === 'key') {
          expect(result.key).toMatch(/^[\x21-\x7e]+$/);
          expect(result.key.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
          expect(header.toLowerCase().trimStart()).toMatch(/^(bearer|apikey)\s/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips any printable key through every accepted form', () => {
    fc.assert(
      fc.property(
        printableKey,
        fc.constantFrom('Bearer', 'bearer', 'BEARER', 'ApiKey', 'apikey'),
        fc.stringMatching(/^[ \t]{0,3}$/),
        (key, scheme, pad) => {
          expect(parseCredentials({ authorization: [`${pad}${scheme} ${pad}${key}${pad}`], apiKey: [] })).toEqual({
            kind: 'key',
            key,
          });
          expect(parseCredentials({ authorization: [], apiKey: [`${pad}${key}${pad}`] })).toEqual({ kind: 'key', key });
        },
      ),
    );
  });

  it('refuses two different keys in whatever combination of headers', () => {
    fc.assert(
      fc.property(printableKey, printableKey, (a, b) => {
        fc.pre(a !== b);
        expect(parseCredentials({ authorization: [`Bearer ${a}`], apiKey: [b] }).kind).toBe('malformed');
        expect(parseCredentials({ authorization: [`Bearer ${a}`, `Bearer ${b}`], apiKey: [] }).kind).toBe('malformed');
        expect(parseCredentials({ authorization: [], apiKey: [a, b] }).kind).toBe('malformed');
      }),
    );
  });

  it('reads `Bearer <key>` exactly as the general reading does, whatever follows the scheme', () => {
    // The general reading, spelled out: trim, split at the first whitespace, scheme in any case, the rest trimmed.
    const general = (value: string): string | undefined => {
      const text = value.trim();
      const space = text.search(/\s/);
      const scheme = (space === -1 ? text : text.slice(0, space)).toLowerCase();
      const key = space === -1 ? '' : text.slice(space).trim();
      const accepted = (scheme === 'bearer' || scheme === 'apikey') && key.length <= MAX_KEY_LENGTH;
      return accepted && /^[\x21-\x7e]+$/.test(key) ? key : undefined;
    };
    const rest = fc.oneof(
      anyHeader,
      printableKey,
      fc.string({ maxLength: MAX_KEY_LENGTH + 2, unit: 'grapheme-ascii' }),
    );
    fc.assert(
      fc.property(fc.constantFrom('Bearer ', 'Bearer  ', 'Bearer\t', 'bearer ', ' Bearer '), rest, (scheme, tail) => {
        const result = parseCredentials({ authorization: [scheme + tail], apiKey: [] });
        expect(result.kind === 'key' ? result.key : undefined).toBe(general(scheme + tail));
      }),
      { numRuns: 3000 },
    );
  });

  it('credentialHeaders never throws on odd rawHeaders arrays', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 21 }), (raw) => {
        const { authorization, apiKey } = credentialHeaders(raw);
        expect(authorization.length + apiKey.length).toBeLessThanOrEqual(Math.floor(raw.length / 2));
      }),
    );
  });
});
