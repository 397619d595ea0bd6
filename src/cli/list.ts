import { buildSnapshot } from '../keys/snapshot';
import type { Column } from '../keys/header';
import { parseDateCell } from '../keys/date-cell';
import { formatInZone } from '../keys/dates';
import { formatQuota, quotaWindow } from '../keys/quota';
import type { KeyRecord } from '../keys/types';
import { COMMON_OPTIONS, parseCommandArgs } from './args';
import { EXIT_OK } from './context';
import type { CliContext, ExitCode } from './context';
import { guard } from './guard';
import { cellValue, readTab, requireHeader, rowKeys, text } from './tab';
import type { Tab } from './tab';

export const LIST_HELP = `Usage: sheetgate list [--json]

Every key row with its masked preview (sk-con…0000, or sha256:3f2a9c… for hashed rows) and key id, client,
state (active, inactive, expired, invalid), rate limit, quota (used in the current day/month of the sheet's time
zone, and the limit), usage count, last use, expiry and scopes.
Times are in the spreadsheet's time zone. Full keys are never printed.
`;

export type KeyState = 'active' | 'inactive' | 'expired' | 'invalid';

/** One line of `list`: only non-secret fields. */
export interface ListedKey {
  readonly row: number;
  readonly keyId: string | null;
  readonly preview: string | null;
  readonly clientName: string;
  readonly state: KeyState;
  /** Why the service refuses the row (state `invalid`). */
  readonly reason: string | null;
  readonly rateLimit: number | null;
  /** `10000/day`, `250000/month`; null = no quota (for an invalid row: the cell's text, or null when empty). */
  readonly quota: string | null;
  /** Requests counted in the current period (`quota_used` when `quota_period` names it, else 0); null = no quota. */
  readonly quotaUsed: number | null;
  readonly usageCount: number | null;
  /** ISO 8601 instant; the cell's own text when it is not a date; null when empty. */
  readonly lastUsedAt: string | null;
  /** ISO 8601 instant; the cell's own text when it is not a date (an invalid row); null = never. */
  readonly expiresAt: string | null;
  readonly scopes: readonly string[];
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** A date cell as an ISO instant (read as the service reads it), or the cell's own text when it is not a date. */
function dateField(tab: Tab, row: number, column: Column): string | null {
  const parsed = parseDateCell(cellValue(tab, row, column) ?? '', tab.timeZone, { endOfDay: column === 'expires_at' });
  return parsed.ok ? iso(parsed.ms) : text(tab, row, column);
}

/** An ISO instant as wall-clock time in the sheet's zone; other text as it is. */
function shown(value: string | null, tab: Tab): string | null {
  const ms = value !== null && /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(value) ? Date.parse(value) : NaN;
  return Number.isNaN(ms) ? value : formatInZone(ms, tab.timeZone);
}

/** The quota cell and what counts against it now, as the service seeds its counter from the row. */
function quotaFields(record: KeyRecord, now: number, timeZone: string): Pick<ListedKey, 'quota' | 'quotaUsed'> {
  if (record.quota === undefined) {
    return { quota: null, quotaUsed: null };
  }
  const current = quotaWindow(record.quota.period, now, timeZone).id;
  return { quota: formatQuota(record.quota), quotaUsed: record.quotaPeriod === current ? record.quotaUsed : 0 };
}

function listKeys(tab: Tab, defaultRateLimit: number, now: number): ListedKey[] {
  const snapshot = buildSnapshot(tab, { defaultRateLimit }, now);
  return rowKeys(tab).map((k): ListedKey => {
    const record = k.hash === undefined ? undefined : snapshot.byHash.get(k.hash);
    const base = {
      row: k.row,
      keyId: k.keyId ?? null,
      preview: k.preview ?? null,
      lastUsedAt: dateField(tab, k.row, 'last_used_at'),
    };
    if (record?.row !== k.row) {
      const usage = Number(text(tab, k.row, 'usage_count') || NaN);
      return {
        ...base,
        clientName: text(tab, k.row, 'client_name'),
        state: 'invalid',
        reason: snapshot.problems.find((p) => p.row === k.row)?.reason ?? 'refused by the service',
        rateLimit: null,
        quota: text(tab, k.row, 'quota') || null,
        quotaUsed: null,
        usageCount: Number.isSafeInteger(usage) ? usage : null,
        expiresAt: dateField(tab, k.row, 'expires_at'),
        scopes: [],
      };
    }
    const expired = record.expiresAt !== undefined && record.expiresAt <= now;
    return {
      ...base,
      clientName: record.clientName,
      state: !record.active ? 'inactive' : expired ? 'expired' : 'active',
      reason: null,
      rateLimit: record.rateLimit,
      ...quotaFields(record, now, tab.timeZone),
      usageCount: record.usageCount,
      expiresAt: iso(record.expiresAt),
      scopes: record.scopes,
    };
  });
}

/** Left-aligned columns, two spaces apart. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `sheetgate list`: every key, masked. */
export async function list(ctx: CliContext, argv: readonly string[]): Promise<ExitCode> {
  return guard(ctx.out, async () => {
    const { values } = parseCommandArgs({ args: [...argv], options: COMMON_OPTIONS });
    if (values.help === true) {
      ctx.out.write(LIST_HELP);
      return EXIT_OK;
    }
    const tab = await readTab(ctx.sheet);
    requireHeader(tab);
    const keys = listKeys(tab, ctx.defaultRateLimit ?? 60, ctx.now());
    if (values.json === true) {
      ctx.out.write(`${JSON.stringify({ timeZone: tab.timeZone, keys })}\n`);
      return EXIT_OK;
    }
    if (keys.length === 0) {
      ctx.out.write('No keys yet: `sheetgate create --client NAME`.\n');
      return EXIT_OK;
    }
    const rows = keys.map((k) => [
      String(k.row),
      k.keyId ?? '-',
      k.preview ?? '(no key)',
      k.clientName,
      k.reason === null ? k.state : `${k.state}: ${k.reason}`,
      k.rateLimit === null ? '-' : `${k.rateLimit}/min`,
      k.quotaUsed === null ? '-' : `${k.quotaUsed} of ${k.quota ?? ''}`,
      k.usageCount === null ? '-' : String(k.usageCount),
      shown(k.lastUsedAt, tab) ?? '-',
      shown(k.expiresAt, tab) ?? 'never',
      k.scopes.length === 0 ? '(all)' : k.scopes.join(' '),
    ]);
    ctx.out.write(
      `${table(['ROW', 'ID', 'KEY', 'CLIENT', 'STATE', 'LIMIT', 'QUOTA', 'USAGE', 'LAST USED', 'EXPIRES', 'SCOPES'], rows)}\n` +
        `Times in ${tab.timeZone}.\n`,
    );
    return EXIT_OK;
  });
}
