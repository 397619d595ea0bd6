import { buildSnapshot } from '../keys/snapshot';
import { formatInZone } from '../keys/dates';
import { COMMON_OPTIONS, onePositional, parseCommandArgs } from './args';
import { EXIT_OK, UsageError } from './context';
import type { CliContext, ExitCode } from './context';
import { printNewKey } from './create';
import { parseDuration } from './duration';
import { expiryText } from './expires';
import { guard } from './guard';
import { appendKey } from './new-key';
import type { NewKeySpec } from './new-key';
import { cell, readTab, requireHeader, text } from './tab';
import { takesEffect } from './takes-effect';
import { resolveTarget } from './target';

export const ROTATE_HELP = `Usage: sheetgate rotate KEY|ID [--grace 24h] [--hash] [--json]

Creates a new key for the same client with the same rate_limit, scopes, allowed_ips, quota and expires_at, prints
it once, and sets the old key's expires_at to now + grace (never later than it already was). Until then both keys
work; after it the old key is refused with key_expired. The new key's quota counts from 0 (its own quota_used).

  KEY|ID        the whole key, the key id / hash prefix from \`sheetgate list\`, or a row number
  --grace D     how long the old key keeps working: 30m, 24h, 7d, 0 (default 24h). The service sees the new
                key after its next reload (the command prints how soon: seconds with change detection, else
                API_KEY_CACHE_DURATION), so keep the grace longer than that.
  --hash        store the new key as key_hash only (a hashed old key always gets a hashed successor)
  --json        print {"key", "keyId", "row", ..., "replaced": {...}} on stdout
`;

const DEFAULT_GRACE = '24h';

/** `sheetgate rotate`: new key with the same rights; the old one expires after the grace period. */
export async function rotate(ctx: CliContext, argv: readonly string[]): Promise<ExitCode> {
  return guard(ctx.out, async () => {
    const { values, positionals } = parseCommandArgs({
      args: [...argv],
      options: { ...COMMON_OPTIONS, grace: { type: 'string' }, hash: { type: 'boolean' } },
      allowPositionals: true,
    });
    if (values.help === true) {
      ctx.out.write(ROTATE_HELP);
      return EXIT_OK;
    }
    const input = onePositional(positionals, 'KEY or ID');
    const graceMs = parseDuration(values.grace ?? DEFAULT_GRACE, '--grace');
    const tab = await readTab(ctx.sheet);
    requireHeader(tab);
    const now = ctx.now();
    const snapshot = buildSnapshot(tab, { defaultRateLimit: ctx.defaultRateLimit ?? 60 }, now);
    const targets = resolveTarget(tab, input, { allowRow: true });
    const [old] = targets;
    if (old === undefined || targets.length > 1) {
      throw new UsageError(
        `that key is on rows ${targets.map((t) => t.row).join(', ')}: the service refuses it as ambiguous; fix the sheet first`,
      );
    }
    const record = old.hash === undefined ? undefined : snapshot.byHash.get(old.hash);
    if (record === undefined) {
      const reason = snapshot.problems.find((p) => p.row === old.row)?.reason ?? 'no key on this row';
      throw new UsageError(`row ${old.row} is not a usable key (${reason}): fix it, or create a new key`);
    }
    if (!record.active) {
      throw new UsageError(`row ${old.row} is inactive: rotating would bring it back; create a new key instead`);
    }
    if (record.expiresAt !== undefined && record.expiresAt <= now) {
      throw new UsageError(`row ${old.row} has expired: rotating would bring it back; create a new key instead`);
    }
    const graceEnd = now + graceMs;
    const oldExpiry = Math.min(graceEnd, record.expiresAt ?? Infinity);
    const spec: NewKeySpec = {
      clientName: record.clientName,
      // An empty rate_limit cell stays empty (it follows DEFAULT_RATE_LIMIT) instead of freezing today's default.
      rateLimit: text(tab, old.row, 'rate_limit') === '' ? undefined : record.rateLimit,
      scopes: record.scopes,
      // The successor is held to the same addresses: rotating never loosens a restriction.
      allowedIps: record.allowedIps,
      // The same quota; the new key counts in its own quota_used, from 0.
      quota: record.quota,
      expires:
        record.expiresAt === undefined
          ? undefined
          : { at: record.expiresAt, text: expiryText(record.expiresAt, tab.timeZone) },
      hashed: values.hash === true || old.hashed,
    };
    const created = await appendKey(ctx, tab, spec, {
      columns: ['expires_at'],
      writes: (at) =>
        oldExpiry === record.expiresAt
          ? []
          : [{ cells: cell(at('expires_at'), old.row), values: [[expiryText(oldExpiry, tab.timeZone)]] }],
    });
    const replaced = {
      row: old.row,
      keyId: old.keyId ?? null,
      preview: old.preview ?? null,
      expiresAt: new Date(oldExpiry).toISOString(),
    };
    printNewKey(ctx, tab, values.json === true, created, spec, { replaced });
    if (values.json !== true) {
      ctx.out.write(
        `The old key ${old.preview ?? ''} (row ${old.row}) works until ${formatInZone(oldExpiry, tab.timeZone)} ` +
          `${tab.timeZone}, then is refused (key_expired).\n`,
      );
    }
    if (ctx.timing !== undefined) {
      ctx.out.note(takesEffect(ctx.timing));
    }
    return EXIT_OK;
  });
}
