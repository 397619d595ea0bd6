import * as crypto from 'node:crypto';

const HASH_PREFIX = 'sha256:';

/**
 * One-shot `crypto.hash` (Node ≥ 20.12) is about 3× faster than `createHash` on short inputs, and a snapshot hashes
 * every key of the sheet on each refresh. Older Node 20 releases (`engines` allows them) fall back.
 */
const oneShotHash = (crypto as { readonly hash?: typeof crypto.hash }).hash;

/** Lower-case hex sha256 of a raw key (UTF-8). The only form in which a key is stored or compared. */
export function hashKey(key: string): string {
  return oneShotHash === undefined
    ? crypto.createHash('sha256').update(key, 'utf8').digest('hex')
    : oneShotHash('sha256', key, 'hex');
}

/** Non-secret identifier derived from the hash: safe for logs, metric labels and limiter keys. */
export function keyIdOf(hash: string): string {
  return hash.slice(0, 16);
}

/**
 * Masked preview of a raw key: first 6 and last 4 characters (`sk-con…0000`).
 * Keys shorter than 16 characters show only their length, so a short key is never revealed.
 */
export function maskKey(key: string): string {
  if (key.length < 16) {
    return `…(${key.length} chars)`;
  }
  return `${key.slice(0, 6)}…${key.slice(-4)}`;
}

/** Preview of a hashed row (`sha256:3f2a9c…`). */
export function maskHash(hash: string): string {
  return `${HASH_PREFIX}${hash.slice(0, 6)}…`;
}

/**
 * Parses a `key_hash` cell (`sha256:<64 hex>`, any case). Returns the lower-case hex, or undefined when malformed.
 */
export function parseKeyHash(cell: string): string | undefined {
  const text = cell.trim().toLowerCase();
  const hex = text.startsWith(HASH_PREFIX) ? text.slice(HASH_PREFIX.length) : '';
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/** Formats a hash for the `key_hash` column. */
export function formatKeyHash(hash: string): string {
  return `${HASH_PREFIX}${hash}`;
}
