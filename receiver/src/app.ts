import express, { type NextFunction, type Request, type Response } from 'express';
import { UnicopError, isUnicopError } from './errors.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { rawBodyOf, readBody } from './pipeline/ingest/read-body.js';
import { RETRY_AFTER_SECONDS, type AcceptWebhook } from './pipeline/pipeline.js';
import { SIGNATURE_HEADER } from './pipeline/verify/verify-signature.js';

export interface Readiness {
  kafkaReachable: boolean;
  outboxDepth: number;
  outboxLimit: number;
}

export interface AppDeps {
  acceptWebhook: AcceptWebhook;
  readiness: () => Readiness;
  maxBodyBytes: number;
  metrics: Metrics;
  log: Logger;
}

/** The HTTP surface of `openapi/unicop.yaml`. Builds the app only; `main.ts` listens. */
export function buildApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const { metrics } = deps;

  app.post('/v1/netbox/webhooks', ...readBody(deps.maxBodyBytes), async (req, res, next) => {
    const stopTimer = metrics.acceptSeconds.startTimer();
    try {
      const signature = req.headers[SIGNATURE_HEADER];
      const accepted = await deps.acceptWebhook(rawBodyOf(req), Array.isArray(signature) ? signature[0] : signature);
      stopTimer();
      metrics.webhookRequests.inc({ status: String(accepted.status), code: accepted.body.result });
      res.status(accepted.status).json(accepted.body);
    } catch (error) {
      next(error);
    }
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', (_req, res) => {
    const r = deps.readiness();
    const ready = r.kafkaReachable && r.outboxDepth < r.outboxLimit;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not_ready',
      checks: { kafka: { reachable: r.kafkaReachable }, outbox: { depth: r.outboxDepth, limit: r.outboxLimit } },
    });
  });

  app.get('/metrics', async (_req, res, next) => {
    try {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    } catch (error) {
      next(error);
    }
  });

  app.use((req, _res, next) => {
    next(new UnicopError('UNICOP_HTTP_NOT_FOUND', `no route for ${req.method} ${req.path}`));
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const known = isUnicopError(error)
      ? error
      : new UnicopError('UNICOP_HTTP_INTERNAL', 'internal error', { cause: error });
    if (!isUnicopError(error)) deps.log.error({ err: error, path: req.path }, 'unexpected error');
    if (req.path === '/v1/netbox/webhooks') {
      metrics.webhookRequests.inc({ status: String(known.httpStatus), code: known.code });
    }
    if (known.httpStatus === 503) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
    res.status(known.httpStatus).json(known.toBody());
  });

  return app;
}
