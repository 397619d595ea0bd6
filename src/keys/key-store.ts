import type { Logger } from '../log';
import type { SheetSource } from './sheet-source';
import { SheetsError } from './sheets-error';
import { loadSnapshot } from './load-snapshot';
import type { Snapshot } from './types';

export interface KeyStoreOptions {
  readonly source: SheetSource;
  readonly logger: Logger;
  /** `DEFAULT_RATE_LIMIT`. */
  readonly defaultRateLimit: number;
  /** `API_KEY_CACHE_DURATION` in ms: the most a snapshot may age before it is refreshed. */
  readonly maxAgeMs: number;
  /** First retry delay after a failed load; doubles up to `maxBackoffMs`. Defaults to `1000`. */
  readonly minBackoffMs?: number;
  /** Defaults to `60000` ms, or `maxAgeMs` if smaller. */
  readonly maxBackoffMs?: number;
  readonly now?: () => number;
  /** [0, 1) source for backoff jitter; tests pass a fixed one. */
  readonly random?: () => number;
  /** Called with each new snapshot (metrics, usage flusher). */
  readonly onSnapshot?: (snapshot: Snapshot) => void;
}

/** What `/auth/status` and `/ready` show about the registry. */
export interface KeyStoreStatus {
  readonly loaded: boolean;
  readonly keys: number;
  readonly problemRows: number;
  readonly loadedAt: number | undefined;
  readonly lastAttemptAt: number | undefined;
  readonly lastError: { readonly message: string; readonly code: string; readonly at: number } | undefined;
  readonly consecutiveFailures: number;
  readonly nextRefreshAt: number | undefined;
}

/**
 * Refused rows logged one by one per refresh; the rest are counted in one line. Each log line costs the event loop
 * some time: a whole sheet of refused rows (a column pasted one to the side) logged each would hold it for long.
 */
export const LOGGED_PROBLEMS = 100;

/** Least wait after a 429 `RESOURCE_EXHAUSTED`: Google's read quota is counted per minute. */
const QUOTA_BACKOFF_MS = 20_000;

/** Refresh after this share of the max age, so a slow read still lands before the snapshot is too old. */
const REFRESH_AT = 0.8;

/**
 * Holds the current immutable {@link Snapshot} and refreshes it in the background.
 * Requests read `snapshot()` synchronously and never wait on Google. A failed refresh keeps the last good snapshot
 * and retries with exponential backoff and full jitter; reads stay ≤ 1 per refresh interval plus retries, whatever the
 * traffic.
 */
