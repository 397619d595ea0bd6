import { validateHeaderValue } from 'node:http';
import { headerSafe } from '../../src/auth/header-safe';

describe('headerSafe', () => {
  it.each([
    ['plain ASCII', 'Acme Corp', 'Acme Corp'],
    ['Latin-1 percent-encoded (one byte sequence on the wire)', 'Café', 'Caf%C3%A9'],
    ['% escaped once anything is', 'données 100%', 'donn%C3%A9es 100%25'],
    ['% escaped in plain ASCII too', '100% pure', '100%25 pure'],
    ['CR/LF removed', 'evil\r\nSet-Cookie: x=1', 'evilSet-Cookie: x=1'],
    ['NUL and DEL removed', 'a\u0000b\u007fc', 'abc'],
    ['C1 control removed', 'a\u0085b', 'ab'],
    ['non-Latin-1 percent-encoded', 'Jürgen 日本', 'J%C3%BCrgen %E6%97%A5%E6%9C%AC'],
    ['scopes', 'données:écrire 日本:読む', 'donn%C3%A9es:%C3%A9crire %E6%97%A5%E6%9C%AC:%E8%AA%AD%E3%82%80'],
    ['emoji percent-encoded', 'bot 🤖', 'bot %F0%9F%A4%96'],
  ])('%s', (_name, input, expected) => {
    expect(headerSafe(input)).toBe(expected);
  });

  const samples = ['x\ny', 'ä\u2028b', '\u0000', 'tab\there', '\ud83d', '50%off', 'données:écrire', '日本:読む'];

  it('always yields a value Node accepts as a header', () => {
    for (const s of samples) {
      expect(() => {
        // The same validation Node's http module applies in setHeader.
        validateHeaderValue('X-Client-Name', headerSafe(s));
      }).not.toThrow();
    }
  });

  it('always yields printable ASCII that decodeURIComponent turns back into the text without its controls', () => {
    for (const s of samples) {
      const value = headerSafe(s);
      expect(value).toMatch(/^[\x20-\x7e]*$/);
      // eslint-disable-next-line no-control-regex -- the controls headerSafe removes
      expect(decodeURIComponent(value)).toBe(s.replace(/[\x00-\x1f\x7f-\x9f]/g, '').replace('\ud83d', '\ufffd'));
    }
  });
});
