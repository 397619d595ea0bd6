/**
 * Google API errors: `{ "error": { "code", "message", "status" } }` with the canonical gRPC status names and the
 * messages Google actually sends for the cases sheetgate must tell apart.
 */

/** Google's exact wording for the refusals a client must tell apart. */
export const MESSAGES = {
  missingCredentials:
    'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other ' +
    'valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
  invalidCredentials:
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid ' +
    'authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
  insufficientScopes: 'Request had insufficient authentication scopes.',
  notShared: 'The caller does not have permission',
  notFound: 'Requested entity was not found.',
  /** Drive's answer when the Drive API is not enabled in the caller's Google Cloud project. */
  driveDisabled:
    'Google Drive API has not been used in project 000000000000 before or it is disabled. Enable it by visiting ' +
    'https://console.developers.google.com/apis/api/drive.googleapis.com/overview?project=000000000000 then retry. ' +
    'If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.',
} as const;

/** Status name and default message per HTTP code, as Google's front end answers. */
function describe(code: number, method: string): { status: string; message: string } {
  switch (code) {
    case 400:
      return { status: 'INVALID_ARGUMENT', message: 'Request contains an invalid argument.' };
    case 401:
      return { status: 'UNAUTHENTICATED', message: MESSAGES.invalidCredentials };
    case 403:
      return { status: 'PERMISSION_DENIED', message: isDrive(method) ? MESSAGES.driveDisabled : MESSAGES.notShared };
    case 404:
      return { status: 'NOT_FOUND', message: MESSAGES.notFound };
    case 409:
      return { status: 'ABORTED', message: 'The operation was aborted.' };
    case 429: {
      const kind = isWrite(method) ? 'Write' : 'Read';
      return {
        status: 'RESOURCE_EXHAUSTED',
        message:
          `Quota exceeded for quota metric '${kind} requests' and limit '${kind} requests per minute per user' of ` +
          `service 'sheets.googleapis.com' for consumer 'project_number:000000000000'.`,
      };
    }
    case 500:
      return { status: 'INTERNAL', message: 'Internal error encountered.' };
    case 501:
      return { status: 'UNIMPLEMENTED', message: 'Method not implemented.' };
    case 503:
      return { status: 'UNAVAILABLE', message: 'The service is currently unavailable.' };
    case 504:
      return { status: 'DEADLINE_EXCEEDED', message: 'The request timed out.' };
    default:
      return { status: 'UNKNOWN', message: `HTTP ${code}` };
  }
}

/** The API methods the emulator serves, named as in the googleapis clients. */
export const READ_METHODS = ['spreadsheets.get', 'values.get', 'values.batchGet'] as const;
/** Drive v3 methods: counted apart from the Sheets quota, and faulted only when named (`files.get` or `drive`). */
export const DRIVE_METHODS = ['files.get'] as const;
export const WRITE_METHODS = [
  'spreadsheets.batchUpdate',
  'values.update',
  'values.batchUpdate',
  'values.append',
  'values.clear',
  'values.batchClear',
] as const;
export type ApiMethod = (typeof READ_METHODS)[number] | (typeof WRITE_METHODS)[number] | (typeof DRIVE_METHODS)[number];

/** Writes count against the write quota; everything else is a read. */
export function isWrite(method: string): boolean {
  return (WRITE_METHODS as readonly string[]).includes(method);
}

/** Drive calls: not Sheets reads or writes. */
export function isDrive(method: string): boolean {
  return (DRIVE_METHODS as readonly string[]).includes(method);
}

/** A failure to answer as Google would. Thrown inside handlers, rendered once by the server. */
export class GoogleError extends Error {
  override readonly name = 'GoogleError';
  readonly status: string;
  /** Why, for the `x-emulator-reason` response header: Google's own body stays terse. */
  readonly reason: string | undefined;

  /** `method` picks the quota wording of a 429 (read vs write). */
  constructor(
    readonly code: number,
    message?: string,
    options: { method?: string; reason?: string } = {},
  ) {
    const described = describe(code, options.method ?? '');
    super(message ?? described.message);
    this.status = described.status;
    this.reason = options.reason;
  }

  /** The JSON body Google sends. */
  body(): { error: { code: number; message: string; status: string } } {
    return { error: { code: this.code, message: this.message, status: this.status } };
  }
}

/** 400 for a range that names no tab or is not A1 (Google's "Unable to parse range"). */
export function unparsableRange(range: string): GoogleError {
  return new GoogleError(400, `Unable to parse range: ${range}`);
}
