/**
 * Sheets dates ↔ epoch milliseconds in the spreadsheet's time zone. Pure: Intl only, no I/O.
 * A date serial is days since 1899-12-30, its fraction the time of day, as wall clock in the spreadsheet's zone.
 *
 * Intl is slow (microseconds a call), and a snapshot may hold 100,000 dates: zone offsets are memoised per zone and
 * UTC day, so a refresh costs one or two Intl calls per distinct day, not several per row. The memo is a cache of a
 * pure function (same input, same output), not state.
 */
import type { CellValue } from './types';

const DAY_MS = 86_400_000;
/** Epoch ms of serial 0 (1899-12-30T00:00 as if UTC). */
const SERIAL_EPOCH_UTC = Date.UTC(1899, 11, 30);
/** Wall clocks outside years 1900–9999 are typos, and beyond what `formatInZone` writes. */
const MIN_WALL = Date.UTC(1900, 0, 1);
const MAX_WALL = Date.UTC(10_000, 0, 1);
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

export interface DateOptions {
  /**
   * Whether a bare date (no time of day) means the end of that day, 23:59:59.999 in the zone, rather than its start.
   * For `expires_at`: an admin who types "2025-12-31" means "valid through that day". Defaults to `false`.
   */
  readonly endOfDay?: boolean;
}

/** `ms` undefined: the cell is empty. */
export type DateResult = { readonly ok: true; readonly ms: number | undefined } | { readonly ok: false };

const INVALID: DateResult = Object.freeze({ ok: false });
const EMPTY: DateResult = Object.freeze({ ok: true, ms: undefined });

/** `2025-12-31` or `2025/12/31`, then optionally `[T ]23:59[:59[.123]]` and a zone (`Z`, `UTC`, `+05:30`, `-0500`). */
const YMD =
  /^(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?: ?(Z|UTC|[+-]\d{2}(?::?\d{2})?))?)?$/i;
/** US `12/31/2025`, optionally ` 23:59[:59]` or ` 11:59[:59] PM`. */
const MDY = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?(?: ?([AP]M))?)?$/i;

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** 2025-02 → 28, 2024-02 → 29 (Gregorian leap years). */
function daysInMonth(y: number, mo: number): number {
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return (MONTH_DAYS[mo - 1] ?? 0) + (leap ? 1 : 0);
}

/** Wall clock as if UTC, or undefined for an impossible or implausible one (2025-02-30, 24:00, year 1899). */
function wall(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number | undefined {
  const real = mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo) && h < 24 && mi < 60 && s < 60;
  return real && y >= 1900 && y <= 9999 ? Date.UTC(y, mo - 1, d, h, mi, s, ms) : undefined;
}

/** `Z`/`UTC` → 0, `+05:30`/`+0530`/`+05` → ms east of UTC; undefined for `+24:00` and such. */
function zoneOffset(zone: string): number | undefined {
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (m === null) {
    return 0;
  }
  const h = Number(m[2]);
  const mi = Number(m[3] ?? 0);
  return h < 24 && mi < 60 ? (m[1] === '-' ? -1 : 1) * (h * 60 + mi) * 60_000 : undefined;
}

/** US 12-hour clock: `12 AM` → 0, `1 PM` → 13; an hour outside 1–12 with AM/PM → 24, which `wall` refuses. */
function hour24(h: number, meridiem: string | undefined): number {
  if (meridiem === undefined) {
    return h;
  }
  if (h < 1 || h > 12) {
    return 24;
  }
  return (h % 12) + (meridiem.toUpperCase() === 'PM' ? 12 : 0);
}

/** A field of a match, as a number (absent → 0). Indexed, not destructured: this runs once per date cell. */
function num(m: RegExpExecArray, i: number): number {
  const v = m[i];
  return v === undefined ? 0 : Number(v);
}

function parseText(text: string, timeZone: string, endOfDay: boolean): number | undefined {
  let t: number | undefined;
  let hasTime: boolean;
  let zone: string | undefined;
  const ymd = YMD.exec(text);
  if (ymd !== null) {
    const frac = ymd[8];
    const ms = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
    t = wall(num(ymd, 1), num(ymd, 3), num(ymd, 4), num(ymd, 5), num(ymd, 6), num(ymd, 7), ms);
    hasTime = ymd[5] !== undefined;
    zone = ymd[9];
  } else {
    const mdy = MDY.exec(text);
    if (mdy === null) {
      return undefined;
    }
    const mo = num(mdy, 1);
    const d = num(mdy, 2);
    // 03/04/2025 is March 4 in the US and 3 April elsewhere: refuse rather than guess (12/31 and 04/04 are fine).
    if (mo <= 12 && d <= 12 && mo !== d) {
      return undefined;
    }
    t = wall(num(mdy, 3), mo, d, hour24(num(mdy, 4), mdy[7]), num(mdy, 5), num(mdy, 6), 0);
    hasTime = mdy[4] !== undefined;
  }
  if (t === undefined) {
    return undefined;
  }
  if (zone !== undefined) {
    const offset = zoneOffset(zone.toUpperCase());
    return offset === undefined ? undefined : t - offset;
  }
  return !hasTime && endOfDay ? wallToEpoch(t + DAY_MS, timeZone) - 1 : wallToEpoch(t, timeZone);
}

/**
 * Reads a date cell as epoch ms:
 * - empty (or whitespace) → `{ ok: true, ms: undefined }`;
 * - a number is a date serial (UNFORMATTED_VALUE), wall clock in `timeZone`; a whole number is a bare date;
 * - text an admin typed, wall clock in `timeZone`: `2025-12-31`, `2025/12/31`, `2025-12-31 23:59[:59[.sss]]`,
 *   `2025-12-31T23:59`, US `12/31/2025 [11:59[:59] PM]`; or with `Z`, `UTC` or an offset (`+05:30`), honoured as
 *   written whatever the sheet's zone;
 * - anything else is `{ ok: false }`: booleans, impossible dates (`2025-02-30`, `24:00`), day-first `31/12/2025`,
 *   slash dates that read differently day-first (`03/04/2025`), years outside 1900–9999, other words.
 * A bare date is the start of that day, or its end (23:59:59.999) with `{ endOfDay: true }` (how `expires_at` reads a bare date).
 * Nonexistent wall times (DST gaps) move forward; repeated ones (overlaps) take the earlier instant.
 * @throws RangeError for a time zone Intl does not know (check `isValidTimeZone` first).
 */
export function parseDateCell(cell: CellValue, timeZone: string, options: DateOptions = {}): DateResult {
  const endOfDay = options.endOfDay === true;
  if (typeof cell === 'number') {
    const t = Math.round(SERIAL_EPOCH_UTC + cell * DAY_MS);
    if (!(t >= MIN_WALL && t < MAX_WALL)) {
      return INVALID;
    }
    // 2025-12-31 entered as a date cell is the serial 46022: with endOfDay it lasts until serial 46023.
    const ms = endOfDay && Number.isInteger(cell) ? wallToEpoch(t + DAY_MS, timeZone) - 1 : wallToEpoch(t, timeZone);
    return { ok: true, ms };
  }
  if (typeof cell === 'boolean') {
    return INVALID;
  }
  const text = cell.trim();
  if (text === '') {
    return EMPTY;
  }
  const ms = parseText(text, timeZone, endOfDay);
  return ms === undefined ? INVALID : { ok: true, ms };
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
