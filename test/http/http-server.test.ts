/**
 * `createHttpServer` builds req/res with the app's prototypes from the start, so Express's
 * per-request `Object.setPrototypeOf` changes nothing; the service must answer exactly as it does on `app.listen`.
 * Over real HTTP (the point is the `http.Server`, which supertest would make itself).
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app';
import { createHttpServer } from '../../src/http/http-server';
import { sheetgate } from '../../src/sheetgate';
import { captureLogger } from '../helpers/log-capture';
import { FixedSource, HEADER } from '../helpers/fixed-source';

const KEY = 'sk-convergence-77777777-7777-4777-8777-777777777777';

describe('createHttpServer', () => {
  const { logger } = captureLogger();

  async function listening(server: Server): Promise<string> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("creates req and res with the app's prototypes before Express sees them, still Node's classes", async () => {
    const gate = sheetgate({ source: new FixedSource([HEADER, [KEY, 'Acme', '', '', true, 5]]), logger });
    await gate.ready();
    const app = createApp({ gate, logger });
    const server = createHttpServer(app);
    const seen: boolean[] = [];
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      seen.push(
        Object.getPrototypeOf(req) === app.request,
        Object.getPrototypeOf(res) === app.response,
        req instanceof IncomingMessage,
        res instanceof ServerResponse,
      );
    });
    const base = await listening(server);
    try {
      const ok = await fetch(`${base}/api/hello`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ message: 'hello, Acme' });
      expect(ok.headers.get('x-client-name')).toBe('Acme');
      expect(ok.headers.get('ratelimit-limit')).toBe('5');
      expect(ok.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
      expect(seen).toEqual([true, true, true, true]);

      const refused = await fetch(`${base}/api/hello`, { headers: { authorization: 'Bearer sk-not-a-key-0000' } });
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ code: 'invalid_api_key' });
      const missing = await fetch(`${base}/nowhere`);
      expect(missing.status).toBe(401);
      expect((await fetch(`${base}/health`)).status).toBe(200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await gate.close();
    }
  });
});
