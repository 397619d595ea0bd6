import { UsageError } from './context';
import { isDuration, parseDuration } from './duration';
import { formatInZone, wallClockToEpoch } from './zone';

/** An expiry as the CLI writes it: the instant, and the `USER_ENTERED` text that means it in the sheet's zone. */
export interface Expiry {
  readonly at: number;
  readonly text: string;
}

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Parses `--expires`: a duration from now (`30d`, `12h`), a date (`2026-12-31`: midnight at the start of that day in
 * the sheet's zone, exactly what typing it into the cell means), a wall-clock time in the sheet's zone
 * (`2026-12-31 18:00`), or an instant with an offset (`2026-12-31T17:00:00Z`).
 * @throws UsageError when the text is none of these, not a real date, or not in the future.
 */
export function parseExpires(text: string, timeZone: string, now: number): Expiry {
  const t = text.trim();
  const expiry = parse(t, timeZone, now);
  if (expiry.at <= now) {
    throw new UsageError(
      `--expires ${JSON.stringify(text)} is not in the future (now ${formatInZone(now, timeZone)} ${timeZone})`,
    );
  }
  return expiry;
}

function parse(t: string, timeZone: string, now: number): Expiry {
  if (isDuration(t)) {
    const at = now + parseDuration(t, '--expires');
    return { at, text: formatInZone(at, timeZone) };
  }
  if (WITH_OFFSET.test(t)) {
    const at = Date.parse(t);
    if (Number.isFinite(at)) {
      return { at, text: formatInZone(at, timeZone) };
    }
  }
  const m = LOCAL.exec(t);
  if (m !== null) {
    const [year, month, day, hour, minute, second] = m.slice(1).map((v: string | undefined) => Number(v ?? 0));
    const wall = {
      year: year ?? 0,
      month: month ?? 0,
      day: day ?? 0,
      hour: hour ?? 0,
      minute: minute ?? 0,
      second: second ?? 0,
    };
    const check = new Date(Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second));
    const real =
      check.getUTCFullYear() === wall.year &&
      check.getUTCMonth() === wall.month - 1 &&
      check.getUTCDate() === wall.day &&
      wall.hour < 24 &&
      wall.minute < 60 &&
      wall.second < 60;
    if (real) {
      const at = wallClockToEpoch(wall, timeZone);
      return { at, text: m[4] === undefined ? t : formatInZone(at, timeZone) };
    }
  }
  throw new UsageError(
    `--expires ${JSON.stringify(t)}: expected a date (2026-12-31), a time in the sheet's zone (2026-12-31 18:00), ` +
      'an ISO instant with offset (2026-12-31T17:00:00Z) or a duration (30d, 12h)',
  );
}
