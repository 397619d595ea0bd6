import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../../src/cli/context';
import { parseDuration } from '../../src/cli/duration';
import { generateKey } from '../../src/cli/new-key';
import { expiryText, parseExpires } from '../../src/cli/expires';
import { rangeStart } from '../../src/cli/tab';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0); // 2026-01-15 12:00:00Z

describe('generateKey (CSPRNG, sk-convergence-<uuid> convention)', () => {
  it('is sk-convergence- + a v4 UUID, and 1,000 keys are all different', () => {
    const keys = Array.from({ length: 1000 }, generateKey);
    for (const key of keys) {
      expect(key).toMatch(/^sk-convergence-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(new Set(keys).size).toBe(1000);
  });
});

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['1d12h', 129_600_000],
    [' 24H ', 86_400_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text, '--grace')).toBe(ms);
  });

  it.each(['', '24', 'h', '-1h', '1.5h', '24 h', 'tomorrow', '4000d'])('refuses %j', (text) => {
    expect(() => parseDuration(text, '--grace')).toThrow(UsageError);
  });
});

describe('parseExpires', () => {
  it('takes a duration from now, written as wall-clock text in the sheet zone', () => {
    expect(parseExpires('30d', 'Europe/Paris', NOW)).toEqual({
      at: NOW + 30 * 86_400_000,
      text: '2026-02-14 13:00:00',
    });
  });

  it('reads a date as the service does: valid through the end of that day in the sheet zone; writes it as typed', () => {
    expect(parseExpires('2026-12-31', 'Asia/Tokyo', NOW)).toEqual({
      at: Date.UTC(2026, 11, 31, 15, 0, 0) - 1,
      text: '2026-12-31',
    });
    expect(parseExpires('12/31/2026', 'Asia/Tokyo', NOW).text).toBe('2026-12-31');
  });

  it('writes an end-of-day instant back as a bare date, anything else as wall-clock time', () => {
    expect(expiryText(Date.UTC(2026, 11, 31, 15, 0, 0) - 1, 'Asia/Tokyo')).toBe('2026-12-31');
    expect(expiryText(Date.UTC(2026, 11, 31, 15, 0, 0) - 1000, 'Asia/Tokyo')).toBe('2026-12-31 23:59:59');
    expect(expiryText(Date.UTC(2026, 11, 31, 15, 0, 0), 'Asia/Tokyo')).toBe('2027-01-01 00:00:00');
  });

  it('reads a wall-clock time in the sheet zone', () => {
    expect(parseExpires('2026-06-01 18:30', 'Europe/Paris', NOW)).toEqual({
      at: Date.UTC(2026, 5, 1, 16, 30, 0),
      text: '2026-06-01 18:30:00',
    });
  });

  it('honours an ISO instant with an offset and converts it to the sheet zone', () => {
    expect(parseExpires('2026-06-01T16:30:00Z', 'America/New_York', NOW)).toEqual({
      at: Date.UTC(2026, 5, 1, 16, 30, 0),
      text: '2026-06-01 12:30:00',
    });
  });

  it.each(['', '2026-02-30', '2026-13-01', '31/12/2026', 'never', '2026-06-01 25:00', '2025-01-01', '0', 'TRUE'])(
    'refuses %j (not a date, or not in the future)',
    (text) => {
      expect(() => parseExpires(text, 'Etc/UTC', NOW)).toThrow(UsageError);
    },
  );
});

describe('rangeStart', () => {
  it.each([
    ["'API_Keys'!A12:H12", { column: 'A', row: 12 }],
    ["'It''s!tab'!B7:C7", { column: 'B', row: 7 }],
    ['Sheet1!AA3', { column: 'AA', row: 3 }],
    ['Sheet1', undefined],
    [undefined, undefined],
  ])('%j starts at %j', (range, start) => {
    expect(rangeStart(range)).toEqual(start);
  });
});
