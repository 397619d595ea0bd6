/**
 * Drive v3 `files.get` for a spreadsheet: the metadata sheetgate's change detection reads (`version`, `modifiedTime`).
 * Only the top-level fields named in `fields` are returned; without `fields`, Drive's default set.
 */
import type { Spreadsheet } from './store';

/** What Drive returns when `fields` is absent. */
const DEFAULT_FIELDS = ['kind', 'id', 'name', 'mimeType'];

/** The file resource Drive would send for `spreadsheet` (`version` is an int64, so a JSON string). */
export function getFile(spreadsheet: Spreadsheet, query: URLSearchParams): object {
  const resource: Record<string, string> = {
    kind: 'drive#file',
    id: spreadsheet.id,
    name: spreadsheet.title,
    mimeType: 'application/vnd.google-apps.spreadsheet',
    version: String(spreadsheet.version),
    modifiedTime: new Date(spreadsheet.modifiedAt).toISOString(),
  };
  const fields = query.get('fields');
  const wanted = fields === null ? DEFAULT_FIELDS : fields.split(',').map((f) => f.trim());
  return Object.fromEntries(Object.entries(resource).filter(([name]) => wanted.includes(name)));
}
