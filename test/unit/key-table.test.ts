import fc from 'fast-check';
import { hashKey, keyIdOf } from '../../src/keys/key-id';
import { KeyTableBuilder, emptyKeyTable } from '../../src/keys/key-table-builder';
import { QUOTA_PERIODS } from '../../src/keys/quota';
import type { KeyRecord } from '../../src/keys/types';

const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
/** Any UTF-16, lone surrogates included: a sheet cell can hold them and a name must come back exactly. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const anyText = fc.oneof(fc.string({ unit: codeUnit, maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 30 }));
const scope = fc.stringMatching(/^[a-z:._-]{1,12}$/);
const range = fc.stringMatching(/^[0-9a-f:.]{1,39}(\/\d{1,3})?$/);
const date = fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined });

function record(hash: string, fields: Partial<KeyRecord> = {}): KeyRecord {
  return {
    hash,
    keyId: keyIdOf(hash),
    preview: 'sk-con…0000',
    clientName: 'Acme',
    createdAt: undefined,
    expiresAt: undefined,
    active: true,
    rateLimit: 60,
    scopes: [],
    allowedIps: [],
    row: 2,
    usageCount: 0,
    quota: undefined,
    quotaUsed: 0,
    quotaPeriod: '',
    ...fields,
  };
}

const anyRecord = (hash: string): fc.Arbitrary<KeyRecord> =>
  fc
    .record({
      preview: anyText,
      clientName: anyText,
      createdAt: date,
      expiresAt: date,
      active: fc.boolean(),
      rateLimit: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      scopes: fc.uniqueArray(scope, { maxLength: 4 }),
      allowedIps: fc.uniqueArray(range, { maxLength: 3 }),
      row: fc.integer({ min: 2, max: 10_000_000 }),
      usageCount: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      quota: fc.option(
        fc.record({
          limit: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
          period: fc.constantFrom(...QUOTA_PERIODS),
        }),
        { nil: undefined },
      ),
      quotaUsed: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      quotaPeriod: anyText,
    })
    .map((fields) => record(hash, fields));

const records = fc
  .uniqueArray(hex, { minLength: 0, maxLength: 60 })
  .chain((hashes) => fc.tuple(...hashes.map(anyRecord)))
  .chain((list) =>
    fc.tuple(fc.constant(list), fc.array(fc.boolean(), { minLength: list.length, maxLength: list.length })),
  );

describe('KeyTable (flat storage of the snapshot keys)', () => {
  it('gives back every record it was given, field for field, in order, minus the dropped ones, however it grew', () => {
    fc.assert(
      fc.property(records, fc.integer({ min: 1, max: 70 }), ([list, dropped], expected) => {
        const builder = new KeyTableBuilder(expected);
        for (const r of list) {
          expect(builder.indexOf(r.hash)).toBe(-1);
          const index = builder.add(r);
          expect(builder.indexOf(r.hash)).toBe(index);
          expect(builder.rowAt(index)).toBe(r.row);
        }
        list.forEach((r, i) => {
          if (dropped[i] === true) {
            builder.drop(builder.indexOf(r.hash));
          }
        });
        const table = builder.finish();
        const kept = list.filter((_, i) => dropped[i] !== true);
        expect(table.size).toBe(kept.length);
        expect([...table.values()]).toEqual(kept);
        expect([...table.keys()]).toEqual(kept.map((r) => r.hash));
        expect([...table]).toEqual(kept.map((r) => [r.hash, r]));
        list.forEach((r, i) => {
          expect(table.get(r.hash)).toEqual(dropped[i] === true ? undefined : r);
          expect(table.has(r.hash)).toBe(dropped[i] !== true);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('finds keys whose hashes land on the same slot (first 32 bits equal), and not a near miss', () => {
    const prefix = 'deadbeef';
    const hashes = Array.from({ length: 40 }, (_, n) => `${prefix}${n.toString(16).padStart(56, '0')}`);
    const builder = new KeyTableBuilder(hashes.length);
    hashes.forEach((h, n) => builder.add(record(h, { row: n + 2 })));
    const table = builder.finish();
    hashes.forEach((h, n) => {
      expect(table.get(h)?.row).toBe(n + 2);
    });
    expect(table.get(`${prefix}${'f'.repeat(56)}`)).toBeUndefined();
    expect(table.get(`${prefix}1${'0'.repeat(55)}`)).toBeUndefined(); // same slot, differs in one word
  });

  it('holds 20,000 real key hashes, each found, none confused, from whatever first size it grew', () => {
    const hashes = Array.from({ length: 20_000 }, (_, n) => hashKey(`sk-${n}`));
    const builder = new KeyTableBuilder(3);
    hashes.forEach((h, n) => builder.add(record(h, { row: n + 2 })));
    const table = builder.finish();
    expect(hashes.every((h, n) => table.get(h)?.row === n + 2)).toBe(true);
    expect(table.get(hashKey('sk-20000'))).toBeUndefined();
  });

  it('answers undefined, never throws, for anything that is not a 64-hex-digit hash', () => {
    const builder = new KeyTableBuilder(1);
    const h = hashKey('sk-a');
    builder.add(record(h));
    const table = builder.finish();
    for (const probe of [
      '',
      'abc',
      h.slice(0, 63),
      `${h}0`,
      `${h.slice(0, 63)}g`,
      'z'.repeat(64),
      `\u0000${h.slice(1)}`,
    ]) {
      expect(table.get(probe)).toBeUndefined();
      expect(table.has(probe)).toBe(false);
    }
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: codeUnit, maxLength: 80 }), hex), (probe) => {
        expect(table.get(probe) === undefined || probe.toLowerCase() === h).toBe(true);
      }),
    );
  });

  it('makes a record once and hands out the same frozen object', () => {
    const builder = new KeyTableBuilder(1);
    const h = hashKey('sk-a');
    builder.add(record(h, { scopes: ['read', 'write'] }));
    const table = builder.finish();
    const first = table.get(h);
    expect(first).toBe(table.get(h));
    expect(first).toBe([...table.values()][0]);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first?.scopes)).toBe(true);
    expect(first?.scopes).toEqual(['read', 'write']);
  });

  it('finds the same record however it was first made (lookup, iteration, upper-case hex), and a dropped key never', () => {
    const hashes = Array.from({ length: 50 }, (_, n) => hashKey(`sk-${n}`));
    const builder = new KeyTableBuilder(4);
    hashes.forEach((h, n) => builder.add(record(h, { row: n + 2 })));
    builder.drop(7);
    const table = builder.finish();
    const dropped = hashes[7] ?? '';
    expect(table.get(dropped)).toBeUndefined();
    const byLookup = hashes.slice(0, 25).map((h) => table.get(h));
    const byIteration = [...table.values()];
    expect(byIteration.map((r) => r.row)).toEqual(hashes.map((_, n) => n + 2).filter((row) => row !== 9));
    hashes.forEach((h, n) => {
      const found = table.get(h);
      expect(found === undefined ? undefined : found.row).toBe(n === 7 ? undefined : n + 2);
      expect(table.get(h.toUpperCase())).toBe(found);
      expect(found).toBe(byIteration.find((r) => r.hash === h));
      if (n < 25) {
        expect(found).toBe(byLookup[n]);
      }
    });
    expect(table.get(dropped)).toBeUndefined();
    expect(table.has(dropped)).toBe(false);
  });

  it('grows its text storage for long names', () => {
    const builder = new KeyTableBuilder(2);
    const long = '€😀\ud800'.repeat(2_000);
    builder.add(record(hashKey('sk-a'), { clientName: long }));
    builder.add(record(hashKey('sk-b'), { clientName: 'b', preview: long }));
    const table = builder.finish();
    expect(table.get(hashKey('sk-a'))?.clientName).toBe(long);
    expect(table.get(hashKey('sk-b'))).toMatchObject({ clientName: 'b', preview: long });
  });

  it('refuses what would corrupt it: a hash already present, a malformed hash, a scope with a space, a late add or drop', () => {
    const builder = new KeyTableBuilder(2);
    builder.add(record(hashKey('sk-a')));
    expect(() => builder.add(record(hashKey('sk-a')))).toThrow(RangeError);
    expect(() => builder.add(record('not-a-hash'))).toThrow(RangeError);
    expect(() => builder.add(record(hashKey('sk-c'), { scopes: ['a b'] }))).toThrow(RangeError);
    expect(() => builder.add(record(hashKey('sk-c'), { scopes: [''] }))).toThrow(RangeError);
    expect(() => builder.add(record(hashKey('sk-c'), { allowedIps: ['10.0.0.1 10.0.0.2'] }))).toThrow(RangeError);
    expect(() => builder.add(record(hashKey('sk-c'), { allowedIps: [''] }))).toThrow(RangeError);
    const table = builder.finish();
    expect(() => builder.add(record(hashKey('sk-e')))).toThrow(RangeError);
    expect(() => builder.drop(0)).toThrow(RangeError); // the finished table shares the columns
    expect(table.has(hashKey('sk-a'))).toBe(true);
  });

  it('counts a dropped record once however often it is dropped, and ignores an index that is not one', () => {
    const builder = new KeyTableBuilder(2);
    const a = builder.add(record(hashKey('sk-a')));
    builder.add(record(hashKey('sk-b')));
    builder.drop(a);
    builder.drop(a);
    builder.drop(-1);
    builder.drop(7);
    const table = builder.finish();
    expect(table.size).toBe(1);
    expect([...table.keys()]).toEqual([hashKey('sk-b')]);
  });

  it('tallies keys with an allowlist and active keys expiring within the window, dropped ones left out', () => {
    const now = Date.UTC(2026, 0, 1);
    const day = 86_400_000;
    const builder = new KeyTableBuilder(2);
    builder.add(record(hashKey('sk-a'), { allowedIps: ['10.0.0.0/8'], expiresAt: now + 7 * day }));
    builder.add(record(hashKey('sk-b'), { expiresAt: now + day }));
    builder.add(record(hashKey('sk-c'), { expiresAt: now + day, active: false })); // inactive: no warning due
    builder.add(record(hashKey('sk-d'), { allowedIps: ['::1'], expiresAt: now + 7 * day + 1 }));
    builder.add(record(hashKey('sk-e'), { expiresAt: now })); // already expired
    const dropped = builder.add(record(hashKey('sk-f'), { allowedIps: ['::1'], expiresAt: now + day }));
    builder.drop(dropped);
    const table = builder.finish();
    expect(table.tally(now, 7 * day)).toEqual({ withAllowedIps: 2, expiringSoon: 2 });
    expect(emptyKeyTable().tally(now, 7 * day)).toEqual({ withAllowedIps: 0, expiringSoon: 0 });
  });

  it('is read-only: frozen, with no mutators; the empty table has nothing', () => {
    const table = emptyKeyTable();
    expect(Object.isFrozen(table)).toBe(true);
    expect((table as unknown as Record<string, unknown>)['set']).toBeUndefined();
    expect(table.size).toBe(0);
    expect([...table]).toEqual([]);
    const seen: string[] = [];
    table.forEach((_, hash) => seen.push(hash));
    expect(seen).toEqual([]);
  });
});
