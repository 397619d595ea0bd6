import { epochToSerial, formatInZone, isValidTimeZone, serialToEpoch, wallToEpoch } from '../../src/keys/dates';
import { parseDateCell } from '../../src/keys/date-cell';

const DAY_MS = 86_400_000;
/** The serial of a wall-clock time, by plain UTC arithmetic (an oracle independent of the zone code). */
const serialOf = (wall: string): number => (Date.parse(`${wall.replace(' ', 'T')}Z`) - Date.UTC(1899, 11, 30)) / DAY_MS;
const utc = (iso: string): number => Date.parse(iso);
const ZONES = [
  'Europe/Paris',
  'America/New_York',
  'Asia/Kolkata',
  'Etc/UTC',
  'Australia/Sydney',
  'Australia/Lord_Howe',
];

describe('serialToEpoch: a serial is wall clock in the spreadsheet zone', () => {
  it.each([
    ['Etc/UTC', '2025-12-31 23:59:59', '2025-12-31T23:59:59Z', ''],
    ['Asia/Kolkata', '2025-12-31 12:00', '2025-12-31T06:30:00Z', '+05:30, no DST'],
    ['Asia/Kolkata', '2025-06-30 00:00', '2025-06-29T18:30:00Z', ''],
    ['Europe/Paris', '2025-12-31 12:00', '2025-12-31T11:00:00Z', 'winter +01'],
    ['Europe/Paris', '2025-07-15 12:00', '2025-07-15T10:00:00Z', 'summer +02'],
    ['Europe/Paris', '2025-03-30 01:30', '2025-03-30T00:30:00Z', 'before spring-forward'],
    ['Europe/Paris', '2025-03-30 02:30', '2025-03-30T01:30:00Z', 'in the gap: read as 03:30 CEST'],
    ['Europe/Paris', '2025-03-30 03:30', '2025-03-30T01:30:00Z', 'after spring-forward'],
    ['Europe/Paris', '2025-10-26 01:30', '2025-10-25T23:30:00Z', 'before fall-back'],
    ['Europe/Paris', '2025-10-26 02:30', '2025-10-26T00:30:00Z', 'repeated hour: the first 02:30 (CEST)'],
    ['Europe/Paris', '2025-10-26 03:30', '2025-10-26T02:30:00Z', 'after fall-back'],
    ['America/New_York', '2025-12-31 12:00', '2025-12-31T17:00:00Z', 'EST'],
    ['America/New_York', '2025-03-09 01:30', '2025-03-09T06:30:00Z', 'before spring-forward'],
    ['America/New_York', '2025-03-09 02:30', '2025-03-09T07:30:00Z', 'in the gap: read as 03:30 EDT'],
    ['America/New_York', '2025-11-02 01:30', '2025-11-02T05:30:00Z', 'repeated hour: the first 01:30 (EDT)'],
    ['America/New_York', '2025-11-02 02:30', '2025-11-02T07:30:00Z', 'after fall-back'],
    ['Australia/Sydney', '2025-10-05 02:30', '2025-10-04T16:30:00Z', 'southern spring-forward gap'],
    ['Australia/Lord_Howe', '2025-10-05 02:15', '2025-10-04T15:45:00Z', '30-minute DST gap'],
    ['Australia/Lord_Howe', '2025-04-06 01:45', '2025-04-05T14:45:00Z', '30-minute repeated: the first'],
  ])('%s %s → %s %s', (zone, wall, expected) => {
    expect(serialToEpoch(serialOf(wall), zone)).toBe(utc(expected));
  });

  it('keeps the time of day to the millisecond', () => {
    expect(serialToEpoch(serialOf('2025-12-31 23:59:59.999'), 'Europe/Paris')).toBe(utc('2025-12-31T22:59:59.999Z'));
  });
});

