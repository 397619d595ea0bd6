/**
 * Sheets dates ↔ epoch milliseconds in the spreadsheet's time zone. Pure: Intl only, no I/O.
 * A date serial is days since 1899-12-30, its fraction the time of day, as wall clock in the spreadsheet's zone.
 *
 * Intl is slow (microseconds a call), and a snapshot may hold 100,000 dates: zone offsets are memoised per zone and
 * UTC day, so a refresh costs one or two Intl calls per distinct day, not several per row. The memo is a cache of a
 * pure function (same input, same output), not state.
 */
export const DAY_MS = 86_400_000;
/** Epoch ms of serial 0 (1899-12-30T00:00 as if UTC). */
export const SERIAL_EPOCH_UTC = Date.UTC(1899, 11, 30);
/** Wall clocks outside years 1900–9999 are typos, and beyond what `formatInZone` writes. */
export const MIN_WALL = Date.UTC(1900, 0, 1);
export const MAX_WALL = Date.UTC(10_000, 0, 1);
/** Bound on memoised days per zone: a long-running process only ever meets a few thousand. */
const MAX_DAYS = 100_000;

/** A zone's offsets over one UTC day: `before` until the instant `at`, `after` from it (`at` = Infinity: none). */
interface DayOffsets {
  readonly at: number;
  readonly before: number;
  readonly after: number;
}

interface ZoneMemo {
  readonly format: Intl.DateTimeFormat;
  readonly days: Map<number, DayOffsets>;
}

const memos = new Map<string, ZoneMemo>();

/** @throws RangeError for a zone Intl does not know. */
function memo(timeZone: string): ZoneMemo {
  let m = memos.get(timeZone);
  if (m === undefined) {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    m = { format, days: new Map() };
    memos.set(timeZone, m);
  }
  return m;
}

/**
 * ICU builds its time-zone tables on the first zone-aware format of the process (~20–40 ms, once; later zones cost
 * ~0.3 ms). Called while the service starts, so that this happens before it listens rather than inside the first
 * snapshot build, as a block of the event loop while `/health` is being answered.
 */
export function warmTimeZones(): void {
  isValidTimeZone('Etc/UTC');
}

/** True for a zone Intl knows (`Europe/Paris`, `Etc/UTC`, ...). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    memo(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Offset (wall − UTC, ms) at instant `ms`, straight from Intl. */
function intlOffset(ms: number, format: Intl.DateTimeFormat): number {
  const f: Partial<Record<Intl.DateTimeFormatPartTypes, number>> = {};
  for (const part of format.formatToParts(ms)) {
    f[part.type] = Number(part.value);
  }
  const wallSeconds = Date.UTC(
    f.year ?? 1970,
    (f.month ?? 1) - 1,
    f.day ?? 1,
    f.hour ?? 0,
    f.minute ?? 0,
    f.second ?? 0,
  );
  return wallSeconds - (ms - (((ms % 1000) + 1000) % 1000));
}

function dayOffsets(day: number, m: ZoneMemo): DayOffsets {
  const known = m.days.get(day);
  if (known !== undefined) {
    return known;
  }
  const start = day * DAY_MS;
  const before = intlOffset(start, m.format);
  let result: DayOffsets = { at: Infinity, before, after: before };
  if (intlOffset(start + DAY_MS - 1, m.format) !== before) {
    // A transition this day (tzdb transitions fall on whole seconds): bisect to its second, once per zone and day.
    let lo = 0;
    let hi = DAY_MS / 1000 - 1;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (intlOffset(start + mid * 1000, m.format) === before) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    const at = start + hi * 1000;
    result = { at, before, after: intlOffset(at, m.format) };
  }
  if (m.days.size >= MAX_DAYS) {
    m.days.clear();
  }
  m.days.set(day, result);
  return result;
}

/** Offset of the memo's zone at instant `ms` (wall − UTC), in ms. */
function offsetIn(m: ZoneMemo, ms: number): number {
  const d = dayOffsets(Math.floor(ms / DAY_MS), m);
  return ms < d.at ? d.before : d.after;
}

/** Offset of `timeZone` at instant `ms` (wall − UTC), in ms. @throws RangeError for an unknown zone. */
function offsetAt(ms: number, timeZone: string): number {
  return offsetIn(memo(timeZone), ms);
}

/**
 * Epoch ms of a wall-clock time (given as if UTC) in `timeZone`, disambiguated as Temporal's `compatible` does: in a
 * DST gap the clock is read with the offset before the gap (02:30 on a spring-forward day → 03:30 after it); in an
 * overlap the earlier instant is taken (02:30 on a fall-back day → the first 02:30).
 * @throws RangeError for an unknown zone.
 */
export function wallToEpoch(wallAsUtc: number, timeZone: string): number {
  const m = memo(timeZone);
  const before = offsetIn(m, wallAsUtc - DAY_MS);
  const after = offsetIn(m, wallAsUtc + DAY_MS);
  if (before === after) {
    return wallAsUtc - before;
  }
  const matching = [wallAsUtc - before, wallAsUtc - after].filter((c) => c + offsetIn(m, c) === wallAsUtc);
  return matching.length === 0 ? wallAsUtc - before : Math.min(...matching);
}

/**
 * A Sheets date serial (wall clock in `timeZone`) → epoch ms, rounded to the millisecond.
 * @throws RangeError for an unknown zone or a serial beyond what `Date` represents.
 */
export function serialToEpoch(serial: number, timeZone: string): number {
  return wallToEpoch(Math.round(SERIAL_EPOCH_UTC + serial * DAY_MS), timeZone);
}

/** Epoch ms → a Sheets date serial in `timeZone`, for writing real date cells. @throws RangeError as above. */
export function epochToSerial(ms: number, timeZone: string): number {
  return (ms + offsetAt(ms, timeZone) - SERIAL_EPOCH_UTC) / DAY_MS;
}

/**
 * `2025-12-31 23:59:59`: wall clock in `timeZone`, seconds truncated — the form `parseDateCell` reads back and
 * `USER_ENTERED` writes turn into a date. @throws RangeError for an unknown zone or an invalid `ms`.
 */
export function formatInZone(ms: number, timeZone: string): string {
  return new Date(ms + offsetAt(ms, timeZone)).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * The calendar day of instant `ms` in `timeZone`, as a whole number of days since 1970-01-01 (that day's wall
 * clock, not UTC): quotas and the usage history count per day of the spreadsheet. @throws RangeError as above.
 */
export function dayInZone(ms: number, timeZone: string): number {
  return Math.floor((ms + offsetAt(ms, timeZone)) / DAY_MS);
}

/** Epoch ms at which `day` (as {@link dayInZone} numbers it) starts in `timeZone`. @throws RangeError as above. */
export function dayStartInZone(day: number, timeZone: string): number {
  return wallToEpoch(day * DAY_MS, timeZone);
}

/** `2026-12-05` for a {@link dayInZone} day number. */
export function formatDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The Sheets date serial of a {@link dayInZone} day number: a whole number, a date cell without a time. */
export function daySerial(day: number): number {
  return day - SERIAL_EPOCH_UTC / DAY_MS;
}

/** The {@link dayInZone} day number of a date serial (its time of day dropped). */
export function serialDay(serial: number): number {
  return Math.floor(serial) + SERIAL_EPOCH_UTC / DAY_MS;
}
