/**
 * Sheets date serials: days since 1899-12-30 as a float, wall clock. A serial carries no time zone: the
 * spreadsheet's `properties.timeZone` says where that wall clock hangs, so nothing here converts zones.
 */

export type DateFormat = 'DATE' | 'DATE_TIME';

const EPOCH_MS = Date.UTC(1899, 11, 30);
const DAY_MS = 86_400_000;

const ISO = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const SLASHED_YMD = /^(\d{4})\/(\d{1,2})\/(\d{1,2})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
/** en_US order, the default locale of a new spreadsheet. */
const SLASHED_MDY = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

interface Parts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly time: readonly [number, number, number] | undefined;
}

function toParts(
  year: string,
  month: string,
  day: string,
  h: string | undefined,
  mi: string | undefined,
  s: string | undefined,
): Parts {
  const time = h === undefined ? undefined : ([Number(h), Number(mi ?? 0), Number(s ?? 0)] as const);
  return { year: Number(year), month: Number(month), day: Number(day), time };
}

function match(text: string): Parts | undefined {
  const iso = ISO.exec(text) ?? SLASHED_YMD.exec(text);
  if (iso !== null) {
    const [, y = '', m = '', d = '', h, mi, s] = iso;
    return toParts(y, m, d, h, mi, s);
  }
  const mdy = SLASHED_MDY.exec(text);
  if (mdy !== null) {
    const [, m = '', d = '', y = '', h, mi, s] = mdy;
    return toParts(y, m, d, h, mi, s);
  }
  return undefined;
}

/** Serial for a wall-clock date/time. */
export function toSerial(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  return (ms - EPOCH_MS) / DAY_MS;
}

/**
 * What Sheets' USER_ENTERED parsing makes of date text: `2025-12-31`, `2025-12-31 23:59:59`, `2025-12-31T23:59`,
 * `2025/12/31`, `12/31/2025` (en_US). Text with a zone (`Z`, `+02:00`) is not a date to Sheets: it stays text.
 */
export function parseDate(text: string): { serial: number; format: DateFormat } | undefined {
  const parts = match(text);
  if (parts === undefined) {
    return undefined;
  }
  const [hour, minute, second] = parts.time ?? [0, 0, 0];
  if (hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const check = new Date(Date.UTC(parts.year, parts.month - 1, parts.day));
  if (
    check.getUTCFullYear() !== parts.year ||
    check.getUTCMonth() !== parts.month - 1 ||
    check.getUTCDate() !== parts.day
  ) {
    return undefined; // 2025-02-30 and friends are text to Sheets
  }
  return {
    serial: toSerial(parts.year, parts.month, parts.day, hour, minute, second),
    format: parts.time === undefined ? 'DATE' : 'DATE_TIME',
  };
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** `2025-12-31` (DATE) or `2025-12-31 23:59:59` (DATE_TIME), rounded to the second. */
export function formatSerial(serial: number, format: DateFormat): string {
  const d = new Date(EPOCH_MS + Math.round(serial * 86_400) * 1000);
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  if (format === 'DATE') {
    return date;
  }
  return `${date} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
