import winston from 'winston';
import type { LogLevel } from './config';
import { maskKey } from './keys/key-id';
import { maskUrlCredentials } from './mask-url';

export { maskKey };

export type Logger = winston.Logger;

export interface LoggerOptions {
  readonly level: LogLevel;
  /** `json` for machines (production, pipes), `pretty` for a terminal. */
  readonly format: 'json' | 'pretty';
  /** Defaults to one Console transport (stderr for warn/error). Tests pass a capture transport. */
  readonly transports?: winston.LoggerOptions['transports'];
}

// Anything shaped like a sheetgate key, wherever it hides (message, meta, error text): last line of defence,
// the code itself only ever logs key ids and masked previews. URL passwords (a connection error quoting REDIS_URL,
// say) are masked the same way.
const KEY_PATTERN = /\bsk-[A-Za-z0-9_-]{12,}/g;
const SECRET_FIELDS = new Set(['authorization', 'x-api-key', 'api_key', 'apikey', 'key', 'private_key']);

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    return maskUrlCredentials(value.replace(KEY_PATTERN, (key) => maskKey(key)));
  }
  if (depth > 4 || value === null || typeof value !== 'object') {
    return value;
  }
  if (value instanceof Error) {
    return { name: value.name, message: scrub(value.message, depth + 1) };
  }
  if (Array.isArray(value)) {
    return value.map((v: unknown) => scrub(v, depth + 1));
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_FIELDS.has(k.toLowerCase()) ? '[redacted]' : scrub(v, depth + 1);
  }
  return out;
}

/**
 * winston format that masks key-shaped strings, URL passwords and secret-named fields in the message and every meta
 * field.
 */
const redact = winston.format((info) => {
  for (const field of Object.keys(info)) {
    if (field !== 'level') {
      info[field] = SECRET_FIELDS.has(field.toLowerCase()) ? '[redacted]' : scrub(info[field], 0);
    }
  }
  return info;
});

/** Builds the process logger once; redaction is part of the format, so no transport can bypass it. */
export function createLogger(options: LoggerOptions): Logger {
  const output =
    options.format === 'json'
      ? winston.format.json()
      : winston.format.combine(
          winston.format.colorize(),
          winston.format.printf(({ level, message, timestamp, ...meta }) => {
            const rest = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
            return `${String(timestamp)} ${level} ${String(message)}${rest}`;
          }),
        );
  return winston.createLogger({
    level: options.level,
    format: winston.format.combine(redact(), winston.format.timestamp(), output),
    transports: options.transports ?? [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}
