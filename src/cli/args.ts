import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from './context';

/** Flags every command takes. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
} as const;

/**
 * `parseArgs` in strict mode, with its errors turned into {@link UsageError}s (exit 1).
 * @throws UsageError on an unknown flag, a missing value or an unexpected argument.
 */
export function parseCommandArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>({ strict: true, ...config });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The single positional a command needs, or a usage error naming it. */
export function onePositional(positionals: readonly string[], name: string): string {
  const [first, ...rest] = positionals;
  if (first === undefined || first.trim() === '') {
    throw new UsageError(`missing ${name}`);
  }
  if (rest.length > 0) {
    throw new UsageError(`expected one ${name}, got ${positionals.length} arguments`);
  }
  return first.trim();
}
