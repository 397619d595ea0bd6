import { hashKey, maskKey } from '../keys/key-id';
import { UsageError } from './context';
import { plaintextOf, rowKeys } from './tab';
import type { RowKey, Tab } from './tab';

/** How a command may name rows: `revoke` also takes a row number, `rotate` needs a key. */
export interface TargetOptions {
  readonly allowRow: boolean;
}

/** What to say about the user's argument in a message: never a whole key (it may be one). */
function describe(input: string): string {
  return input.length >= 16 ? maskKey(input) : JSON.stringify(input);
}

/** All rows that hold one key, or an error when the rows hold several different keys. */
function single(matches: readonly RowKey[], input: string): RowKey[] {
  const hashes = new Set(matches.map((m) => m.hash));
  if (hashes.size === 0) {
    throw new UsageError(`no key matches ${describe(input)} (see \`sheetgate list\`)`);
  }
  if (hashes.size > 1) {
    const lines = matches.map((m) => `  row ${m.row}: ${m.preview ?? '?'} id ${m.keyId ?? '?'}`);
    throw new UsageError(`${describe(input)} matches ${hashes.size} keys; give more of the id:\n${lines.join('\n')}`);
  }
  return [...matches];
}

/**
 * Resolves KEY | ID-PREFIX | ROW to the rows it names (several rows only when one key is on several rows), tried in
 * this order:
 * - the whole key (matches `api_key`, or `key_hash` by its sha256);
 * - a row number (1 to 7 digits), when allowed;
 * - a key id or hash prefix as `list` shows it (at least 6 hex digits, `sha256:` and `…` optional);
 * - the start of a plaintext key.
 * @throws UsageError when nothing matches, or a prefix matches more than one key.
 */
export function resolveTarget(tab: Tab, input: string, options: TargetOptions): RowKey[] {
  const all = rowKeys(tab);
  const hash = hashKey(input);
  const exact = all.filter((k) => k.hash === hash);
  if (exact.length > 0) {
    return exact;
  }
  if (options.allowRow && /^\d{1,7}$/.test(input)) {
    const row = Number(input);
    if (row < 2) {
      throw new UsageError(`row ${row} is the header row`);
    }
    const target = all.find((k) => k.row === row);
    if (target === undefined) {
      throw new UsageError(`row ${row} is empty`);
    }
    return [target];
  }
  const hex = input
    .toLowerCase()
    .replace(/^sha256:/, '')
    .replace(/(…|\.\.\.)$/, '');
  if (/^[0-9a-f]{6,64}$/.test(hex)) {
    return single(
      all.filter((k) => k.hash?.startsWith(hex) === true),
      input,
    );
  }
  return single(
    all.filter((k) => !k.hashed && k.hash !== undefined && plaintextOf(tab, k.row).startsWith(input)),
    input,
  );
}
