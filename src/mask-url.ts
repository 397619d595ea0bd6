// `scheme://` then everything up to the last `@` before whitespace, a quote or an angle bracket: the userinfo as a
// URL parser reads it, and also a password pasted with a raw `/`, `#` or `@` in it (a parser would read part of such a
// password as the path, so cutting at the first `/` would leave the rest of it in clear).
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>]*)@/gi;
// A user name is kept when it reads as one (no path character): `redis://default:***@host`.
const USER_NAME = /^[^/?#\\]*$/;

/**
 * Masks the userinfo of every URL in `text` (a variable's value, a log line, an error message), so no password is
 * echoed: `redis://:pw@host:6379` → `redis://:***@host:6379`, `http://user:pw@host` → `http://user:***@host`. A user
 * name alone may itself be the secret (a token used as user name), so `https://token@host` → `https://***@host`. The
 * rest of the text, the host and port included, is kept: a message still says where the connection went. Text that
 * does not parse as a URL is masked too (`redis://:pw@host:notaport`).
 */
export function maskUrlCredentials(text: string): string {
  return text.replace(USERINFO, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    const user = colon === -1 ? '' : userinfo.slice(0, colon);
    return colon !== -1 && USER_NAME.test(user) ? `${scheme}${user}:***@` : `${scheme}***@`;
  });
}
