import express, { type NextFunction, type Request, type Response } from 'express';
import type { TokenCheck } from './api/authenticate.js';
import { readOnBehalfOf } from './api/on-behalf-of.js';
import type { RootsApi } from './api/roots-api.js';
import type { NotificationResult } from './reconcile/reconciler.js';
import { UnicopError, isUnicopError, type ErrorCode } from './errors.js';
import type { components } from './generated/openapi.js';
import type { Logger } from './log.js';
import type { Registry } from 'prom-client';
import type { IngestMetrics } from './pipeline/ingest/ingest-metrics.js';
import { rawBodyOf, readBody } from './pipeline/ingest/read-body.js';
import { RETRY_AFTER_SECONDS, type AcceptWebhook } from './pipeline/pipeline.js';
import { SIGNATURE_HEADER } from './pipeline/verify/verify-signature.js';

export interface Readiness {
  kafkaReachable: boolean;
  outboxDepth: number;
  outboxLimit: number;
  /** Set while the database refuses writes (disk full, I/O error), until a write succeeds again. */
  storeFault: { code: string; part: string; since: number } | null;
}

export interface AppDeps {
  acceptWebhook: AcceptWebhook;
  roots: RootsApi;
  checkToken: TokenCheck;
  /** Checks the body's shape (400 `UNICOP_AWX_BODY_INVALID`), then applies it. */
  notifyAwx: (body: unknown) => NotificationResult;
  checkNotify: (authorization: string | undefined) => void;
  readiness: () => Readiness;
  maxBodyBytes: number;
  /** What `GET /metrics` serves, and the request metrics this app counts. */
  metrics: Pick<IngestMetrics, 'webhookRequests' | 'acceptSeconds'> & { registry: Registry };
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

  app.use('/v1/roots', rootsRouter(deps));

  app.post(
    '/v1/awx/notifications',
    (req, _res, next) => {
      try {
        deps.checkNotify(req.headers.authorization);
        next();
      } catch (error) {
        next(error);
      }
    },
    jsonBody('1mb', 'UNICOP_AWX_BODY_INVALID'),
    (req, res) => {
      res.status(202).json({ result: deps.notifyAwx(req.body as unknown) });
    },
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', (_req, res) => {
    const r = deps.readiness();
    const ready = r.kafkaReachable && r.outboxDepth < r.outboxLimit && r.storeFault === null;
    const store: components['schemas']['Readiness']['checks']['store'] = r.storeFault
      ? { writable: false, code: r.storeFault.code, part: r.storeFault.part, since: new Date(r.storeFault.since).toISOString() }
      : { writable: true };
    const body: components['schemas']['Readiness'] = {
      status: ready ? 'ready' : 'not_ready',
      checks: { kafka: { reachable: r.kafkaReachable }, outbox: { depth: r.outboxDepth, limit: r.outboxLimit }, store },
    };
    res.status(ready ? 200 : 503).json(body);
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
    const known = isUnicopError(error) ? error : new UnicopError('UNICOP_HTTP_INTERNAL', 'internal error', { cause: error });
    if (!isUnicopError(error)) deps.log.error({ err: error, path: req.path }, 'unexpected error');
    if (req.path === '/v1/netbox/webhooks') {
      metrics.webhookRequests.inc({ status: String(known.httpStatus), code: known.code });
    }
    if (known.httpStatus === 503) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
    res.status(known.httpStatus).json(known.toBody());
  });

  return app;
}

/** express.json, with its parse and size errors answered as `code` (400) like every other error. */
function jsonBody(limit: string, code: ErrorCode): express.RequestHandler {
  const parse = express.json({ limit, strict: true });
  return (req, res, next) => parse(req, res, (err?: unknown) => next(err && new UnicopError(code, 'the body is not acceptable JSON', { cause: err })));
}

/** `/v1/roots/*`: every route needs a service token; the caller's fingerprint travels in `res.locals`. */
function rootsRouter(deps: AppDeps): express.Router {
  const router = express.Router();
  router.use((req, res, next) => {
    try {
      res.locals.caller = deps.checkToken(req.headers.authorization);
      next();
    } catch (error) {
      next(error);
    }
  });
  router.get('/', (req, res) => {
    res.json(deps.roots.listRoots(req.query));
  });
  router.get('/:root', (req, res) => {
    res.json(deps.roots.getRoot(req.params.root as string, req.query));
  });
  router.get('/:root/timeline', (req, res) => {
    res.json(deps.roots.getTimeline(req.params.root as string, req.query));
  });
  router.post('/:root/reconcile', jsonBody('16kb', 'UNICOP_API_BODY_INVALID'), async (req, res, next) => {
    try {
      const key = req.headers['idempotency-key'];
      // headersDistinct: a header sent twice stays two values (and is refused) instead of being joined with ", ".
      const onBehalfOf = readOnBehalfOf(req.headersDistinct['x-unicop-on-behalf-of']);
      const r = await deps.roots.requestReconcile(
        req.params.root as string,
        req.body,
        String(res.locals.caller),
        Array.isArray(key) ? key[0] : key,
        onBehalfOf,
      );
      res.status(r.status).json(r.body);
    } catch (error) {
      next(error);
    }
  });
  // A `{root}` with a bad %-encoding fails in the router's own decoding (a URIError), before any handler.
  router.use((error: unknown, _req: Request, _res: Response, next: NextFunction) => {
    next(error instanceof URIError ? new UnicopError('UNICOP_API_ROOT_INVALID', '{root} is not valid %-encoding', { cause: error }) : error);
  });
  return router;
}
