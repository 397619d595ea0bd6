import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../../src/cli/context';
import { parseDuration } from '../../src/cli/duration';
import { parseExpires } from '../../src/cli/expires';
import { generateKey } from '../../src/cli/new-key';
import { columnLetter, firstRowOf } from '../../src/cli/tab';
import { formatInZone, wallClockToEpoch } from '../../src/cli/zone';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0); // 2026-01-15 12:00:00Z

describe('generateKey (CSPRNG, DESIGN §1 convention)', () => {
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

describe('zone helpers', () => {
  it.each([
    ['Etc/UTC', '2026-01-15 12:00:00'],
    ['Europe/Paris', '2026-01-15 13:00:00'],
    ['Asia/Tokyo', '2026-01-15 21:00:00'],
    ['America/New_York', '2026-01-15 07:00:00'],
  ])('formats in %s', (zone, text) => {
    expect(formatInZone(NOW, zone)).toBe(text);
  });

  it('round-trips wall-clock time across a year of hours, DST included', () => {
    for (const zone of ['Europe/Paris', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata']) {
      for (let t = NOW; t < NOW + 365 * 86_400_000; t += 3_600_000 * 7) {
        const text = formatInZone(t, zone);
        const [date = '', time = ''] = text.split(' ');
        const [year, month, day] = date.split('-').map(Number);
        const [hour, minute, second] = time.split(':').map(Number);
        const back = wallClockToEpoch(
          { year: year!, month: month!, day: day!, hour: hour!, minute: minute!, second: second! },
          zone,
        );
        expect(formatInZone(back, zone)).toBe(text);
      }
    }
  });
});

describe('parseExpires', () => {
  it('takes a duration from now, written as wall-clock text in the sheet zone', () => {
    expect(parseExpires('30d', 'Europe/Paris', NOW)).toEqual({
      at: NOW + 30 * 86_400_000,
      text: '2026-02-14 13:00:00',
    });
  });

  it('reads a date as midnight starting that day in the sheet zone, and writes the date as typed', () => {
    expect(parseExpires('2026-12-31', 'Asia/Tokyo', NOW)).toEqual({
      at: Date.UTC(2026, 11, 30, 15, 0, 0),
      text: '2026-12-31',
    });
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

  it.each(['2026-02-30', '2026-13-01', '31/12/2026', 'never', '2026-06-01 25:00', '2025-01-01', '0'])(
    'refuses %j (not a date, or not in the future)',
    (text) => {
      expect(() => parseExpires(text, 'Etc/UTC', NOW)).toThrow(UsageError);
    },
  );
});

describe('A1 helpers', () => {
  it.each([
    [0, 'A'],
    [25, 'Z'],
    [26, 'AA'],
    [701, 'ZZ'],
    [702, 'AAA'],
  ])('column %d is %s', (index, letters) => {
    expect(columnLetter(index)).toBe(letters);
  });

  it.each([
    ["'API_Keys'!A12:H12", 12],
    ["'It''s!tab'!B7:C7", 7],
    ['Sheet1!A3', 3],
    [undefined, undefined],
  ])('first row of %j is %j', (range, row) => {
    expect(firstRowOf(range)).toBe(row);
  });
});
