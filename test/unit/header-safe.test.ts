import { validateHeaderValue } from 'node:http';
import { headerSafe } from '../../src/auth/client-name';

describe('headerSafe', () => {
  it.each([
    ['plain ASCII', 'Acme Corp', 'Acme Corp'],
    ['Latin-1 kept', 'Café Müller', 'Café Müller'],
    ['CR/LF removed', 'evil\r\nSet-Cookie: x=1', 'evilSet-Cookie: x=1'],
    ['NUL and DEL removed', 'a\u0000b\u007fc', 'abc'],
    ['C1 control removed', 'a\u0085b', 'ab'],
    ['non-Latin-1 percent-encoded', 'Jürgen 日本', 'Jürgen %E6%97%A5%E6%9C%AC'],
    ['emoji percent-encoded', 'bot 🤖', 'bot %F0%9F%A4%96'],
  ])('%s', (_name, input, expected) => {
    expect(headerSafe(input)).toBe(expected);
  });

  it('always yields a value Node accepts as a header', () => {
    const samples = ['x\ny', 'ä\u2028b', '\u0000', 'tab\there', '\ud83d'];
    for (const s of samples) {
      expect(() => {
        // The same validation Node's http module applies in setHeader.
        validateHeaderValue('X-Client-Name', headerSafe(s));
      }).not.toThrow();
    }
  });
});
