import { maskUrlCredentials } from '../mask-url';
import { COMMON_OPTIONS, parseCommandArgs } from './args';
import { EXIT_OK, EXIT_SHEET, EXIT_USAGE, UsageError } from './context';
import type { CliContext, ExitCode } from './context';

/** The environment variable that holds the admin key. Never a flag: flags land in shell history and `ps`. */
export const ADMIN_KEY_ENV = 'SHEETGATE_ADMIN_KEY';

/** How long to wait for the service's answer: a reload without Redis answers once the sheet is read. */
const TIMEOUT_MS = 60_000;

const HELP = `Usage: sheetgate refresh [--url URL] [--json]

Asks a running sheetgate to reload the sheet now (POST /auth/refresh), instead of at its next scheduled refresh.
The admin key (a key whose scopes cell lists sheetgate:admin) is read from ${ADMIN_KEY_ENV} (environment or .env),
never from a flag.

  --url URL   the service (default http://127.0.0.1:$PORT, PORT defaulting to 8000)
  --json      print {"status": ..., "body": ...} on stdout

Exit codes: 0 reloaded (200), or a reload requested across instances or scheduled (202); 1 no key, or the service refused it
(401/403); 2 the service could not be reached or answered anything else.
`;

/** The service's answer, as far as this command reads it. */
interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** `--url` as a URL ending in `/auth/refresh`. @throws UsageError when it is not an http(s) URL. */
function refreshUrl(base: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`--url ${maskUrlCredentials(base)}: not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url ${maskUrlCredentials(base)}: expected http:// or https://`);
  }
  return new URL(`${url.pathname.replace(/\/+$/, '')}/auth/refresh`, url);
}

/** The `code` of a problem+json body, when there is one. */
function problemCode(body: unknown): string {
  return typeof body === 'object' && body !== null && 'code' in body && typeof body.code === 'string'
    ? body.code
    : 'no code';
}

/** A property of a thrown value, read without `instanceof` (fetch's errors may come from another realm). */
function field(err: unknown, name: 'name' | 'message' | 'cause'): unknown {
  return typeof err === 'object' && err !== null && name in err
    ? (err as Record<typeof name, unknown>)[name]
    : undefined;
}

/** Why fetch failed, from its `cause` (ECONNREFUSED, a DNS failure) or the timeout; fetch's errors hold no header. */
function reason(err: unknown): string {
  if (field(err, 'name') === 'TimeoutError') {
    return `no answer within ${TIMEOUT_MS / 1000} s`;
  }
  const message = field(field(err, 'cause'), 'message') ?? field(err, 'message');
  return typeof message === 'string' ? message : String(err);
}

/**
 * What a 200/202 means: 200, this instance reloaded; 202 `refresh: 'scheduled'`, a reload inside the service's
 * `REFRESH_MIN_INTERVAL` that runs at `at`; any other 202, the reload was sent to every instance (Redis).
 */
function summary(answer: Answer): string {
  if (answer.status === 200) {
    return 'reloaded';
  }
  const body = typeof answer.body === 'object' && answer.body !== null ? (answer.body as Record<string, unknown>) : {};
  return body['refresh'] === 'scheduled' && typeof body['at'] === 'string'
    ? `reload scheduled at ${body['at']}`
    : 'reload requested on every instance';
}

async function post(url: URL, key: string): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, accept: 'application/json' },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (a proxy's HTML page, say): shown as text.
  }
  return { status: res.status, body };
}

/** `sheetgate refresh`: asks a running service to reload the sheet, with the admin key from the environment. */
export async function refresh(ctx: CliContext, argv: readonly string[]): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs({
    args: [...argv],
    options: { ...COMMON_OPTIONS, url: { type: 'string' }, key: { type: 'string' }, 'admin-key': { type: 'string' } },
    allowPositionals: true,
  });
  if (values.help === true) {
    ctx.out.write(HELP);
    return EXIT_OK;
  }
  if (values.key !== undefined || values['admin-key'] !== undefined) {
    throw new UsageError(`the admin key is read from ${ADMIN_KEY_ENV} only: a flag would land in shell history and ps`);
  }
  if (positionals.length > 0) {
    throw new UsageError(`refresh takes no arguments (got ${positionals.length})`);
  }
  const service = ctx.service;
  const key = service?.adminKey?.trim() ?? '';
  if (key === '') {
    throw new UsageError(`no admin key: set ${ADMIN_KEY_ENV} to a key whose scopes cell lists sheetgate:admin`);
  }
  const url = refreshUrl(values.url ?? service?.defaultUrl ?? 'http://127.0.0.1:8000');
  const shown = maskUrlCredentials(url.href);
  let answer: Answer;
  try {
    answer = await post(url, key);
  } catch (err) {
    ctx.out.note(
      `sheetgate refresh: cannot reach ${shown}: ${reason(err)} (is the service running? --url sets where)\n`,
    );
    return EXIT_SHEET;
  }
  const body = JSON.stringify(answer.body).split(key).join('[admin key]');
  if (answer.status === 200 || answer.status === 202) {
    ctx.out.write(
      values.json === true
        ? `${JSON.stringify({ status: answer.status, body: answer.body })}\n`
        : `${summary(answer)} (${answer.status}): ${body}\n`,
    );
    return EXIT_OK;
  }
  if (answer.status === 401 || answer.status === 403) {
    const hint =
      answer.status === 401
        ? `the service does not accept ${ADMIN_KEY_ENV} (unknown, inactive or expired key)`
        : `the key in ${ADMIN_KEY_ENV} lacks the sheetgate:admin scope (list it in the key's scopes cell)`;
    ctx.out.note(`sheetgate refresh: ${shown} answered ${answer.status} ${problemCode(answer.body)}: ${hint}\n`);
    return EXIT_USAGE;
  }
  const hint = answer.status === 404 ? ' (is it sheetgate with auth enabled and a sheet configured?)' : '';
  ctx.out.note(`sheetgate refresh: ${shown} answered ${answer.status}${hint}: ${body}\n`);
  return EXIT_SHEET;
}
