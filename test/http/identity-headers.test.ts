import request from 'supertest';
import { createApp } from '../../src/app';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { FixedSource } from '../helpers/fixed-source';
import { captureLogger } from '../helpers/log-capture';

const LATIN = 'sk-convergence-a1a1a1a1-0000-4000-8000-0000000000a1';
const CJK = 'sk-convergence-b2b2b2b2-0000-4000-8000-0000000000b2';
const CONTROL = 'sk-convergence-c3c3c3c3-0000-4000-8000-0000000000c3';
const HEADER = ['api_key', 'client_name', 'is_active', 'scopes'];
const ROWS = [
  HEADER,
  [LATIN, 'Café', true, 'données:écrire lire'],
  [CJK, '日本チーム', true, '日本:読む'],
  [CONTROL, 'Bell\u0007Co', true, 'a\u0007b c\u0085d\u007f'],
];

describe('identity headers built from any sheet text', () => {
  const { logger } = captureLogger();
  let gate: Sheetgate;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    gate = sheetgate({ source: new FixedSource(ROWS), logger });
    await gate.ready();
    app = createApp({ gate, logger });
  });

  afterAll(async () => {
    await gate.close();
  });

  it.each([
    ['Latin-1 scopes (données:écrire)', LATIN, 'Caf%C3%A9', 'donn%C3%A9es:%C3%A9crire lire'],
    [
      'non-Latin-1 scopes (日本:読む), percent-encoded',
      CJK,
      encodeURIComponent('日本チーム'),
      '%E6%97%A5%E6%9C%AC:%E8%AA%AD%E3%82%80',
    ],
    ['control characters, removed', CONTROL, 'BellCo', 'ab cd'],
  ])('/auth/verify answers 200 for %s', async (_name, key, clientName, scopes) => {
    const res = await request(app).get('/auth/verify').set('X-API-Key', key).expect(200);
    expect(res.headers['x-client-name']).toBe(clientName);
    expect(res.headers['x-sheetgate-scopes']).toBe(scopes);
    expect(res.headers['x-sheetgate-key-id']).toMatch(/^[0-9a-f]{16}$/);
    // The JSON body keeps the sheet text as written: only header values are encoded.
    expect(res.body.scopes).toEqual(
      ROWS.find((row) => row[0] === key)?.[3]
        ?.toString()
        .split(' '),
    );
  });
});
