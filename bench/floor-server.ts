/**
 * The floor under sheetgate's hot path, for bench/run.ts: bare Express 5 (ETag off, served through createHttpServer,
 * as sheetgate is) doing only what the HTTP contract obliges every accepted response to do, written by hand in one middleware,
 * without sheetgate's code.
 * FLOOR=headers: the response headers alone (helmet's five, RateLimit-Limit/-Remaining/-Reset/-Policy, X-Client-Name),
 * static values. FLOOR=auth: those headers plus the work behind them — the Bearer key read, sha256, a Map lookup, one
 * rate-limiter-flexible consume. FLOOR_KEYS_FILE: a JSON array of the keys it accepts.
 */
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { createHttpServer } from '../src/http/http-server';

const SECURITY_HEADERS: [string, string][] = [
  ['Content-Security-Policy', "default-src 'none';frame-ancestors 'none'"],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
];

function setSecurityHeaders(res: Response): void {
  for (const [name, value] of SECURITY_HEADERS) {
    res.setHeader(name, value);
  }
}

function headersOnly(_req: Request, res: Response, next: NextFunction): void {
  setSecurityHeaders(res);
  res.setHeader('RateLimit-Limit', '1000000000');
  res.setHeader('RateLimit-Remaining', '999999999');
  res.setHeader('RateLimit-Reset', '60');
  res.setHeader('RateLimit-Policy', '1000000000;w=60');
  res.setHeader('X-Client-Name', 'client-0');
  next();
}

function minimalAuth(): (req: Request, res: Response, next: NextFunction) => void {
  const keys = JSON.parse(readFileSync(process.env['FLOOR_KEYS_FILE'] ?? '', 'utf8')) as string[];
  const byHash = new Map(keys.map((key, n) => [hash('sha256', key, 'hex'), { name: `client-${n}`, id: String(n) }]));
  const limiter = new RateLimiterMemory({ points: 1_000_000_000, duration: 60 });
  return function floorAuth(req, res, next) {
    setSecurityHeaders(res);
    const header = req.headers.authorization ?? '';
    const client = byHash.get(hash('sha256', header.slice(7), 'hex'));
    if (!header.startsWith('Bearer ') || client === undefined) {
      res.status(401).end();
      return;
    }
    void limiter.consume(client.id).then((r) => {
      res.setHeader('RateLimit-Limit', '1000000000');
      res.setHeader('RateLimit-Remaining', String(r.remainingPoints));
      res.setHeader('RateLimit-Reset', String(Math.ceil(r.msBeforeNext / 1000)));
      res.setHeader('RateLimit-Policy', '1000000000;w=60');
      res.setHeader('X-Client-Name', client.name);
      next();
    });
  };
}

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(process.env['FLOOR'] === 'auth' ? minimalAuth() : headersOnly);
app.get('/api/hello', (_req, res) => {
  res.json({ message: 'hello, anonymous' });
});
const server = createHttpServer(app).listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening on port ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
