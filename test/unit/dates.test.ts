import { epochToSerial, formatInZone, isValidTimeZone, parseDateCell, serialToEpoch } from '../../src/keys/dates';

describe('serial dates in the spreadsheet time zone', () => {
  it.each([
    // serial 46022 = 2025-12-31; 0.5 = noon.
    ['Etc/UTC', 46022.5, Date.UTC(2025, 11, 31, 12)],
    ['Europe/Paris', 46022.5, Date.UTC(2025, 11, 31, 11)], // winter: UTC+1
    ['Europe/Paris', 45853.5, Date.UTC(2025, 6, 15, 10)], // 2025-07-15 summer: UTC+2
    ['America/New_York', 46022.5, Date.UTC(2025, 11, 31, 17)],
    ['Asia/Kolkata', 46022.5, Date.UTC(2025, 11, 31, 6, 30)],
    ['Europe/Paris', 45746 + 3.5 / 24, Date.UTC(2025, 2, 30, 1, 30)], // 2025-03-30 03:30 CEST, just after spring-forward
    ['Europe/Paris', 45956 + 1.5 / 24, Date.UTC(2025, 9, 25, 23, 30)], // 2025-10-26 01:30 CEST, before fall-back
    ['Europe/Paris', 45956 + 3.5 / 24, Date.UTC(2025, 9, 26, 2, 30)], // 2025-10-26 03:30 CET, after fall-back
  ])('%s serial %d', (zone, serial, expected) => {
    expect(serialToEpoch(serial, zone)).toBe(expected);
    expect(epochToSerial(expected, zone)).toBeCloseTo(serial, 8);
  });

  it('round-trips epoch → serial → epoch across a year in several zones', () => {
    for (const zone of ['Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Australia/Sydney', 'Etc/UTC']) {
      for (let day = 0; day < 365; day += 7) {
        const ms = Date.UTC(2025, 0, 1) + day * 86_400_000 + 13 * 3_600_000;
        expect(serialToEpoch(epochToSerial(ms, zone), zone)).toBe(ms);
      }
    }
  });

  it('formats wall clock in the zone', () => {
    expect(formatInZone(Date.UTC(2025, 11, 31, 22, 59, 59), 'Europe/Paris')).toBe('2025-12-31 23:59:59');
  });

  it('validates zones', () => {
    expect(isValidTimeZone('Europe/Paris')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
  });
});

describe('parseDateCell', () => {
  const paris = 'Europe/Paris';
  it.each([
    ['empty', '', undefined],
    ['spaces', '   ', undefined],
    ['date + time', '2025-12-31 23:59:59', Date.UTC(2025, 11, 31, 22, 59, 59)],
    ['date + minutes', '2025-12-31 23:59', Date.UTC(2025, 11, 31, 22, 59)],
    ['T separator', '2025-12-31T23:59:59', Date.UTC(2025, 11, 31, 22, 59, 59)],
    ['bare date = midnight', '2025-12-31', Date.UTC(2025, 11, 30, 23)],
    ['slashes', '2025/12/31', Date.UTC(2025, 11, 30, 23)],
    ['US format', '12/31/2025', Date.UTC(2025, 11, 30, 23)],
    ['ISO Z honoured', '2025-12-31T23:59:59Z', Date.UTC(2025, 11, 31, 23, 59, 59)],
    ['ISO offset honoured', '2025-12-31T23:59:59+05:30', Date.UTC(2025, 11, 31, 18, 29, 59)],
    ['ISO offset no colon', '2025-12-31T23:59:59-0500', Date.UTC(2026, 0, 1, 4, 59, 59)],
    ['serial', 46022.5, Date.UTC(2025, 11, 31, 11)],
  ])('%s', (_name, cell, expected) => {
    expect(parseDateCell(cell, paris)).toEqual({ ok: true, ms: expected });
  });

  it.each([
    ['bare date', '2025-12-31', Date.UTC(2025, 11, 31, 23) - 1],
    ['bare serial', 46022, Date.UTC(2025, 11, 31, 23) - 1],
    ['date with time is exact', '2025-12-31 12:00', Date.UTC(2025, 11, 31, 11)],
  ])('endOfDay: %s lasts through the day', (_name, cell, expected) => {
    expect(parseDateCell(cell, paris, { endOfDay: true })).toEqual({ ok: true, ms: expected });
  });

  it.each([['2025-02-30'], ['31/12/2025'], ['tomorrow'], ['2025-12-31 25:00'], ['2025-13-01'], [true], [NaN]])(
    'refuses %p',
    (cell) => {
      expect(parseDateCell(cell, paris)).toEqual({ ok: false });
    },
  );
});
