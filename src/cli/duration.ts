import { UsageError } from './context';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** The most any duration may be: ten years, far past any sensible grace or expiry. */
const MAX_MS = 3653 * UNIT_MS.d;

/**
 * Parses a duration such as `24h`, `30d`, `90m`, `1d12h` or `0` (units s, m, h, d, w).
 * @throws UsageError naming the flag when the text is not a duration.
 */
export function parseDuration(text: string, flag: string): number {
  const t = text.trim().toLowerCase();
  if (t === '0') {
    return 0;
  }
  if (!/^(\d+[smhdw])+$/.test(t)) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a duration like 30m, 24h, 7d or 1d12h`);
  }
  let ms = 0;
  for (const [, amount = '0', unit = 's'] of t.matchAll(/(\d+)([smhdw])/g)) {
    ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  if (ms > MAX_MS) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: longer than ten years`);
  }
  return ms;
}

/** True when the text looks like a duration rather than a date. */
export function isDuration(text: string): boolean {
  return /^(\d+[smhdw])+$/i.test(text.trim());
}
