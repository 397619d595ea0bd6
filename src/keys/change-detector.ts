import type { Logger } from '../log';
import { DriveError } from './drive-version';
import type { DriveVersionSource } from './drive-version';
import type { SheetSource, TableSink } from './sheet-source';

export interface ChangeDetectorOptions {
  readonly drive: DriveVersionSource;
  /** Asks for a reload of the key table: `ReloadGate.request`, so detected changes share the reload bound. */
  readonly reload: () => Promise<unknown>;
  /** `CHANGE_POLL_INTERVAL` in ms. */
  readonly intervalMs: number;
  readonly logger: Logger;
  /** Whether this instance polls: with Redis, only the lease holder does (the others follow its reloads). */
  readonly polls?: () => boolean;
  readonly now?: () => number;
}

/** `changeDetection` in `/auth/status`: how edits reach this instance. */
export interface ChangeDetectionStatus {
  /** `drive`: a new Drive version reloads the table within seconds. `off`: only the cache-duration refresh does. */
  readonly mode: 'drive' | 'off';
  /** Why `off` (and what to do), or `null`. */
  readonly reason: string | null;
  readonly pollIntervalSec: number;
  /** Drive version of the table in use, when known. */
  readonly version: string | null;
  /** Last Drive answer (ISO 8601), or `null`. */
  readonly lastCheck: string | null;
}

/** After Google refused (API not enabled, file not visible), look again this often: an operator may fix it. */
const REFUSED_RECHECK_MS = 60_000;
/** Longest wait between polls while Drive is unavailable. */
const MAX_BACKOFF_MS = 60_000;

/**
 * Reloads the key table when the spreadsheet changes: every interval, one Drive
 * `files.get` for the file's `version`; a version other than the one of the table in use asks for a reload. The
 * version of a table is the newest one read *before* its read from Google began ({@link source}), so a table is never
 * credited with an edit it may have missed: at worst one reload too many. The cache-duration refresh stays the upper
 * bound, and is all that runs while Drive refuses or fails (logged once, shown in {@link status}).
 *
 * Own writes: the usage flush changes the file too. {@link ownWrite} reads the version right before and right after
 * each write; when the version before is the table's own, the version after is credited to the write and adopted
 * without a reload. An admin edit that lands inside that window (the write's round trip) is thus not seen until the
 * next cache-duration refresh; any other edit changes the version before the write and is reloaded as usual.
 */
export class ChangeDetector {
  private known: string | undefined;
  private latest: { readonly version: string; readonly at: number } | undefined;
  private announced: string | undefined;
  private failure: DriveError | undefined;
  private failures = 0;
  /** Own writes under way: polls meanwhile would take the write's version bump for an edit. */
  private writing = 0;
  /** Moves at each own write, so that a poll that overlapped one drops its answer. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly now: () => number;

  constructor(private readonly options: ChangeDetectorOptions) {
    if (!(options.intervalMs >= 1000)) {
      throw new Error(
        `ChangeDetector: intervalMs must be >= 1000 (got ${options.intervalMs}); CHANGE_POLL_INTERVAL is in seconds`,
      );
    }
    this.now = options.now ?? Date.now;
  }

  /** Polls every interval from now on. */
  start(): void {
    this.stopped = false;
    this.schedule(this.options.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  status(): ChangeDetectionStatus {
    return {
      mode: this.failure === undefined ? 'drive' : 'off',
      reason:
        this.failure === undefined
          ? null
          : `${this.failure.message}; the sheet is reloaded every API_KEY_CACHE_DURATION meanwhile`,
      pollIntervalSec: this.options.intervalMs / 1000,
      version: this.known ?? null,
      lastCheck: this.latest === undefined ? null : new Date(this.latest.at).toISOString(),
    };
  }

  /** One poll: reads the version and asks for a reload when it is not the table's. Never rejects. */
  async check(): Promise<void> {
    if (!(this.options.polls?.() ?? true) || this.writing > 0) {
      return;
    }
    const generation = this.generation;
    const version = await this.read();
    if (version === undefined || version === this.known || generation !== this.generation || this.writing > 0) {
      return;
    }
    if (version !== this.announced) {
      this.announced = version;
      this.options.logger.info('the spreadsheet changed: reloading the key table', {
        from: this.known ?? null,
        to: version,
      });
    }
    await this.options.reload().catch((err: unknown) => {
      this.options.logger.warn(`reload after a change failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  /**
   * The Google adapter, with each read credited with the newest version seen before it began. The very first read
   * asks Drive first, so that a fresh start does not reload once more at the first poll.
   */
  source(inner: SheetSource): SheetSource {
    return {
      target: inner.target,
      streamTable: async (sink: TableSink) => {
        const version = await this.baseline();
        await inner.streamTable(sink);
        this.known = version;
      },
    };
  }

  /**
   * Runs one of sheetgate's own writes (the usage flush), crediting its version bump to it (see the class comment).
   * Rejects as `write` does.
   */
  async ownWrite<T>(write: () => Promise<T>): Promise<T> {
    this.writing += 1;
    this.generation += 1;
    try {
      const before = this.failure?.kind === 'refused' ? undefined : await this.read();
      const result = await write();
      const after = before === undefined ? undefined : await this.read();
      if (before !== undefined && after !== undefined && before === this.known) {
        this.known = after;
        this.options.logger.debug('own usage write: Drive version adopted without a reload', { before, after });
      }
      return result;
    } finally {
      this.writing -= 1;
      this.generation += 1;
    }
  }

  private async baseline(): Promise<string | undefined> {
    if (this.latest === undefined && this.failure?.kind !== 'refused') {
      await this.read();
    }
    return this.latest?.version;
  }

  /** Reads the version; logs a failure once when it starts (with the fix) and once when it ends. */
  private async read(): Promise<string | undefined> {
    const at = this.now();
    try {
      const version = await this.options.drive.version();
      this.latest = { version, at };
      if (this.failure !== undefined) {
        this.options.logger.info('Drive change detection works again: edits reload the key table within seconds');
      }
      this.failure = undefined;
      this.failures = 0;
      return version;
    } catch (err) {
      const error =
        err instanceof DriveError ? err : new DriveError('unavailable', String(err), undefined, { cause: err });
      if (this.failure?.kind !== error.kind) {
        this.options.logger.warn(
          `change detection off: ${error.message}. Until then the key table is reloaded every API_KEY_CACHE_DURATION.`,
          { status: error.status ?? null },
        );
      }
      this.failure = error;
      this.failures += 1;
      return undefined;
    }
  }

  private nextDelay(): number {
    const interval = this.options.intervalMs;
    if (this.failure === undefined) {
      return interval;
    }
    if (this.failure.kind === 'refused') {
      return Math.max(interval, REFUSED_RECHECK_MS);
    }
    return Math.min(MAX_BACKOFF_MS, interval * 2 ** Math.min(this.failures - 1, 10));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) {
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.check().finally(() => {
        this.schedule(this.nextDelay());
      });
    }, delayMs);
    this.timer.unref();
  }
}
