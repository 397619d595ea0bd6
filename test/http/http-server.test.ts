/**
 * `createHttpServer` builds req/res with the app's prototypes from the start, so Express's
 * per-request `Object.setPrototypeOf` changes nothing; the service must answer exactly as it does on `app.listen`.
 * Over real HTTP (the point is the `http.Server`, which supertest would make itself).
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
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

  describe('onResponse', () => {
    const timedApp = (): express.Express => {
      const app = express();
      app.get('/slow', (_req, res) => {
        setTimeout(() => {
          res.status(201).end('made');
          res.end(); // a second end is Node's to refuse, not another response
        }, 60);
      });
      app.get('/wrapped', (_req, res) => {
        // As compression does: the middleware's own `end` over the response's.
        const own = res.end.bind(res);
        res.end = ((...args: Parameters<typeof res.end>) => own(...args)) as typeof res.end;
        res.json({ wrapped: true });
      });
      app.get('/hang', () => {
        // never answers
      });
      return app;
    };

    it('reports each response once as it ends, with its status and the time since its request arrived', async () => {
      const seen: [number, number][] = [];
      const app = timedApp();
      const server = createHttpServer(app, { onResponse: (status, seconds) => seen.push([status, seconds]) });
      const base = await listening(server);
      try {
        const slow = await fetch(`${base}/slow`);
        expect([slow.status, await slow.text()]).toEqual([201, 'made']);
        expect(seen).toHaveLength(1);
        const [[status, seconds] = [0, 0]] = seen;
        expect(status).toBe(201);
        expect(seconds).toBeGreaterThanOrEqual(0.05);
        expect(seconds).toBeLessThan(5);

        expect(await (await fetch(`${base}/wrapped`)).json()).toEqual({ wrapped: true });
        expect(await (await fetch(`${base}/nowhere`)).text()).toContain('Cannot GET');
        expect(seen.map(([s]) => s)).toEqual([201, 200, 404]);

        const gone = new AbortController();
        const hanging = fetch(`${base}/hang`, { signal: gone.signal }).catch(() => 'aborted');
        await new Promise((resolve) => setTimeout(resolve, 50));
        gone.abort();
        expect(await hanging).toBe('aborted');
        expect(seen).toHaveLength(3);
        // The app itself is left as it was: its prototypes have no `end` of their own.
        expect(Object.hasOwn(app.response, 'end')).toBe(false);
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('adds nothing to a response when no one asks for the time', async () => {
      const owns: boolean[] = [];
      const app = express();
      app.get('/', (_req, res) => {
        owns.push(Object.hasOwn(res, 'end'));
        res.end('ok');
      });
      const server = createHttpServer(app);
      const base = await listening(server);
      try {
        expect(await (await fetch(base)).text()).toBe('ok');
        expect(owns).toEqual([false]);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
});
