/**
 * What the tests of the sliced JSON reads share: cells full of what JSON escapes or a scanner could mistake for
 * structure, and a body delivered as UTF-8 bytes cut anywhere, as a response streams in.
 */
import fc from 'fast-check';
import type { CellValue } from '../../src/keys/types';

/** Cells with everything JSON escapes or the scanner must not mistake for structure. */
export const trickyText = fc.string({
  unit: fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.constantFrom('"', '\\', '\\"', '\\\\', '[', ']', '{', '}', ',', '\n', '\0', '\u2028', 'é', '🔑'),
  ),
  maxLength: 30,
});

export const cell: fc.Arbitrary<CellValue> = fc.oneof(
  trickyText,
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.boolean(),
);

export const rows = fc.array(fc.array(cell, { maxLength: 8 }), { maxLength: 40 });

export type Layout = 'compact' | 'pretty' | 'tabs';

/** `json` as Google (pretty-printed) or the emulator (compact) might send it, or with odd whitespace around. */
export function stringify(json: unknown, layout: Layout): string {
  switch (layout) {
    case 'compact':
      return JSON.stringify(json);
    case 'pretty':
      return JSON.stringify(json, null, 2);
    case 'tabs':
      return ` \r\n${JSON.stringify(json, null, '\t')}\n `;
  }
}

/** `text` as UTF-8 bytes in chunks cut anywhere, multi-byte characters included. */
export function chunked(text: string, cuts: readonly number[]): Uint8Array[] {
  const bytes = Buffer.from(text, 'utf8');
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  return chunks;
}

/** The chunks as a stream that yields to the microtask queue between them. */
export async function* stream(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) {
    await Promise.resolve();
    yield c;
  }
}
