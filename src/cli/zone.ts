/**
 * Wall-clock text in the spreadsheet's time zone, the form the CLI writes dates in: `USER_ENTERED` text that Sheets
 * turns into a real date cell (DESIGN §2), read back by the service as a serial in the same zone.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** `YYYY-MM-DD HH:MM:SS` of `epochMs` in `timeZone`. */
export function formatInZone(epochMs: number, timeZone: string): string {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(epochMs))
      .map((p) => [p.type, p.value]),
  );
  return `${parts['year']}-${parts['month']}-${parts['day']} ${parts['hour']}:${parts['minute']}:${parts['second']}`;
}

/** Offset of `timeZone` from UTC at `epochMs`, in ms (positive east of Greenwich). */
function offsetAt(epochMs: number, timeZone: string): number {
  const wall = formatInZone(epochMs, timeZone);
  return Date.parse(`${wall.replace(' ', 'T')}Z`) - Math.floor(epochMs / 1000) * 1000;
}

/**
 * Epoch ms of a wall-clock time in `timeZone` (month 1-based). A time a DST change repeats gives the earlier instant;
 * a time it skips is read with the offset before the change (so it lands after the gap, as JavaScript dates do).
 */
export function wallClockToEpoch(
  wall: { year: number; month: number; day: number; hour: number; minute: number; second: number },
  timeZone: string,
): number {
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  // Zone offsets change at most once within a day or so: the offsets a day either side are the only candidates.
  const before = asUtc - offsetAt(asUtc - 86_400_000, timeZone);
  const after = asUtc - offsetAt(asUtc + 86_400_000, timeZone);
  const fits = [before, after].filter((t) => offsetAt(t, timeZone) === asUtc - t);
  return fits.length > 0 ? Math.min(...fits) : before;
}