export class KeyStore {
  private current: Snapshot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private stopped = false;
  private lastAttemptAt: number | undefined;
  private lastError: KeyStoreStatus['lastError'];
  private failures = 0;
  private nextRefreshAt: number | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly options: KeyStoreOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.minBackoffMs = options.minBackoffMs ?? 1000;
    this.maxBackoffMs = Math.min(options.maxBackoffMs ?? 60_000, options.maxAgeMs);
  }

  /** The snapshot requests are checked against; undefined until the first successful load. */
  snapshot(): Snapshot | undefined {
    return this.current;
  }

  status(): KeyStoreStatus {
    return {
      loaded: this.current !== undefined,
      keys: this.current?.byHash.size ?? 0,
      problemRows: this.current?.problems.length ?? 0,
      loadedAt: this.current?.loadedAt,
      lastAttemptAt: this.lastAttemptAt,
      lastError: this.lastError,
      consecutiveFailures: this.failures,
      nextRefreshAt: this.nextRefreshAt,
    };
  }

  /** First load, then the refresh loop. Resolves after the first attempt whether or not it succeeded. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.refresh();
  }

  /** Loads now (joins a load already under way) and schedules the next one. Never rejects. */
  refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextRefreshAt = undefined;
  }

  private async load(): Promise<void> {
    const { logger } = this.options;
    this.lastAttemptAt = this.now();
    try {
      // Built as the tab streams in, in slices: a big sheet never stalls the requests served meanwhile from the
      // current snapshot, and no whole table of rows is kept.
      const expected = expectedKeys(this.current);
      const snapshot = await loadSnapshot(
        this.options.source,
        { defaultRateLimit: this.options.defaultRateLimit },
        () => this.now(),
        {
          ...(expected === undefined ? {} : { expectedKeys: expected }),
          ...(this.current === undefined ? {} : { previous: this.current }),
        },
      );
      const headerProblem = snapshot.problems.find((p) => p.row === 1);
      if (headerProblem !== undefined) {
        throw new SheetsError('bad_table', `Sheet unusable (row 1): ${headerProblem.reason}`, true);
      }
      logProblems(logger, snapshot.problems);
      const wasLoaded = this.current !== undefined;
      this.current = snapshot;
      this.failures = 0;
      this.lastError = undefined;
      logger.log(wasLoaded ? 'debug' : 'info', 'key snapshot loaded', {
        keys: snapshot.byHash.size,
        problemRows: snapshot.problems.length,
        timeZone: snapshot.timeZone,
      });
      this.options.onSnapshot?.(snapshot);
      this.schedule(this.nextDelay(snapshot.loadedAt));
    } catch (err) {
      const error =
        err instanceof SheetsError ? err : new SheetsError('unknown', String(err), true, undefined, { cause: err });
      this.failures += 1;
      this.lastError = { message: error.message, code: error.code, at: this.now() };
      // A quota refusal is per minute: quick retries would only spend the next minute's quota too.
      const delay = error.code === 'quota' ? Math.max(QUOTA_BACKOFF_MS, this.backoff()) : this.backoff();
      logger.error(`key refresh failed: ${error.message}`, {
        code: error.code,
        failures: this.failures,
        retryInMs: delay,
        servingSnapshotFrom: this.current?.loadedAt,
      });
      this.schedule(delay);
    }
  }

  /**
   * Wait before the next refresh of data read at `loadedAt`: until it is `REFRESH_AT` of the max age old. Data that
   * old already (another instance's read, not replaced yet) is asked for again a quarter of its remaining life later,
   * at least `minBackoffMs` (or a fifth of the max age if less): a refresh comes before it is `maxAgeMs` old, when a
   * shared source stops using it.
   */
  private nextDelay(loadedAt: number): number {
    const now = this.now();
    const due = loadedAt + this.options.maxAgeMs * REFRESH_AT - now;
    const remaining = loadedAt + this.options.maxAgeMs - now;
    if (due > 0) {
      return due;
    }
    return Math.max(Math.min(this.minBackoffMs, this.options.maxAgeMs * (1 - REFRESH_AT)), remaining / 4);
  }

  /** Full jitter: uniform in [min/2, cap], cap = min(maxBackoff, minBackoff · 2^(failures−1)). */
  private backoff(): number {
    const cap = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** Math.min(this.failures - 1, 20));
    return Math.round(this.minBackoffMs / 2 + this.random() * (cap - this.minBackoffMs / 2));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) {
      return;
    }
    clearTimeout(this.timer);
    this.nextRefreshAt = this.now() + delayMs;
    this.timer = setTimeout(() => void this.refresh(), delayMs);
    this.timer.unref();
  }
}

/** Room for the keys of the next snapshot: as many as the current one has, plus a margin for rows added since. */
function expectedKeys(current: Snapshot | undefined): number | undefined {
  return current === undefined ? undefined : Math.ceil(current.byHash.size * 1.05) + 64;
}

/** The first {@link LOGGED_PROBLEMS} refused rows, each with its row number (never the key), then how many more. */
function logProblems(logger: Logger, problems: Snapshot['problems']): void {
  for (const problem of problems.slice(0, LOGGED_PROBLEMS)) {
    logger.warn(`sheet row ${problem.row} refused: ${problem.reason}`, {
      row: problem.row,
      ...(problem.keyId === undefined ? {} : { keyId: problem.keyId }),
    });
  }
  const more = problems.length - LOGGED_PROBLEMS;
  if (more > 0) {
    logger.warn(`${more} more sheet rows refused (\`npx sheetgate check\` lists every one)`, { refusedRows: more });
  }
}
