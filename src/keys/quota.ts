/**
 * Per-key day/month quotas: the `quota` cell (`10000/day`, `250000/month`) and the calendar periods it counts in,
 * which are days and months of the spreadsheet's time zone. Pure: the clock and the zone are arguments.
 */
import { dayInZone, dayStartInZone, formatDay, serialDay } from './dates';
import { cellText } from './row-key';
import type { CellValue, Quota, QuotaPeriod } from './types';

export { QUOTA_PERIODS } from './types';
export type { Quota, QuotaPeriod } from './types';

/** One calendar period of the sheet's zone. */
export interface QuotaWindow {
  /** `2026-12-05` for a day, `2026-12` for a month: what `quota_period` holds. */
  readonly id: string;
  /** Epoch ms of its first and of its next period's first instant. */
  readonly startsAt: number;
  readonly endsAt: number;
}

/** `10000/day`, `250000 / Month`: a whole number ≥ 1, a slash, a period (any case, spaces around). */
const QUOTA = /^(\d+)\s*\/\s*(day|month)$/i;

/** The `quota` cell: empty → `undefined` (no quota); a readable value → the quota; anything else → `'invalid'`. */
export function parseQuota(cell: CellValue | undefined): Quota | undefined | 'invalid' {
  const text = cellText(cell);
  if (text === '') {
    return undefined;
  }
  const m = QUOTA.exec(text);
  const limit = Number(m?.[1]);
  if (m === null || !Number.isSafeInteger(limit) || limit < 1) {
    return 'invalid';
  }
  return Object.freeze({ limit, period: (m[2] ?? '').toLowerCase() === 'day' ? 'day' : 'month' });
}

/** `10000/day`: the form {@link parseQuota} reads. */
export function formatQuota(quota: Quota): string {
  return `${quota.limit}/${quota.period}`;
}

/**
 * The day or month of `timeZone` that holds instant `now`. A day is 23 or 25 hours long on a DST change; a month
 * starts at midnight of its first day in the zone.
 * @throws RangeError for a zone Intl does not know.
 */
export function quotaWindow(period: QuotaPeriod, now: number, timeZone: string): QuotaWindow {
  const day = dayInZone(now, timeZone);
  if (period === 'day') {
    return {
      id: formatDay(day),
      startsAt: dayStartInZone(day, timeZone),
      endsAt: dayStartInZone(day + 1, timeZone),
    };
  }
  const date = new Date(day * 86_400_000);
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth();
  const first = Date.UTC(y, m, 1) / 86_400_000;
  const next = Date.UTC(y, m + 1, 1) / 86_400_000;
  return {
    id: formatDay(first).slice(0, 7),
    startsAt: dayStartInZone(first, timeZone),
    endsAt: dayStartInZone(next, timeZone),
  };
}

/**
 * What `quota_period` holds, as the id {@link quotaWindow} gives: text `2026-12-05` / `2026-12` as written, or a date
 * cell (an admin who typed the day without the apostrophe) as its day, or its month for a monthly quota. Anything
 * else is `''`: no period, so `quota_used` does not belong to the current one.
 */
export function readQuotaPeriod(cell: CellValue | undefined, period: QuotaPeriod): string {
  if (typeof cell === 'number' && Number.isFinite(cell)) {
    const day = formatDay(serialDay(cell));
    return period === 'day' ? day : day.slice(0, 7);
  }
  const text = typeof cell === 'string' ? cell.trim() : '';
  return /^\d{4}-\d{2}(-\d{2})?$/.test(text) ? text : '';
}
