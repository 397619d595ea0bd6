import { BlockList } from 'node:net';
import fc from 'fast-check';
import { addressMatcher, parseAddressList } from '../../src/keys/address-list';

/**
 * `allowed_ips` parsing and matching, against Node's own `net.BlockList` as the oracle: an independent
 * implementation of subnet membership in Node core.
 */

type Family = 'ipv4' | 'ipv6';
interface Generated {
  readonly family: Family;
  readonly bytes: readonly number[];
}

const byte = fc.integer({ min: 0, max: 255 });
const v4 = fc.array(byte, { minLength: 4, maxLength: 4 }).map((bytes): Generated => ({ family: 'ipv4', bytes }));
const v6 = fc.array(byte, { minLength: 16, maxLength: 16 }).map((bytes): Generated => ({ family: 'ipv6', bytes }));

function text({ family, bytes }: Generated): string {
  if (family === 'ipv4') {
    return bytes.join('.');
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  }
  return groups.join(':');
}

const range = fc
  .oneof(v4, v6)
  .chain((address) =>
    fc.integer({ min: 0, max: address.family === 'ipv4' ? 32 : 128 }).map((prefix) => ({ address, prefix })),
  );

/** An address near `base`: its first `keep` bytes, the rest random — on either side of a range's edge, often. */
function near(base: Generated): fc.Arbitrary<Generated> {
  return fc
    .tuple(fc.integer({ min: 0, max: base.bytes.length }), fc.array(byte, { minLength: 16, maxLength: 16 }))
    .map(([keep, noise]) => ({
      family: base.family,
      bytes: base.bytes.map((b, i) => (i < keep ? b : (noise[i] ?? 0))),
    }));
}

const cellChars = fc.constantFrom(...'0123456789abcdefABCDEF.:/%, \t-x'.split(''));
const anyCell = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: cellChars, maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

describe('allowed_ips: parseAddressList and addressMatcher', () => {
  it('never throws, whatever the cell and whatever the client address', () => {
    fc.assert(
      fc.property(anyCell, anyCell, (cell, address) => {
        const parsed = parseAddressList(cell);
        const match = addressMatcher(parsed.ok ? parsed.entries : cell.split(/[\s,]+/));
        expect(typeof match(address)).toBe('boolean');
        expect(match(undefined)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('matches exactly the addresses inside some range (never one outside every range), as net.BlockList does', () => {
    // BlockList also treats an IPv4 address and its IPv4-mapped IPv6 form as one.
    const cases = fc.array(range, { minLength: 1, maxLength: 4 }).chain((ranges) =>
      fc.tuple(
        fc.constant(ranges),
        fc.array(
          fc.oneof(
            fc.constantFrom(...ranges).chain((r) => near(r.address)),
            v4,
            v6,
          ),
          { minLength: 1, maxLength: 8 },
        ),
        fc.boolean(),
      ),
    );
    fc.assert(
      fc.property(cases, ([ranges, addresses, mapped]) => {
        const cell = ranges.map((r) => `${text(r.address)}/${r.prefix}`).join(', ');
        const parsed = parseAddressList(cell);
        expect(parsed.ok).toBe(true);
        const match = addressMatcher(parsed.ok ? parsed.entries : []);
        const oracle = new BlockList();
        for (const { address, prefix } of ranges) {
          oracle.addSubnet(text(address), prefix, address.family);
        }
        for (const address of addresses) {
          const inside = oracle.check(text(address), address.family);
          expect(match(text(address))).toBe(inside);
          if (address.family === 'ipv4' && mapped) {
            // How a dual-stack socket reports an IPv4 client: it matches as that IPv4 address.
            expect(match(`::ffff:${text(address)}`)).toBe(inside);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('reads back its own canonical entries unchanged', () => {
    fc.assert(
      fc.property(fc.array(range, { maxLength: 5 }), (ranges) => {
        const first = parseAddressList(ranges.map((r) => `${text(r.address)}/${r.prefix}`).join(' '));
        const again = parseAddressList(first.ok ? first.entries.join(', ') : '');
        expect(again).toEqual(first);
      }),
    );
  });

  it.each([
    ['127.0.0.1', '::ffff:127.0.0.1', true],
    ['127.0.0.0/8', '::ffff:7f00:1', true],
    ['::ffff:10.0.0.0/104', '10.200.0.1', true],
    ['::ffff:10.0.0.0/104', '11.0.0.1', false],
    ['::/0', '10.0.0.1', true], // as ::ffff:10.0.0.1
    ['::ffff:0:0/95', '10.0.0.1', true],
    ['::ffff:0:0/95', '::fffe:0:1', true],
    ['2001:db8::/32', '10.0.0.1', false],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['fe80::/10', 'fe80::1%eth0', true], // a client's zone id does not change its address
    ['10.0.0.0/8', '', false],
    ['10.0.0.0/8', '10.1', false],
    ['10.0.0.0/8', '0x0a.0.0.1', false],
  ])('%s matches %p → %p', (cell, address, expected) => {
    const parsed = parseAddressList(cell);
    expect(parsed.ok && addressMatcher(parsed.entries)(address)).toBe(expected);
  });
});
