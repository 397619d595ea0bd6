/** `unavailable`: Redis did not answer (down, timeout, refused). `not_leader`: this instance lost the leader lease. */
export type RedisErrorCode = 'unavailable' | 'not_leader';

/** A failed Redis step: infrastructure failures are typed errors with `code`, `cause` and `retryable`. */
export class RedisError extends Error {
  override readonly name = 'RedisError';
  readonly retryable = true;

  constructor(
    readonly code: RedisErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Anything a Redis call threw, as a {@link RedisError}; a script's `NOTLEADER` reply becomes `not_leader`. */
export function toRedisError(err: unknown): RedisError {
  if (err instanceof RedisError) {
    return err;
  }
  const message = err instanceof Error ? err.message : String(err);
  return message.includes('NOTLEADER')
    ? new RedisError('not_leader', 'this instance no longer holds the leader lease', { cause: err })
    : new RedisError('unavailable', `Redis: ${message}`, { cause: err });
}