describe('epochToSerial and formatInZone: the inverse', () => {
  it.each(ZONES)('%s: epoch → serial → epoch round-trips every 37 minutes of 2025', (zone) => {
    for (let ms = utc('2025-01-01T00:00:13Z'); ms < utc('2026-01-01T00:00:00Z'); ms += 37 * 60_000) {
      const back = serialToEpoch(epochToSerial(ms, zone), zone);
      // Only the second pass through a repeated hour comes back as the first one: same wall clock, earlier.
      if (back !== ms) {
        expect(back).toBeLessThan(ms);
        expect(formatInZone(back, zone)).toBe(formatInZone(ms, zone));
      }
    }
  });

  it.each(ZONES)('%s: formatInZone agrees with Intl across 1900–2100', (zone) => {
    const intl = new Intl.DateTimeFormat('sv-SE', {
      timeZone: zone,
      ...{ year: 'numeric', month: '2-digit', day: '2-digit' },
      ...{ hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' },
    });
    for (let ms = utc('1900-01-01T00:00:00Z'); ms < utc('2100-01-01T00:00:00Z'); ms += 7_919 * 60_000 + 17) {
      expect(formatInZone(ms, zone)).toBe(intl.format(ms));
    }
  });

  it.each([
    ['Europe/Paris', '2025-12-31T22:59:59.999Z', '2025-12-31 23:59:59', '2025-12-31 23:59:59.999'],
    ['Europe/Paris', '2025-07-15T10:00:00Z', '2025-07-15 12:00:00', '2025-07-15 12:00'],
    ['America/New_York', '2026-01-01T04:59:59Z', '2025-12-31 23:59:59', '2025-12-31 23:59:59'],
    ['Asia/Kolkata', '2025-12-31T18:30:00Z', '2026-01-01 00:00:00', '2026-01-01 00:00'],
    ['Etc/UTC', '2025-12-31T23:59:59Z', '2025-12-31 23:59:59', '2025-12-31 23:59:59'],
  ])('%s %s is %s there', (zone, iso, text, wall) => {
    expect(formatInZone(utc(iso), zone)).toBe(text);
    expect(epochToSerial(utc(iso), zone)).toBeCloseTo(serialOf(wall), 9);
  });
});

describe('wallToEpoch', () => {
  it('moves a time in a gap forward, and takes the earlier of a repeated time', () => {
    expect(wallToEpoch(utc('2025-03-30T02:00:00Z'), 'Europe/Paris')).toBe(utc('2025-03-30T01:00:00Z'));
    expect(wallToEpoch(utc('2025-10-26T02:00:00Z'), 'Europe/Paris')).toBe(utc('2025-10-26T00:00:00Z'));
  });
});

describe('isValidTimeZone', () => {
  it.each([
    ['Europe/Paris', true],
    ['Etc/UTC', true],
    ['UTC', true],
    ['europe/paris', true],
    ['Mars/Olympus', false],
    ['', false],
    ['+01:00', false],
  ])('%p → %p', (zone, valid) => {
    expect(isValidTimeZone(zone)).toBe(valid);
  });

  it('the date functions throw RangeError for an unknown zone', () => {
    expect(() => serialToEpoch(46022, 'Mars/Olympus')).toThrow(RangeError);
    expect(() => parseDateCell('2025-12-31', 'Mars/Olympus')).toThrow(RangeError);
  });
});

describe('parseDateCell (sheet zone Europe/Paris)', () => {
  const paris = 'Europe/Paris';

  it.each([
    ['empty', '', undefined],
    ['whitespace', '   ', undefined],
    ['serial (UNFORMATTED_VALUE)', serialOf('2025-12-31 00:00'), '2025-12-30T23:00:00Z'],
    ['serial with a time', serialOf('2025-12-31 12:00'), '2025-12-31T11:00:00Z'],
    ['bare date: start of day', '2025-12-31', '2025-12-30T23:00:00Z'],
    ['slashes', '2025/12/31', '2025-12-30T23:00:00Z'],
    ['single digits', '2025-1-5', '2025-01-04T23:00:00Z'],
    ['surrounding spaces', '  2025-12-31  ', '2025-12-30T23:00:00Z'],
    ['date and seconds', '2025-12-31 23:59:59', '2025-12-31T22:59:59Z'],
    ['date and minutes', '2025-12-31 23:59', '2025-12-31T22:59:00Z'],
    ['T separator', '2025-12-31T23:59', '2025-12-31T22:59:00Z'],
    ['fraction of a second', '2025-12-31T23:59:59.250', '2025-12-31T22:59:59.250Z'],
    ['summer time', '2025-07-15 12:00', '2025-07-15T10:00:00Z'],
    ['spring-forward gap', '2025-03-30 02:30', '2025-03-30T01:30:00Z'],
    ['fall-back repeat', '2025-10-26 02:30', '2025-10-26T00:30:00Z'],
    ['US', '12/31/2025', '2025-12-30T23:00:00Z'],
    ['US with time', '12/31/2025 23:59:59', '2025-12-31T22:59:59Z'],
    ['US with PM', '12/31/2025 11:59 PM', '2025-12-31T22:59:00Z'],
    ['US 12 AM', '12/31/2025 12:00 am', '2025-12-30T23:00:00Z'],
    ['US, day > 12', '1/13/2026', '2026-01-12T23:00:00Z'],
    ['US, same either way', '04/04/2026', '2026-04-03T22:00:00Z'],
    ['ISO Z honoured', '2025-12-31T23:59:59Z', '2025-12-31T23:59:59Z'],
    ['ISO lower-case z', '2025-12-31t23:59:59z', '2025-12-31T23:59:59Z'],
    ['UTC suffix', '2025-12-31 23:59:59 UTC', '2025-12-31T23:59:59Z'],
    ['offset honoured', '2025-12-31T23:59:59+05:30', '2025-12-31T18:29:59Z'],
    ['offset without colon', '2025-12-31T23:59:59-0500', '2026-01-01T04:59:59Z'],
    ['offset hours only', '2025-12-31 23:59:59 +01', '2025-12-31T22:59:59Z'],
    ['microseconds truncated', '2025-12-31T23:59:59.123456Z', '2025-12-31T23:59:59.123Z'],
  ])('%s: %p', (_name, cell, expected) => {
    expect(parseDateCell(cell, paris)).toEqual({ ok: true, ms: expected === undefined ? undefined : utc(expected) });
  });

  it.each([
    ['bare date', '2025-12-31', '2025-12-31T22:59:59.999Z'],
    ['slashes', '2025/12/31', '2025-12-31T22:59:59.999Z'],
    ['US', '12/31/2025', '2025-12-31T22:59:59.999Z'],
    ['whole serial (a date cell)', serialOf('2025-12-31 00:00'), '2025-12-31T22:59:59.999Z'],
    ['serial with a time is exact', serialOf('2025-12-31 12:00'), '2025-12-31T11:00:00Z'],
    ['text with a time is exact', '2025-12-31 00:00', '2025-12-30T23:00:00Z'],
    ['offset is exact', '2025-12-31T23:59:59Z', '2025-12-31T23:59:59Z'],
    ['day before spring-forward', '2025-03-29', '2025-03-29T22:59:59.999Z'],
    ['spring-forward day (23 h)', '2025-03-30', '2025-03-30T21:59:59.999Z'],
    ['fall-back day (25 h)', '2025-10-26', '2025-10-26T22:59:59.999Z'],
  ])('endOfDay: %s %p lasts through the day', (_name, cell, expected) => {
    expect(parseDateCell(cell, paris, { endOfDay: true })).toEqual({ ok: true, ms: utc(expected) });
  });

  it('endOfDay where the next midnight does not exist (Santiago springs forward at 24:00)', () => {
    const end = parseDateCell('2025-09-06', 'America/Santiago', { endOfDay: true });
    expect(end).toEqual({ ok: true, ms: utc('2025-09-07T03:59:59.999Z') });
  });

  it.each([
    ['impossible day', '2025-02-30'],
    ['not a leap year', '2025-02-29'],
    ['month 13', '2025-13-01'],
    ['month 0', '2025-00-10'],
    ['day 32', '2025-12-32'],
    ['hour 24', '2025-12-31 24:00'],
    ['minute 60', '2025-12-31 23:60'],
    ['leap second', '2025-12-31 23:59:60'],
    ['day-first', '31/12/2025'],
    ['day-first, day 13', '13/01/2026'],
    ['ambiguous month/day', '03/04/2025'],
    ['two-digit year', '12/31/25'],
    ['PM hour 13', '12/31/2025 13:00 PM'],
    ['AM hour 0', '12/31/2025 0:30 AM'],
    ['offset hour 24', '2025-12-31T23:59:59+24:00'],
    ['offset minute 60', '2025-12-31T23:59:59+05:60'],
    ['zone without a time', '2025-12-31Z'],
    ['mixed separators', '2025-12/31'],
    ['dots', '31.12.2025'],
    ['no separators', '20251231'],
    ['trailing T', '2025-12-31T'],
    ['words', 'Dec 31, 2025'],
    ['relative', 'tomorrow'],
    ['placeholder', 'n/a'],
    ['before 1900', '1899-12-31'],
    ['five-digit year', '10000-01-01'],
    ['TRUE cell', true],
    ['FALSE cell', false],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['serial before 1900', -1],
    ['serial beyond 9999', 1e9],
  ])('refuses %s: %p', (_name, cell) => {
    expect(parseDateCell(cell, paris)).toEqual({ ok: false });
    expect(parseDateCell(cell, paris, { endOfDay: true })).toEqual({ ok: false });
  });

  it.each(ZONES)('reads the same text and serial alike in %s', (zone) => {
    const text = parseDateCell('2025-06-15 08:30', zone);
    expect(text).toEqual(parseDateCell(serialOf('2025-06-15 08:30'), zone));
    expect(text.ok && text.ms !== undefined && formatInZone(text.ms, zone)).toBe('2025-06-15 08:30:00');
  });
});
