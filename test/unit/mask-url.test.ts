import { maskUrlCredentials } from '../../src/mask-url';

describe('maskUrlCredentials', () => {
  it.each([
    ['Redis password, no user', 'redis://:password@host:6379', 'redis://:***@host:6379'],
    ['user and password', 'http://user:pw@example.com/path?q=1', 'http://user:***@example.com/path?q=1'],
    ['a user name alone (a token)', 'https://ghp_token@example.com', 'https://***@example.com'],
    ['not a parsable URL', 'redis://:password@host:notaport', 'redis://:***@host:notaport'],
    ['a raw @ in the password', 'rediss://default:p@ss@host', 'rediss://default:***@host'],
    ['a raw / in the password', 'redis://:pa/ss@host', 'redis://:***@host'],
    ['inside a sentence', 'Redis at redis://:pw@h:1 is down (x)', 'Redis at redis://:***@h:1 is down (x)'],
    ['quoted in JSON', '{"url":"redis://:pw@h","to":"a@b"}', '{"url":"redis://:***@h","to":"a@b"}'],
    ['two URLs', 'a http://u:1@h b http://v:2@k', 'a http://u:***@h b http://v:***@k'],
    ['no userinfo', 'http://example.com:8080/x', 'http://example.com:8080/x'],
    ['no URL', 'plain text with a@b', 'plain text with a@b'],
  ])('%s', (_name, input, expected) => {
    expect(maskUrlCredentials(input)).toBe(expected);
  });
});
