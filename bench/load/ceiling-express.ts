/**
 * Ceiling A: the least an express server can do for a webhook — the receiver's 1 MiB
 * `express.raw` body limit, JSON.parse of the body, 202 with a small JSON answer. No signature,
 * no schema, no SQLite, no Kafka. Run as its own process by main.ts (PORT in the environment);
 * exits when its parent goes away (IPC channel closed) or on SIGTERM/SIGINT.
 */
import express from 'express';

const MAX_BODY_BYTES = 1024 * 1024; // the receiver's default UNICOP_MAX_BODY_BYTES

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.post('/v1/netbox/webhooks', express.raw({ type: () => true, limit: MAX_BODY_BYTES, inflate: false }), (req, res) => {
  const body = JSON.parse((req.body as Buffer).toString('utf8')) as { request?: { id?: string } };
  res.status(202).json({ result: 'accepted', id: body.request?.id ?? null });
});
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

const server = app.listen(Number(process.env.PORT), '127.0.0.1');
const stop = (): void => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
