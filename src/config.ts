import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { maskUrlCredentials } from './mask-url';

/** Validated, frozen configuration. `loadConfig` is the only reader of the environment. */
export interface Config {
  readonly port: number;
  readonly authEnabled: boolean;
  readonly authRequired: boolean;
  readonly credentialsPath: string | undefined;
  readonly sheetId: string | undefined;
  readonly sheetName: string;
  /** Seconds: the most a snapshot may age before it is refreshed. */
  readonly cacheDurationSec: number;
  readonly defaultRateLimit: number;
  /** Seconds between usage write-backs. */
  readonly usageFlushIntervalSec: number;
  readonly logLevel: LogLevel;
  readonly sheetsRootUrl: string | undefined;
  /** Drive API base URL: `GOOGLE_DRIVE_ROOT_URL`, else `GOOGLE_SHEETS_ROOT_URL`, else undefined (Google's). */
  readonly driveRootUrl: string | undefined;
  /** Seconds: at most one sheet reload per interval from admin refreshes and change detection. */
  readonly refreshMinIntervalSec: number;
  /** Seconds between reads of the spreadsheet's Drive `version`; 0 = change detection off. */
  readonly changePollIntervalSec: number;
  readonly redisUrl: string | undefined;
  readonly upstreamUrl: string | undefined;
  /** Express `trust proxy` value, already converted (number of hops, boolean, or address list). */
  readonly trustProxy: boolean | number | string | undefined;
  /** Refused attempts per client address per minute before the address gets 429s; 0 = off. */
  readonly authFailureLimit: number;
  /** Bearer token that protects `/metrics`; undefined = public. */
  readonly metricsToken: string | undefined;
  readonly nodeEnv: string;
  /** Seconds a shutdown waits for in-flight requests before cutting them; the final usage flush runs after. */
  readonly shutdownTimeoutSec: number;
  /** Tab of the daily usage history (one row per key per day); undefined = no history. */
  readonly usageHistoryTab: string | undefined;
}

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Thrown for an invalid environment; `message` names every bad variable and its value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

/** A boolean variable; undefined when unset or empty, so that the caller picks the default. */
const optionalBool = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === '') {
      return undefined;
    }
    const t = v.trim().toLowerCase();
    if (TRUE_WORDS.includes(t) || FALSE_WORDS.includes(t)) {
      return TRUE_WORDS.includes(t);
    }
    ctx.addIssue({ code: 'custom', message: 'expected true or false' });
    return z.NEVER;
  });

const bool = (fallback: boolean) => optionalBool.transform((v) => v ?? fallback);

const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') {
        return fallback;
      }
      const n = Number(v.trim());
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected an integer from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

