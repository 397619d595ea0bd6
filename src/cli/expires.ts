import { parseDateCell } from '../keys/date-cell';
import { formatInZone } from '../keys/dates';
import { UsageError } from './context';
import { isDuration, parseDuration } from './duration';

/** An expiry as the CLI writes it: the instant, and the `USER_ENTERED` text that means it in the sheet's zone. */
export interface Expiry {
  readonly at: number;
  readonly text: string;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The text to write for an expiry instant: a bare date when the instant is the end of a day in the zone (how the
 * service reads a bare date in `expires_at`), else wall-clock `YYYY-MM-DD HH:MM:SS`.
 */
export function expiryText(at: number, timeZone: string): string {
  const wall = formatInZone(at, timeZone);
  return wall.endsWith(' 23:59:59') && ((at % 1000) + 1000) % 1000 === 999 ? wall.slice(0, 10) : wall;
}

/**
 * Parses `--expires` exactly as the service reads an `expires_at` cell: a date (`2026-12-31`: valid
 * through the end of that day in the sheet's zone), a wall-clock time in the sheet's zone (`2026-12-31 18:00`), an
 * instant with an offset (`2026-12-31T17:00:00Z`), or a duration from now (`30d`, `12h`).
 * @throws UsageError when the text is none of these, not a real date, or not in the future.
 */
export function parseExpires(input: string, timeZone: string, now: number): Expiry {
  const t = input.trim();
  let at: number | undefined;
  if (isDuration(t)) {
    at = now + parseDuration(t, '--expires');
  } else {
    const parsed = t === '' ? undefined : parseDateCell(t, timeZone, { endOfDay: true });
    at = parsed?.ok === true ? parsed.ms : undefined;
  }
  if (at === undefined) {
    throw new UsageError(
      `--expires ${JSON.stringify(t)}: expected a date (2026-12-31), a time in the sheet's zone (2026-12-31 18:00), ` +
        'an ISO instant with offset (2026-12-31T17:00:00Z) or a duration (30d, 12h)',
    );
  }
  if (at <= now) {
    throw new UsageError(
      `--expires ${JSON.stringify(t)} is not in the future (now ${formatInZone(now, timeZone)} ${timeZone})`,
    );
  }
  return { at, text: DATE_ONLY.test(t) ? t : expiryText(at, timeZone) };
}
