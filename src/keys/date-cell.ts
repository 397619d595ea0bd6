/**
 * A date cell as an admin types it → epoch milliseconds in the spreadsheet's time zone. Pure: no I/O.
 * A number is a date serial; text is ISO-like (`2025-12-31`, `2025/12/31 23:59`, with `Z` or an offset honoured as
 * written) or US (`12/31/2025 11:59 PM`); anything else is refused, never guessed.
 */
import { DAY_MS, MAX_WALL, MIN_WALL, SERIAL_EPOCH_UTC, wallToEpoch } from './dates';
import type { CellValue } from './types';

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