const text = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const url = (protocols: readonly string[]) =>
  text.refine(
    (v) => {
      if (v === undefined) {
        return true;
      }
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected a URL (${protocols.join(' or ')})` },
  );

/** Sheets' longest tab name. */
const MAX_TAB_NAME = 100;

/**
 * `USAGE_HISTORY_TAB`: unset → `API_Usage`; set but empty → undefined (no history); else the trimmed name, which Sheets
 * must be able to hold: at most 100 characters, no control characters.
 */
const historyTab = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined) {
      return 'API_Usage';
    }
    const name = v.trim();
    if (name === '') {
      return undefined;
    }
    if (name.length > MAX_TAB_NAME || /\p{Cc}/u.test(name)) {
      ctx.addIssue({ code: 'custom', message: `expected a tab name of 1 to ${MAX_TAB_NAME} printable characters` });
      return z.NEVER;
    }
    return name;
  });

const schema = z
  .object({
    PORT: int(8000, 0, 65535),
    AUTH_ENABLED: bool(true),
    AUTH_REQUIRED: optionalBool,
    GOOGLE_CREDENTIALS_PATH: text,
    GOOGLE_SHEET_ID: text,
    GOOGLE_SHEET_NAME: text.transform((v) => v ?? 'API_Keys'),
    API_KEY_CACHE_DURATION: int(300, 5, 86_400),
    DEFAULT_RATE_LIMIT: int(60, 1, 1_000_000),
    USAGE_FLUSH_INTERVAL: int(60, 1, 86_400),
    LOG_LEVEL: text.pipe(z.enum(LOG_LEVELS).optional()).transform((v) => v ?? 'info'),
    GOOGLE_SHEETS_ROOT_URL: url(['http:', 'https:']),
    GOOGLE_DRIVE_ROOT_URL: url(['http:', 'https:']),
    REFRESH_MIN_INTERVAL: int(10, 1, 3600),
    CHANGE_POLL_INTERVAL: int(5, 0, 3600),
    REDIS_URL: url(['redis:', 'rediss:']),
    UPSTREAM_URL: url(['http:', 'https:']),
    TRUST_PROXY: text.transform(parseTrustProxy),
    AUTH_FAILURE_LIMIT: int(0, 0, 1_000_000),
    METRICS_TOKEN: text,
    NODE_ENV: text.transform((v) => v ?? 'development'),
    SHUTDOWN_TIMEOUT: int(25, 0, 3600),
    USAGE_HISTORY_TAB: historyTab,
  })
  .superRefine((e, ctx) => {
    // Sheets matches tab names case-insensitively: the same name would write history rows into the key tab.
    if (e.USAGE_HISTORY_TAB !== undefined && e.USAGE_HISTORY_TAB.toLowerCase() === e.GOOGLE_SHEET_NAME.toLowerCase()) {
      ctx.addIssue({
        code: 'custom',
        path: ['USAGE_HISTORY_TAB'],
        message: `must differ from GOOGLE_SHEET_NAME (the key tab); leave it empty to keep no history`,
      });
    }
  });

function parseTrustProxy(v: string | undefined): boolean | number | string | undefined {
  if (v === undefined) {
    return undefined;
  }
  if (v === 'true' || v === 'false') {
    return v === 'true';
  }
  return /^\d+$/.test(v) ? Number(v) : v; // hop count, or Express's address/subnet list
}

/**
 * Reads `.env` (if present) under the real environment: variables already set win, as with dotenv.
 * @throws ConfigError when `.env` exists but cannot be parsed.
 */
export function envWithDotenv(env: NodeJS.ProcessEnv, path = '.env'): Record<string, string | undefined> {
  if (!existsSync(path)) {
    return env;
  }
  try {
    return { ...parseEnv(readFileSync(path, 'utf8')), ...env };
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message}`);
  }
}

/**
 * Validates the environment once into a frozen {@link Config}.
 * @throws ConfigError naming each invalid variable and its value, any URL password masked.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `${name}=${JSON.stringify(maskUrlCredentials(env[name] ?? ''))}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  return Object.freeze({
    port: e.PORT,
    authEnabled: e.AUTH_ENABLED,
    // Production fails closed: missing credentials stop startup unless AUTH_REQUIRED=false says otherwise.
    authRequired: e.AUTH_REQUIRED ?? e.NODE_ENV === 'production',
    credentialsPath: e.GOOGLE_CREDENTIALS_PATH,
    sheetId: e.GOOGLE_SHEET_ID,
    sheetName: e.GOOGLE_SHEET_NAME,
    cacheDurationSec: e.API_KEY_CACHE_DURATION,
    defaultRateLimit: e.DEFAULT_RATE_LIMIT,
    usageFlushIntervalSec: e.USAGE_FLUSH_INTERVAL,
    logLevel: e.LOG_LEVEL,
    sheetsRootUrl: e.GOOGLE_SHEETS_ROOT_URL,
    driveRootUrl: e.GOOGLE_DRIVE_ROOT_URL ?? e.GOOGLE_SHEETS_ROOT_URL,
    refreshMinIntervalSec: e.REFRESH_MIN_INTERVAL,
    changePollIntervalSec: e.CHANGE_POLL_INTERVAL,
    redisUrl: e.REDIS_URL,
    upstreamUrl: e.UPSTREAM_URL,
    trustProxy: e.TRUST_PROXY,
    authFailureLimit: e.AUTH_FAILURE_LIMIT,
    metricsToken: e.METRICS_TOKEN,
    nodeEnv: e.NODE_ENV,
    shutdownTimeoutSec: e.SHUTDOWN_TIMEOUT,
    usageHistoryTab: e.USAGE_HISTORY_TAB,
  });
}

/** Why auth cannot run with this config (the reason degraded mode reports), or undefined when credentials are complete. */
export function missingCredentials(config: Config): string | undefined {
  const missing = [
    config.credentialsPath === undefined ? 'GOOGLE_CREDENTIALS_PATH' : undefined,
    config.sheetId === undefined ? 'GOOGLE_SHEET_ID' : undefined,
  ].filter((name) => name !== undefined);
  if (missing.length > 0) {
    return `${missing.join(' and ')} not set`;
  }
  if (config.credentialsPath !== undefined && !existsSync(config.credentialsPath)) {
    return `GOOGLE_CREDENTIALS_PATH=${config.credentialsPath}: file not found`;
  }
  return undefined;
}
