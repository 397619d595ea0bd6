import request from 'supertest';
import { createApp } from '../../src/app';
import { sheetgate } from '../../src/sheetgate';
import { captureLogger } from '../helpers/log-capture';
import { FixedSource, HEADER } from '../helpers/fixed-source';

const KEY = 'sk-convergence-eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee';

describe('AUTH_FAILURE_LIMIT: per-address throttle of refused attempts', () => {
  it('429s an address after N refused attempts; another address with a valid key is untouched', async () => {
    const { logger } = captureLogger();
    const gate = sheetgate({
      source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]),
      logger,
      authFailureLimit: 5,
    });
    await gate.ready();
    const app = createApp({ gate, logger, trustProxy: true });
    const guesser = { 'X-Forwarded-For': '203.0.113.7' };
    const client = { 'X-Forwarded-For': '198.51.100.1', 'X-API-Key': KEY };

    for (let i = 0; i < 5; i++) {
      await request(app).get('/api/hello').set(guesser).set('X-API-Key', `sk-guess-${i}`).expect(401);
    }
    const blocked = await request(app).get('/api/hello').set(guesser).set('X-API-Key', 'sk-guess-x').expect(429);
    expect(JSON.parse(blocked.text)).toMatchObject({ code: 'rate_limited' });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Even a valid key from the blocked address waits: a lucky guess must not be confirmed.
    await request(app).get('/api/hello').set(guesser).set('X-API-Key', KEY).expect(429);
    await request(app).get('/api/hello').set(client).expect(200);
    await gate.close();
  });

  it('is off by default', async () => {
    const { logger } = captureLogger();
    const gate = sheetgate({ source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]), logger });
    await gate.ready();
    const app = createApp({ gate, logger });
    for (let i = 0; i < 20; i++) {
      await request(app).get('/api/hello').set('X-API-Key', `sk-guess-${i}`).expect(401);
    }
    await request(app).get('/api/hello').set('X-API-Key', KEY).expect(200);
    await gate.close();
  });
});
