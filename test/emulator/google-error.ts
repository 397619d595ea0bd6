/** What a rejected googleapis call carried: HTTP status, Google's error body, and the transport failure if any. */
export interface Failure {
  readonly status: number | undefined;
  readonly error: { code?: number; message?: string; status?: string } | undefined;
  readonly message: string;
  /**
   * `name code message` of the error and each `cause` below it. Transport failures hide down there: under Jest,
   * native fetch's errors come from another realm, so gaxios reports "Unexpected Gaxios Error" with the real
   * `fetch failed` → `ECONNREFUSED` (or `TimeoutError`) as causes.
   */
  readonly chain: string;
}

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  status?: number;
  response?: { data?: { error?: Failure['error'] } };
}

function chainOf(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const { name, code, message, cause } = e as ErrorLike;
    parts.push(
      [name, code, message]
        .filter((p) => p !== undefined)
        .map(String)
        .join(' '),
    );
    e = cause;
  }
  return parts.join(' <- ');
}

/** Awaits a call that must fail and returns the failure; fails the test when the call succeeds. */
export async function failure(call: Promise<unknown>): Promise<Failure> {
  try {
    await call;
  } catch (err) {
    const e = err as ErrorLike;
    return {
      status: e.status,
      error: e.response?.data?.error,
      message: typeof e.message === 'string' ? e.message : String(err),
      chain: chainOf(err),
    };
  }
  throw new Error('expected the call to fail, but it succeeded');
}
