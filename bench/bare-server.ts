// The baseline: the same route on bare Express 5 with no auth, no helmet. Run as its own process by bench/run.ts.
// ETAG=off turns Express's ETag off, as sheetgate's own app has it: the like-for-like baseline.
import express from 'express';

const app = express();
if (process.env['ETAG'] === 'off') {
  app.set('etag', false);
}
app.get('/api/hello', (_req, res) => {
  res.json({ message: 'hello, anonymous' });
});
const server = app.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening on port ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
