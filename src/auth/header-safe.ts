// Characters a header value may carry as-is: visible ASCII, space, and Latin-1 letters (not C0/C1 controls, not DEL).
const SAFE = /^[\x20-\x7e\xa0-\xff]*$/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;
// Half of a surrogate pair cannot be encoded as UTF-8: replace it (U+FFFD), as TextEncoder would.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Makes a client name safe for a response header (DESIGN §3): control characters (CR/LF included) are removed,
 * so nothing can end the header or inject another; characters outside Latin-1 are percent-encoded as UTF-8.
 */
export function headerSafe(name: string): string {
  if (SAFE.test(name)) {
    return name;
  }
  let out = '';
  for (const ch of name.replace(CONTROL, '').replace(LONE_SURROGATE, '\ufffd')) {
    out += (ch.codePointAt(0) ?? 0) > 0xff ? encodeURIComponent(ch) : ch;
  }
  return out;
}
