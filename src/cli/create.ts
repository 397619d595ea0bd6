import { formatInZone } from '../keys/dates';
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
                       [--scopes a,b] [--hash] [--json]

Generates sk-convergence-<uuid v4> from the OS CSPRNG, appends a row (created_at now, is_active TRUE) and prints
the key once: it is never shown again.

  --client NAME       client_name (required)
  --rate-limit N      requests per minute (default: empty cell = DEFAULT_RATE_LIMIT)
  --expires WHEN      2026-12-31 (valid through that day), "2026-12-31 18:00" (both in the sheet's time zone),
                      2026-12-31T17:00:00Z, or a duration from now: 30d, 12h, 90m (default: never)
  --scopes a,b        scopes, comma or space separated (default: empty cell = every application scope).
                      sheetgate's own scopes are never implied: an admin key (POST /auth/refresh) needs
                      --scopes sheetgate:admin listed explicitly
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
    if (values.expires !== undefined) {
      parseExpires(values.expires, 'Etc/UTC', ctx.now()); // reject bad text before any Sheets call
    }
    const tab = await readTab(ctx.sheet);
    requireHeader(tab);
    const spec: NewKeySpec = {
      clientName,
      rateLimit,
      scopes,
      expires: values.expires === undefined ? undefined : parseExpires(values.expires, tab.timeZone, ctx.now()),
      hashed: values.hash === true,
    };
    const created = await appendKey(ctx, tab, spec);
    printNewKey(ctx, tab, values.json === true, created, spec);
    return EXIT_OK;
  });
}
