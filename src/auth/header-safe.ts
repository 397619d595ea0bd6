// Characters a header value carries as-is: visible ASCII and space, except `%` (escaped so that decoding is exact).
const SAFE = /^[\x20-\x24\x26-\x7e]*$/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;
// Half of a surrogate pair cannot be encoded as UTF-8: replace it (U+FFFD), as TextEncoder would.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The one encoder for header values built from sheet text (client name, scopes, key id), on responses and on requests
 * to the upstream: control characters (CR/LF included) are removed, so nothing can end the header or inject another;
 * every other character outside printable ASCII, and `%` itself, is percent-encoded as UTF-8, so
 * `decodeURIComponent(value)` gives the text back. Latin-1 letters are encoded too: Node writes a header's bytes in the
 * encoding of the body that follows it (UTF-8 for a JSON answer, Latin-1 for a Buffer), so `é` left as-is would reach
 * a gateway as two different byte sequences. Whatever a cell holds, the value is plain ASCII and Node accepts it.
 */
export function headerSafe(text: string): string {
  if (SAFE.test(text)) {
    return text;
  }
  let out = '';
  for (const ch of text.replace(CONTROL, '').replace(LONE_SURROGATE, '\ufffd')) {
    out += (ch.codePointAt(0) ?? 0) > 0x7e || ch === '%' ? encodeURIComponent(ch) : ch;
  }
  return out;
}
