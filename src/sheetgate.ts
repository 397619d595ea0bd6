import type { RequestHandler } from 'express';
import { authMiddleware } from './auth/middleware';
import type { AuthDecision, AuthMode, UsageRecorder } from './auth/middleware';
import { warmTimeZones } from './keys/dates';
import { KeyStore } from './keys/key-store';
import type { KeyStoreStatus } from './keys/key-store';
import { GoogleSheet, readServiceAccount } from './keys/sheet-source';
import { tableSource } from './keys/load-snapshot';
import type { ServiceAccount, SheetSource, SheetsCall, TableReader } from './keys/sheet-source';
import type { KeyRecord, Snapshot } from './keys/types';
import { FailureThrottle } from './limits/failure-throttle';
import type { Limiter } from './limits/limiter';
import { MemoryQuotaCounter } from './limits/quota-counter';
import type { QuotaCounter } from './limits/quota-counter';
import { createRlfLimiter } from './limits/rlf-limiter';
import { createLogger } from './log';
import type { Logger } from './log';

/** Where keys come from when sheetgate talks to Google itself. */
export interface SheetOptions {
  readonly spreadsheetId: string;
  /** Defaults to `API_Keys`. */
  readonly sheetName?: string;
  /** A service-account object, or the path of its JSON file. */
  readonly credentials: ServiceAccount | string;
  /** Sheets API base URL (emulator); defaults to Google's. */
  readonly rootUrl?: string;
  /** Per-call timeout. Defaults to `10000` ms. */
  readonly timeoutMs?: number;
}

/** What `source` accepts: a source that streams the tab, or one that reads it whole. */
export type KeySource = SheetSource | TableReader;

export interface SheetgateOptions {
  /** The Google Sheet to read. Give this or `source`. */
  readonly sheet?: SheetOptions;
  /**
   * Any {@link SheetSource} (an already-built adapter), or a {@link TableReader} that reads the whole table at once
   * (a fixed table in tests): its table is streamed to the snapshot build in slices.
   */
  readonly source?: KeySource;
  /** Defaults to `enforce`. */
  readonly mode?: AuthMode;
  /** Requests per minute for rows with an empty `rate_limit`. Defaults to `60`. */
  readonly defaultRateLimit?: number;
  /** Seconds a snapshot may age before it is refreshed. Defaults to `300`. */
  readonly cacheDurationSec?: number;
  /** Defaults to an in-memory rate-limiter-flexible limiter. */
  readonly limiter?: Limiter;
  /** Day/month quota counters for rows with a `quota`. Defaults to in-memory counters. */
  readonly quotas?: QuotaCounter;
  /** Defaults to a warn-level JSON logger on the console. */
  readonly logger?: Logger;
  readonly usage?: UsageRecorder;
  readonly onDecision?: (decision: AuthDecision) => void;
  /** Per-key counting of accepted requests, called instead of `onDecision` for them (see `AuthMiddlewareOptions`). */
  readonly countAccepted?: (key: KeyRecord) => () => void;
  readonly onSheetsCall?: (call: SheetsCall) => void;
  readonly onSnapshot?: (snapshot: Snapshot) => void;
  /** Refused attempts per client address per minute before that address gets 429s (`AUTH_FAILURE_LIMIT`). Off by default. */
  readonly authFailureLimit?: number;
  /** Clock; defaults to `Date.now`. */
  readonly now?: () => number;
}

/** The middleware plus the handles an operator or the service needs. */
export interface Sheetgate extends RequestHandler {
  readonly mode: AuthMode;
  /** Undefined when the mode is not `enforce`. */
  readonly store: KeyStore | undefined;
  readonly source: SheetSource | undefined;
  readonly limiter: Limiter;
  readonly quotas: QuotaCounter;
  readonly logger: Logger;
  /** Resolves after the first load attempt (successful or not). */
  ready(): Promise<void>;
  status(): KeyStoreStatus | undefined;
  /** Stops the refresh loop and releases the limiter and the quota counters. */
  close(): Promise<void>;
}

function resolveSource(options: SheetgateOptions, logger: Logger): SheetSource {
  const { source } = options;
  if (source !== undefined) {
    return 'streamTable' in source ? source : tableSource(source);
  }
  if (options.sheet === undefined) {
    throw new Error('sheetgate: pass `sheet` (spreadsheetId + credentials) or `source`');
  }
  const { sheet } = options;
  return new GoogleSheet({
    credentials: typeof sheet.credentials === 'string' ? readServiceAccount(sheet.credentials) : sheet.credentials,
    spreadsheetId: sheet.spreadsheetId,
    sheetName: sheet.sheetName ?? 'API_Keys',
    logger,
    ...(sheet.rootUrl === undefined ? {} : { rootUrl: sheet.rootUrl }),
    ...(sheet.timeoutMs === undefined ? {} : { timeoutMs: sheet.timeoutMs }),
    ...(options.onSheetsCall === undefined ? {} : { onCall: options.onSheetsCall }),
  });
}

/**
 * Express middleware that authenticates every request against a Google Sheet of API keys:
 * `app.use(sheetgate({ sheet: { spreadsheetId, credentials } }))`. The service is built from this same function.
 * The first load starts immediately; until it succeeds, requests get 503 `auth_unavailable` (fail closed).
 * @throws Error when neither `sheet` nor `source` is given in `enforce` mode, or credentials cannot be read.
 */
export function sheetgate(options: SheetgateOptions): Sheetgate {
  const mode: AuthMode = options.mode ?? { kind: 'enforce' };
  const logger = options.logger ?? createLogger({ level: 'warn', format: 'json' });
  const limiter = options.limiter ?? createRlfLimiter();
  const quotas = options.quotas ?? new MemoryQuotaCounter();
  const source = mode.kind === 'enforce' ? resolveSource(options, logger) : undefined;
  const store =
    source === undefined
      ? undefined
      : new KeyStore({
          source,
          logger,
          defaultRateLimit: options.defaultRateLimit ?? 60,
          maxAgeMs: (options.cacheDurationSec ?? 300) * 1000,
          ...(options.now === undefined ? {} : { now: options.now }),
          ...(options.onSnapshot === undefined ? {} : { onSnapshot: options.onSnapshot }),
        });
  if (store !== undefined) {
    warmTimeZones(); // synchronously, in the caller's start-up (see warmTimeZones)
  }
  const started = store?.start() ?? Promise.resolve();
  const middleware = authMiddleware({
    mode,
    keys: store ?? { snapshot: () => undefined },
    limiter,
    quotas,
    logger,
    ...(options.usage === undefined ? {} : { usage: options.usage }),
    ...(options.onDecision === undefined ? {} : { onDecision: options.onDecision }),
    ...(options.countAccepted === undefined ? {} : { countAccepted: options.countAccepted }),
    ...(options.authFailureLimit ? { failures: new FailureThrottle(options.authFailureLimit) } : {}),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  return Object.assign(middleware, {
    mode,
    store,
    source,
    limiter,
    quotas,
    logger,
    ready: () => started,
    status: () => store?.status(),
    close: async () => {
      store?.stop();
      await limiter.close();
      await quotas.close();
    },
  });
}
