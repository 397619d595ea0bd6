import { parseAddressList } from '../keys/address-list';
import { formatInZone } from '../keys/dates';
import { formatQuota, parseQuota } from '../keys/quota';
import type { Quota } from '../keys/quota';
import { COMMON_OPTIONS, parseCommandArgs } from './args';
import { EXIT_OK, UsageError } from './context';
import type { CliContext, ExitCode } from './context';
import { parseExpires } from './expires';
import { guard } from './guard';
import { appendKey } from './new-key';
import type { NewKey, NewKeySpec } from './new-key';
import { readTab, requireHeader } from './tab';
import type { Tab } from './tab';

export const CREATE_HELP = `Usage: sheetgate create --client NAME [--rate-limit N] [--expires DATE|DURATION]
                       [--scopes a,b] [--allowed-ips LIST] [--quota N/day|N/month] [--hash] [--json]

Generates sk-convergence-<uuid v4> from the OS CSPRNG, appends a row (created_at now, is_active TRUE) and prints
the key once: it is never shown again.

  --client NAME       client_name (required)
  --rate-limit N      requests per minute (default: empty cell = DEFAULT_RATE_LIMIT)
  --expires WHEN      2026-12-31 (valid through that day), "2026-12-31 18:00" (both in the sheet's time zone),
                      2026-12-31T17:00:00Z, or a duration from now: 30d, 12h, 90m (default: never)
  --scopes a,b        scopes, comma or space separated (default: empty cell = every application scope).
                      sheetgate's own scopes are never implied: an admin key (POST /auth/refresh) needs
                      --scopes sheetgate:admin listed explicitly
  --allowed-ips LIST  addresses and CIDR ranges the key may be used from, comma or space separated:
                      "203.0.113.7, 10.0.0.0/8, 2001:db8::/32" (default: empty cell = any address)
  --quota N/PERIOD    accepted requests per calendar day or month of the sheet's time zone: 10000/day,
                      250000/month (default: empty cell = no quota; the per-minute limit applies either way)
  --hash              store only key_hash = sha256:<hex>; api_key stays empty and the sheet never holds the key
  --json              print {"key", "keyId", "row", ...} on stdout
`;

/** Client names, scopes: printable, no control characters (they end up in headers and logs). */
const CONTROL = /\p{Cc}/u;

export function parseClient(value: string | undefined): string {
  const name = value?.trim() ?? '';
  if (name === '') {
    throw new UsageError('--client NAME is required');
  }
  if (CONTROL.test(name)) {
    throw new UsageError('--client: control characters are not allowed');
  }
  return name;
}

export function parseRateLimit(value: string | undefined): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isInteger(n) || n < 1 || n > 1_000_000) {
    throw new UsageError(
      `--rate-limit ${JSON.stringify(value)}: expected a whole number of requests per minute, 1 to 1000000`,
    );
  }
  return n;
}

export function parseScopeFlag(value: string | undefined): string[] {
  const scopes = (value ?? '').split(/[\s,]+/).filter((s) => s !== '');
  if (scopes.some((s) => CONTROL.test(s))) {
    throw new UsageError('--scopes: control characters are not allowed');
  }
  return [...new Set(scopes)];
}

/** `--allowed-ips`: checked as the service reads the cell, so a row it would refuse is never written. */
export function parseAllowedIpsFlag(value: string | undefined): readonly string[] {
  const parsed = parseAddressList(value ?? '');
  if (!parsed.ok) {
    throw new UsageError(
      `--allowed-ips: ${JSON.stringify(parsed.entry)} is not an IP address or CIDR range (e.g. 10.0.0.0/8, 2001:db8::/32)`,
    );
  }
  return parsed.entries;
}

/** `--quota`: read as the service reads the cell, so a row it would refuse is never written. */
export function parseQuotaFlag(value: string | undefined): Quota | undefined {
  if (value === undefined) {
    return undefined;
  }
  const quota = parseQuota(value);
  if (quota === undefined || quota === 'invalid') {
    throw new UsageError(
      `--quota ${JSON.stringify(value)}: expected a whole number of requests per day or month, e.g. 10000/day or 250000/month`,
    );
  }
  return quota;
}

