import { auth as driveAuth, drive } from '@googleapis/drive';
import type { drive_v3 } from '@googleapis/drive';
import { jwtOptions } from './google-auth';
import type { SigningAccount } from './google-auth';
import { toSheetsError } from './sheets-error';
import type { SheetsTarget } from './sheets-error';

/** The port change detection reads through: the spreadsheet file's Drive `version`. */
export interface DriveVersionSource {
  /** Drive's `version` of the spreadsheet (an int64 as a decimal string). @throws DriveError */
  version(): Promise<string>;
}

/**
 * A failed Drive call. `refused`: Google said no (API not enabled, file not visible, credentials) and says it again
 * until an operator acts; `message` is the fix. `unavailable`: timeout, 5xx, 429, network — it passes on its own.
 */
export class DriveError extends Error {
  override readonly name = 'DriveError';
  constructor(
    readonly kind: 'refused' | 'unavailable',
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface GoogleDriveVersionOptions {
  /** The service account (`GOOGLE_CREDENTIALS_PATH`). */
  readonly credentials: SigningAccount;
  /** The spreadsheet: its id is the Drive file id; the email names whom to share it with. */
  readonly target: SheetsTarget;
  /** Drive API base URL; defaults to Google's. */
  readonly rootUrl?: string;
  /** Per-request timeout. Defaults to `5000` ms: a poll must never outlast the next one by much. */
  readonly timeoutMs?: number;
  /** Called after every Drive call (metrics). */
  readonly onCall?: (outcome: 'ok' | DriveError['kind']) => void;
}

const ENABLE_DRIVE = 'https://console.cloud.google.com/apis/library/drive.googleapis.com';

/** Turns a googleapis failure into a {@link DriveError} whose message says what to do. */
export function toDriveError(err: unknown, target: SheetsTarget): DriveError {
  if (err instanceof DriveError) {
    return err;
  }
  // The Sheets mapping reads status, Google's message and the transport failure the same way for every googleapis client.
  const mapped = toSheetsError(err, target);
  const google = /\(Google: (.*)\)$/s.exec(mapped.message)?.[1] ?? mapped.message;
  const options = { cause: err };
  const file = `spreadsheet ${target.spreadsheetId}`;
  switch (mapped.status) {
    case 403:
      if (/has not been used|is disabled|SERVICE_DISABLED|accessNotConfigured/i.test(google)) {
        return new DriveError(
          'refused',
          `the Google Drive API is not enabled in the service account's Google Cloud project: enable it at ` +
            `${ENABLE_DRIVE} (the project of ${target.clientEmail}), then wait a few minutes (Google: ${google})`,
          403,
          options,
        );
      }
      if (/scope/i.test(google)) {
        return new DriveError(
          'refused',
          `the token lacks the drive.metadata.readonly scope (Google: ${google})`,
          403,
          options,
        );
      }
      return new DriveError(
        'refused',
        `Drive refuses to show ${file} to ${target.clientEmail}: share the spreadsheet with it (Google: ${google})`,
        403,
        options,
      );
    case 404:
      return new DriveError(
        'refused',
        `Drive cannot see ${file}: share it with ${target.clientEmail} and check GOOGLE_SHEET_ID (Google: ${google})`,
        404,
        options,
      );
    case 401:
      return new DriveError(
        'refused',
        `Drive refused the service-account credentials (Google: ${google})`,
        401,
        options,
      );
    case undefined:
    default:
      return new DriveError('unavailable', mapped.message.replace(/^Sheets API/, 'Drive API'), mapped.status, options);
  }
}

/**
 * `files.get(fileId, fields=version)` through `@googleapis/drive`, with the same self-signed JWT as the Sheets adapter
 * (same account, same two scopes; built from the google-auth-library that `@googleapis/drive` bundles, whose JWT class
 * is not the Sheets client's), `retry: false` (the detector has its own pace) and a timeout. One tiny request against
 * the Drive quota, not the Sheets read quota.
 */
export class GoogleDriveVersion implements DriveVersionSource {
  private readonly api: drive_v3.Drive;

  constructor(private readonly options: GoogleDriveVersionOptions) {
    const auth = new driveAuth.JWT(jwtOptions(options.credentials));
    auth.useJWTAccessWithScope = true;
    this.api = drive({
      version: 'v3',
      auth,
      timeout: options.timeoutMs ?? 5000,
      retry: false,
      // Node's own fetch, as for Sheets: gaxios' dynamic `import('node-fetch')` breaks under CJS test VMs.
      fetchImplementation: fetch,
      ...(options.rootUrl === undefined ? {} : { rootUrl: options.rootUrl }),
    });
  }

  async version(): Promise<string> {
    const { target, onCall } = this.options;
    try {
      const { data } = await this.api.files.get({
        fileId: target.spreadsheetId,
        fields: 'version',
        supportsAllDrives: true, // a spreadsheet in a shared drive is otherwise "not found"
      });
      if (typeof data.version !== 'string' || data.version === '') {
        throw new DriveError('unavailable', 'Drive answered files.get without a version');
      }
      onCall?.('ok');
      return data.version;
    } catch (err) {
      const error = toDriveError(err, target);
      onCall?.(error.kind);
      throw error;
    }
  }
}
