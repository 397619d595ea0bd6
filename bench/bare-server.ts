// The baseline: the same route on bare Express 5 with no auth, no helmet. Run as its own process by bench/run.ts.
// ETAG=off turns Express's ETag off, as sheetgate's own app has it. HTTP_SERVER=sheetgate serves it through
// sheetgate's createHttpServer (req/res built with the app's prototypes) instead of app.listen: with both, the
// like-for-like baseline.
import express from 'express';
import { createHttpServer } from '../src/http/http-server';

const app = express();
if (process.env['ETAG'] === 'off') {
  app.set('etag', false);
}
app.get('/api/hello', (_req, res) => {
  res.json({ message: 'hello, anonymous' });
});
const server = process.env['HTTP_SERVER'] === 'sheetgate' ? createHttpServer(app) : undefined;
const listening = (server ?? app).listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  const address = listening.address();
  process.stdout.write(`listening on port ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => listening.close(() => process.exit(0)));
