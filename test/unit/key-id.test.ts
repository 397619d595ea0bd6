import { createHash } from 'node:crypto';

import { formatKeyHash, hashKey, keyIdOf, maskHash, maskKey, parseKeyHash } from '../../src/keys/key-id';

const KEY = 'sk-convergence-0f0f0f0f-0000-4000-8000-00000000abcd';

describe('hashKey', () => {
  it('is the lower-case hex sha256 of the key', () => {
    expect(hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it.each(['', KEY, 'clé-ünïcødé-🔑', ' spaced '])('hashes %p as UTF-8, like createHash', (key) => {
    expect(hashKey(key)).toBe(createHash('sha256').update(key, 'utf8').digest('hex'));
  });
});

describe('keyIdOf', () => {
  it('is the first 16 hex characters of the hash', () => {
    expect(keyIdOf(hashKey(KEY))).toBe(hashKey(KEY).slice(0, 16));
    expect(keyIdOf(hashKey(KEY))).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('maskKey', () => {
  it.each([
    [KEY, 'sk-con…abcd'],
    ['0123456789abcdef', '012345…cdef'],
    ['0123456789abcde', '…(15 chars)'],
    ['short', '…(5 chars)'],
    ['', '…(0 chars)'],
  ])('%p → %p', (key, masked) => {
    expect(maskKey(key)).toBe(masked);
    if (key.length > 0) {
      expect(maskKey(key)).not.toContain(key);
    }
  });
});

describe('key_hash cells', () => {
  const hash = hashKey(KEY);

  it('formats and parses back', () => {
    expect(formatKeyHash(hash)).toBe(`sha256:${hash}`);
    expect(parseKeyHash(formatKeyHash(hash))).toBe(hash);
    expect(maskHash(hash)).toBe(`sha256:${hash.slice(0, 6)}…`);
  });

  it.each([
    ['upper case', `SHA256:${hash.toUpperCase()}`, hash],
    ['padded', `  sha256:${hash}  `, hash],
    ['no prefix', hash, undefined],
    ['other algorithm', `sha512:${hash}`, undefined],
    ['too short', `sha256:${hash.slice(1)}`, undefined],
    ['too long', `sha256:${hash}0`, undefined],
    ['not hex', `sha256:${'g'.repeat(64)}`, undefined],
    ['a raw key', KEY, undefined],
    ['empty', '', undefined],
  ])('parseKeyHash %s', (_name, cell, expected) => {
    expect(parseKeyHash(cell)).toBe(expected);
  });
});
