/**
 * Request and response plumbing shared by the API and admin surfaces: bounded body reading, JSON in, Google-style
 * JSON out, and silence towards clients that already hung up.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GoogleError } from './errors';

const MAX_BODY_BYTES = 10 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) {
      throw new GoogleError(413, 'Request payload size exceeds the limit.');
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function parseJson(text: string): unknown {
  if (text.trim() === '') {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new GoogleError(400, 'Invalid JSON payload received. Unexpected token.');
  }
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) {
    return; // the client gave up (timeout) or the emulator went down: nobody to answer
  }
  const text = body === undefined ? '' : JSON.stringify(body, null, 2);
  res.writeHead(status, {
    ...(text === '' ? {} : { 'content-type': 'application/json; charset=UTF-8' }),
    // No keep-alive: after down() every client request then fails with ECONNREFUSED, never a racy ECONNRESET on a
    // pooled socket.
    connection: 'close',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: GoogleError): void {
  const headers: Record<string, string> = {};
  if (error.code === 401) {
    headers['www-authenticate'] = 'Bearer realm="https://accounts.google.com/", error="invalid_token"';
  }
  if (error.reason !== undefined) {
    // Reasons may quote attacker-chosen JWT fields: keep the header to printable ASCII so writeHead cannot throw.
    headers['x-emulator-reason'] = error.reason.replace(/[^\x20-\x7e]/g, '?');
  }
  send(res, error.code, error.body(), headers);
}