/** What create and rotate print: the key alone on its own line, once. */
export function printNewKey(
  ctx: CliContext,
  tab: Tab,
  json: boolean,
  created: NewKey,
  spec: NewKeySpec,
  extra: Record<string, unknown> = {},
): void {
  if (created.addedColumns.length > 0) {
    ctx.out.note(`Added column(s) ${created.addedColumns.join(', ')} to the header row.\n`);
  }
  if (json) {
    ctx.out.write(
      `${JSON.stringify({
        key: created.key,
        keyId: created.keyId,
        row: created.row,
        clientName: spec.clientName,
        hashed: spec.hashed,
        rateLimit: spec.rateLimit ?? null,
        scopes: spec.scopes,
        allowedIps: spec.allowedIps,
        quota: spec.quota === undefined ? null : formatQuota(spec.quota),
        createdAt: new Date(created.createdAt).toISOString(),
        expiresAt: spec.expires === undefined ? null : new Date(spec.expires.at).toISOString(),
        ...extra,
      })}\n`,
    );
    return;
  }
  const details = [
    `limit ${spec.rateLimit === undefined ? 'default' : `${spec.rateLimit}/min`}`,
    `scopes ${spec.scopes.length === 0 ? 'every application scope (no scopes cell)' : spec.scopes.join(' ')}`,
    ...(spec.allowedIps.length === 0 ? [] : [`from ${spec.allowedIps.join(', ')}`]),
    ...(spec.quota === undefined ? [] : [`quota ${formatQuota(spec.quota)}`]),
    `expires ${spec.expires === undefined ? 'never' : `${formatInZone(spec.expires.at, tab.timeZone)} ${tab.timeZone}`}`,
  ];
  ctx.out.write(
    `Created a key for "${spec.clientName}" (row ${created.row}, id ${created.keyId}):\n\n` +
      `${created.key}\n\n` +
      `${details.join(' · ')}\n` +
      `This is the only time the key is shown: store it now.` +
      `${spec.hashed ? ' The sheet holds only its sha256 hash.' : ''}\n`,
  );
}

/** `sheetgate create`: generate a key, append its row, print it once. */
export async function create(ctx: CliContext, argv: readonly string[]): Promise<ExitCode> {
  return guard(ctx.out, async () => {
    const { values } = parseCommandArgs({
      args: [...argv],
      options: {
        ...COMMON_OPTIONS,
        client: { type: 'string' },
        'rate-limit': { type: 'string' },
        expires: { type: 'string' },
        scopes: { type: 'string' },
        'allowed-ips': { type: 'string' },
        quota: { type: 'string' },
        hash: { type: 'boolean' },
      },
    });
    if (values.help === true) {
      ctx.out.write(CREATE_HELP);
      return EXIT_OK;
    }
    const clientName = parseClient(values.client);
    const rateLimit = parseRateLimit(values['rate-limit']);
    const scopes = parseScopeFlag(values.scopes);
    const allowedIps = parseAllowedIpsFlag(values['allowed-ips']);
    const quota = parseQuotaFlag(values.quota);
    if (values.expires !== undefined) {
      parseExpires(values.expires, 'Etc/UTC', ctx.now()); // reject bad text before any Sheets call
    }
    const tab = await readTab(ctx.sheet);
    requireHeader(tab);
    const spec: NewKeySpec = {
      clientName,
      rateLimit,
      scopes,
      allowedIps,
      quota,
      expires: values.expires === undefined ? undefined : parseExpires(values.expires, tab.timeZone, ctx.now()),
      hashed: values.hash === true,
    };
    const created = await appendKey(ctx, tab, spec);
    printNewKey(ctx, tab, values.json === true, created, spec);
    return EXIT_OK;
  });
}
