/**
 * The floor under sheetgate's hot path, for bench/run.ts: bare Express 5 (ETag off, served through createHttpServer,
 * as sheetgate is) doing only what the contract obliges every accepted response to do, written by hand in one
 * middleware, without sheetgate's code.
 * FLOOR=headers: the response headers alone (the five security headers, RateLimit-Limit/-Remaining/-Reset/-Policy,
 * X-Client-Name), static values. FLOOR=auth: those headers plus the work behind them — the key read from
 * `Authorization: Bearer|ApiKey` (scheme in any case) or `X-API-Key`, sha256, a Map lookup, the active and expiry
 * checks against the clock, one rate-limiter-flexible consume, `req.auth`, X-Sheetgate-Key-Expiration for a key that
 * expires, and the key's usage counted in memory. FLOOR_KEYS_FILE: a JSON array of the keys it accepts;
 * FLOOR_EXPIRES_AT: an ISO date at which all of them expire (none when unset).
 * What it leaves out of the contract, so it stays a floor: refusal bodies, repeated-credential detection, the per-key
 * allowed addresses and quotas (no bench key has either), metrics, logging.
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

/** The key of `Authorization: Bearer|ApiKey <key>` or `X-API-Key: <key>`, or undefined. */
function presentedKey(raw: readonly string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const spelled = raw[i] ?? '';
    // Only a name of the right length is lower-cased and compared: most headers are neither.
    if (spelled.length !== 13 && spelled.length !== 9) {
      continue;
    }
    const name = spelled.toLowerCase();
    const value = (raw[i + 1] ?? '').trim();
    if (name === 'authorization') {
      const space = value.indexOf(' ');
      const scheme = value.slice(0, space).toLowerCase();
      return scheme === 'bearer' || scheme === 'apikey' ? value.slice(space + 1).trim() : undefined;
    }
    if (name === 'x-api-key') {
      return value;
    }
  }
  return undefined;
}

interface Client {
  readonly id: string;
  readonly name: string;
  readonly active: boolean;
  readonly expiresAt: number;
  readonly expiration: string | undefined;
  /** `req.auth`, made once per key. */
  readonly auth: NonNullable<Request['auth']>;
  used: number;
  lastUsedAt: number;
}

function minimalAuth(): (req: Request, res: Response, next: NextFunction) => void {
  const keys = JSON.parse(readFileSync(process.env['FLOOR_KEYS_FILE'] ?? '', 'utf8')) as string[];
  const expires = process.env['FLOOR_EXPIRES_AT'];
  const expiresAt = expires === undefined ? Infinity : Date.parse(expires);
  const expiration = expires === undefined ? undefined : new Date(expiresAt).toISOString();
  const byHash = new Map(
    keys.map((key, n): [string, Client] => {
      const digest = hash('sha256', key, 'hex');
      const client = { name: `client-${n}`, id: digest.slice(0, 16), active: true, expiresAt, expiration };
      return [
        digest,
        {
          ...client,
          auth: { clientName: client.name, keyId: client.id, scopes: [], limit: 1e9, expiresAt, quota: undefined },
          used: 0,
          lastUsedAt: 0,
        },
      ];
    }),
  );
  const limiter = new RateLimiterMemory({ points: 1_000_000_000, duration: 60 });
  return function floorAuth(req, res, next) {
    setSecurityHeaders(res);
    const key = presentedKey(req.rawHeaders);
    const client = key === undefined ? undefined : byHash.get(hash('sha256', key, 'hex'));
    const now = Date.now();
    if (client === undefined || !client.active || now >= client.expiresAt) {
      res.status(401).end();
      return;
    }
    void limiter.consume(client.id).then((r) => {
      res.setHeader('RateLimit-Limit', '1000000000');
      res.setHeader('RateLimit-Remaining', String(r.remainingPoints));
      res.setHeader('RateLimit-Reset', String(Math.ceil(r.msBeforeNext / 1000)));
      res.setHeader('RateLimit-Policy', '1000000000;w=60');
      res.setHeader('X-Client-Name', client.name);
      if (client.expiration !== undefined) {
        res.setHeader('X-Sheetgate-Key-Expiration', client.expiration);
      }
      req.auth = client.auth;
      client.used += 1;
      client.lastUsedAt = now;
      next();
    });
  };
}

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(process.env['FLOOR'] === 'auth' ? minimalAuth() : headersOnly);
app.get('/api/hello', (req, res) => {
  res.json({ message: `hello, ${req.auth?.clientName ?? 'anonymous'}` });
});
const server = createHttpServer(app).listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening on port ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
