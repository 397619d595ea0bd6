/**
 * Sheets dates ↔ epoch milliseconds in the spreadsheet's time zone (DESIGN §1). Pure: Intl only, no I/O.
 * A date serial is days since 1899-12-30, fraction = time of day, wall clock in the spreadsheet's zone.
 */
import type { CellValue } from './types';

const DAY_MS = 86_400_000;
/** Epoch ms of serial 0 (1899-12-30T00:00 as if UTC). */
const SERIAL_EPOCH_UTC = Date.UTC(1899, 11, 30);

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True for a zone Intl knows (`Europe/Paris`, `Etc/UTC`, ...). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Wall clock of `ms` in `timeZone`, as if it were UTC (ms precision kept). */
function wallClock(ms: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(ms)) {
    if (p.type !== 'literal') {
      parts[p.type] = Number(p.value);
    }
  }
  const seconds = Date.UTC(
    parts['year'] ?? 1970,
    (parts['month'] ?? 1) - 1,
    parts['day'] ?? 1,
    parts['hour'] ?? 0,
    parts['minute'] ?? 0,
    parts['second'] ?? 0,
  );
  return seconds + (((ms % 1000) + 1000) % 1000);
}

/** Offset of `timeZone` at instant `ms` (wall − UTC), in ms. */
function offsetAt(ms: number, timeZone: string): number {
  return wallClock(ms, timeZone) - ms;
}

/**
 * Epoch ms of a wall-clock time (given as if UTC) in `timeZone`. Across a DST gap the later offset wins (02:30 on a
 * spring-forward day → 03:30); in an overlap the earlier instant is taken.
 */
export function wallToEpoch(wallAsUtc: number, timeZone: string): number {
  const first = wallAsUtc - offsetAt(wallAsUtc, timeZone);
  const second = wallAsUtc - offsetAt(first, timeZone);
  if (first === second) {
    return first;
  }
  // Offsets disagree: a DST transition is near. Prefer the candidate whose wall clock matches.
  const candidates = [Math.min(first, second), Math.max(first, second)];
  return candidates.find((c) => wallClock(c, timeZone) === wallAsUtc) ?? Math.max(first, second);
}

/** A Sheets date serial (wall clock in `timeZone`) → epoch ms. */
export function serialToEpoch(serial: number, timeZone: string): number {
  return wallToEpoch(Math.round(SERIAL_EPOCH_UTC + serial * DAY_MS), timeZone);
}

/** Epoch ms → a Sheets date serial in `timeZone` (for writing real date cells). */
export function epochToSerial(ms: number, timeZone: string): number {
  return (wallClock(ms, timeZone) - SERIAL_EPOCH_UTC) / DAY_MS;
}

/** `2025-12-31 23:59:59`, wall clock in `timeZone` (USER_ENTERED writes, CLI output). */
export function formatInZone(ms: number, timeZone: string): string {
  return new Date(wallClock(ms, timeZone)).toISOString().slice(0, 19).replace('T', ' ');
}

export interface DateOptions {
  /** A bare date (no time) means the end of that day (23:59:59.999): "expires 2025-12-31" = valid through that day. */
  readonly endOfDay?: boolean;
}

export type DateResult = { readonly ok: true; readonly ms: number | undefined } | { readonly ok: false };

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?\s*(Z|[+-]\d{2}:?\d{2})$/i;
const LOCAL = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const US = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

/** Wall clock as if UTC, or undefined for an impossible date (2025-02-30, 25:00). */
function wallFromParts(y: number, mo: number, d: number, h: number, mi: number, s: number): number | undefined {
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  const valid =
    back.getUTCFullYear() === y &&
    back.getUTCMonth() === mo - 1 &&
    back.getUTCDate() === d &&
    h < 24 &&
    mi < 60 &&
    s < 60;
  return valid ? t : undefined;
}

function parseText(text: string, timeZone: string, options: DateOptions): number | undefined {
  if (ISO_WITH_ZONE.test(text)) {
    const ms = Date.parse(text.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    return Number.isNaN(ms) ? undefined : ms;
  }
  const local = LOCAL.exec(text);
  const us = local === null ? US.exec(text) : null;
  const m = local ?? us;
  if (m === null) {
    return undefined;
  }
  const [y, mo, d] = local ? [m[1], m[2], m[3]] : [m[3], m[1], m[2]];
  const hasTime = m[4] !== undefined;
  const wall = wallFromParts(Number(y), Number(mo), Number(d), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  if (wall === undefined) {
    return undefined;
  }
  if (!hasTime && options.endOfDay === true) {
    return wallToEpoch(wall + DAY_MS, timeZone) - 1;
  }
  return wallToEpoch(wall, timeZone);
}

/**
 * Reads a date cell: empty → `{ ok: true, ms: undefined }`; a serial number (UNFORMATTED_VALUE) in the sheet's zone;
 * or text an admin typed — `2025-12-31`, `2025-12-31 23:59[:59]`, `2025-12-31T23:59:59`, `2025/12/31`, US `12/31/2025`
 * — in the sheet's zone, or ISO with `Z`/offset honoured as written. Anything else (booleans, `31/12/2025`,
 * `2025-02-30`) is `{ ok: false }`.
 */
export function parseDateCell(cell: CellValue, timeZone: string, options: DateOptions = {}): DateResult {
  if (typeof cell === 'number') {
    if (!Number.isFinite(cell)) {
      return { ok: false };
    }
    // A whole-number serial is a bare date: with endOfDay it lasts through that day.
    const serial = options.endOfDay === true && Number.isInteger(cell) ? cell + 1 : cell;
    const ms = serialToEpoch(serial, timeZone);
    return { ok: true, ms: serial === cell ? ms : ms - 1 };
  }
  if (typeof cell === 'boolean') {
    return { ok: false };
  }
  const text = cell.trim();
  if (text === '') {
    return { ok: true, ms: undefined };
  }
  const ms = parseText(text, timeZone, options);
  return ms === undefined ? { ok: false } : { ok: true, ms };
}
