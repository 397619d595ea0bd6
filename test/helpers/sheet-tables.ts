/** Sheet tables for the property tests of the snapshot build. */
import fc from 'fast-check';
import { hashKey } from '../../src/keys/key-id';
import type { CellValue } from '../../src/keys/types';
import { cell } from './json-body';

/** Tables with duplicates, refusals, blanks and hashed rows: what the chunked build must reproduce exactly. */
export const table = fc
  .tuple(
    fc.shuffledSubarray(['api_key', 'key_hash', 'client_name', 'is_active', 'rate_limit', 'expires_at', 'notes'], {
      minLength: 4,
    }),
    fc.array(fc.tuple(fc.integer({ min: 0, max: 10 }), fc.array(cell, { maxLength: 7 })), { maxLength: 60 }),
  )
  .map(([header, specs]) => {
    // Keys 9 and 10 are short: a refusal quoting one (alone or among other text) must not show it.
    const keys = [
      ...Array.from({ length: 9 }, (_, i) => `sk-convergence-${i}-00000000-0000-4000-8000-000000000000`),
      'k9',
      'key-10',
    ];
    const rowsOut = specs.map(([k, noise]) =>
      header.map((h, i): CellValue => {
        const key = keys[k] ?? '';
        switch (h) {
          case 'api_key':
            return k % 3 === 0 ? '' : key;
          case 'key_hash':
            return k % 3 === 0 ? `sha256:${hashKey(key)}` : '';
          case 'client_name':
            return k === 8 ? '' : `client ${k}`;
          case 'is_active':
            return k !== 7 ? true : (['maybe', keys[9], `<${keys[10] ?? ''}>`, 'k9x'][noise.length % 4] ?? '');
          default:
            return noise[i] ?? '';
        }
      }),
    );
    return { timeZone: 'Europe/Paris', rows: [header, ...rowsOut] };
  });
