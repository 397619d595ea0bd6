import { createHash } from 'node:crypto';
import type { SheetsTarget } from '../keys/sheets-error';

/**
 * The Redis keys of one deployment: `sheetgate:{<12 hex of sha256(sheet id, tab)>}`. Deployments of different sheets
 * can share a Redis; the braces make every key of one deployment one Redis Cluster hash slot, which the multi-key Lua
 * scripts need.
 */
export function redisNamespace(target: Pick<SheetsTarget, 'spreadsheetId' | 'sheetName'>): string {
  const digest = createHash('sha256').update(`${target.spreadsheetId}\n${target.sheetName}`).digest('hex');
  return `sheetgate:{${digest.slice(0, 12)}}`;
}
