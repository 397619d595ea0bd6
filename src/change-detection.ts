import type { StatusSection } from './http/status';
import { ChangeDetector } from './keys/change-detector';
import type { ChangeDetectionStatus } from './keys/change-detector';
import { GoogleDriveVersion } from './keys/drive-version';
import type { DriveError } from './keys/drive-version';
import type { SigningAccount } from './keys/google-auth';
import type { SheetSource } from './keys/sheet-source';
import type { Logger } from './log';
import { withWrappedWrites } from './usage/usage-sheet';
import type { UsageSheet } from './usage/usage-sheet';

export interface ChangeDetectionOptions {
  /** `CHANGE_POLL_INTERVAL` in seconds; 0 = off. */
  readonly pollIntervalSec: number;
  /** `GOOGLE_DRIVE_ROOT_URL` (or the Sheets root URL); undefined = Google's. */
  readonly driveRootUrl: string | undefined;
  readonly credentials: SigningAccount;
  readonly logger: Logger;
  /** Asks for a reload through the reload gate. Called only after `start()`. */
  readonly reload: () => Promise<unknown>;
  /** With Redis: only the lease holder polls. */
  readonly polls?: () => boolean;
  /** `Metrics.onDriveCall`. */
  readonly onDriveCall?: (outcome: 'ok' | DriveError['kind']) => void;
}

/** Change detection as the service wires it: the Google sources wrapped, the poll loop, the status section. */
export interface ChangeDetection {
  /** The Google adapter as the key store reads it: each read credited with the Drive version seen before it. */
  source(sheet: SheetSource): SheetSource;
  /** The usage flush's sheet: its writes' version bumps are the flush's own, not edits. */
  usageSheet(sheet: UsageSheet): UsageSheet;
  /** `changeDetection` in `/auth/status`. */
  readonly status: () => ChangeDetectionStatus | { readonly mode: 'off'; readonly reason: string };
  start(): void;
  stop(): void;
}

/** Builds change detection for one spreadsheet; with `pollIntervalSec` 0 it passes everything through, mode `off`. */
export function changeDetection(target: SheetSource['target'], options: ChangeDetectionOptions): ChangeDetection {
  if (options.pollIntervalSec === 0) {
    const off = {
      mode: 'off',
      reason: 'CHANGE_POLL_INTERVAL=0: the sheet is reloaded every API_KEY_CACHE_DURATION',
    } as const;
    return { source: (s) => s, usageSheet: (s) => s, status: () => off, start: () => undefined, stop: () => undefined };
  }
  const detector = new ChangeDetector({
    drive: new GoogleDriveVersion({
      credentials: options.credentials,
      target,
      ...(options.driveRootUrl === undefined ? {} : { rootUrl: options.driveRootUrl }),
      ...(options.onDriveCall === undefined ? {} : { onCall: options.onDriveCall }),
    }),
    reload: options.reload,
    intervalMs: options.pollIntervalSec * 1000,
    logger: options.logger,
    ...(options.polls === undefined ? {} : { polls: options.polls }),
  });
  return {
    source: (sheet) => detector.source(sheet),
    usageSheet: (sheet) => withWrappedWrites(sheet, (write) => detector.ownWrite(write)),
    status: () => detector.status(),
    start: () => {
      detector.start();
    },
    stop: () => {
      detector.stop();
    },
  };
}

/** The `changeDetection` status section. */
export function changeDetectionSection(detection: ChangeDetection): StatusSection {
  return () => ({ ...detection.status() });
}
