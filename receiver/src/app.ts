import { isStoreFault, storeCode } from './pipeline/outbox/store-health.js';
import express, { type NextFunction, type Request, type Response } from 'express';
import { readOnBehalfOf } from './api/on-behalf-of.js';
import { inventoryBody, type InventoryView } from './api/inventory-api.js';
import type { RootsApi } from './api/roots-api.js';
import type { SnapshotsApi } from './snapshot/snapshots-api.js';
import { SNAPSHOT_TARGET } from './snapshot/snapshots-api.js';
import type { NotificationResult } from './reconcile/reconciler.js';
import { UnicopError, isUnicopError, type ErrorCode } from './errors.js';
import type { ApiAccess, Guard } from './iam/api-access.js';
import type { components } from './generated/openapi.js';
import type { Logger } from './log.js';
import type { Registry } from 'prom-client';
import type { IngestMetrics } from './pipeline/ingest/ingest-metrics.js';
import { rawBodyOf, readBody } from './pipeline/ingest/read-body.js';
import type { AcceptBatch } from './pipeline/batch-pipeline.js';
import type { BatchMetrics } from './pipeline/ingest/batch-metrics.js';
import { RETRY_AFTER_SECONDS, type AcceptWebhook } from './pipeline/pipeline.js';
import { SIGNATURE_HEADER } from './pipeline/verify/verify-signature.js';

export interface Readiness {
  /** Per route: its cluster reachable, its unpublished rows and limit. */
  /** `code`: while unreachable, the error code of the last failed contact (a refused password, an untrusted certificate…). */
  routes: ReadonlyMap<string, { reachable: boolean; code?: string; depth: number; limit: number }>;
  outboxDepth: number;
  outboxLimit: number;
  /** Set while the database refuses writes (disk full, I/O error), until a write succeeds again. */
  storeFault: { code: string; part: string; since: number } | null;
}

export interface AppDeps {
  acceptWebhook: AcceptWebhook;
  acceptBatch: AcceptBatch;
  roots: RootsApi;
  snapshots: SnapshotsApi;
  inventory: InventoryView;
  /** Bearer credentials and the IAM policy of the /v1 API (docs/identity.md). */
  access: ApiAccess;
  /** Checks the body's shape (400 `UNICOP_AWX_BODY_INVALID`), then applies it. */
  notifyAwx: (body: unknown) => NotificationResult;
  checkNotify: (authorization: string | undefined) => void;
  readiness: () => Readiness;
  maxBodyBytes: number;
  /** What `GET /metrics` serves, and the request metrics this app counts. */
  metrics: Pick<IngestMetrics, 'webhookRequests' | 'acceptSeconds'> & Pick<BatchMetrics, 'batchRequests'> & { registry: Registry };
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

  app.post('/v1/netbox/batches', ...readBody(deps.maxBodyBytes), async (req, res, next) => {
    try {
      const signature = req.headers[SIGNATURE_HEADER];
      const answer = await deps.acceptBatch(rawBodyOf(req), Array.isArray(signature) ? signature[0] : signature);
      metrics.batchRequests.inc({ status: String(answer.status), code: 'answered' });
      res.status(answer.status).json(answer.body);
    } catch (error) {
      next(error);
    }
  });

  app.use('/v1/roots', rootsRouter(deps));
  app.use('/v1/snapshots', snapshotsRouter(deps));

  app.get('/v1/inventory/policy', async (req, res, next) => {
    try {
      const principal = await deps.access.authenticate(req.headers.authorization, 'roots:read', null);
      if (!deps.access.guard(principal).mayAnywhere('roots:read')) {
        throw new UnicopError('UNICOP_API_FORBIDDEN', 'no role of the caller gives roots:read');
      }
      res.json(inventoryBody(deps.inventory));
    } catch (error) {
      next(error);
    }
  });

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
    const routes = [...r.routes];
    const flowing = routes.filter(([, route]) => route.reachable && route.depth < route.limit).length;
    // One route down or full leaves the others flowing: degraded, still in service.
    const status = r.storeFault !== null || flowing === 0 ? 'not_ready' : flowing < routes.length ? 'degraded' : 'ready';
    const store: components['schemas']['Readiness']['checks']['store'] = r.storeFault
      ? { writable: false, code: r.storeFault.code, part: r.storeFault.part, since: new Date(r.storeFault.since).toISOString() }
      : { writable: true };
    const body: components['schemas']['Readiness'] = {
      status,
      checks: {
        kafka: { reachable: routes.every(([, route]) => route.reachable), ...kafkaFault(routes) },
        routes: Object.fromEntries(routes),
        outbox: { depth: r.outboxDepth, limit: r.outboxLimit },
        store,
      },
    };
    res.status(status === 'not_ready' ? 503 : 200).json(body);
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
      : isStoreFault(error)
        ? new UnicopError('UNICOP_STORE_UNAVAILABLE', `the store did not answer (${storeCode(error)})`, { cause: error })
        : new UnicopError('UNICOP_HTTP_INTERNAL', 'internal error', { cause: error });
    if (!isUnicopError(error)) deps.log.error({ err: error, path: req.path }, isStoreFault(error) ? 'store out of reach' : 'unexpected error');
    if (req.path === '/v1/netbox/webhooks') {
      metrics.webhookRequests.inc({ status: String(known.httpStatus), code: known.code });
    } else if (req.path === '/v1/netbox/batches') {
      metrics.batchRequests.inc({ status: String(known.httpStatus), code: known.code });
    }
    if (known.httpStatus === 503) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
    res.status(known.httpStatus).json(known.toBody());
  });

  return app;
}

/** express.json, with its parse and size errors answered as `code` (400) like every other error. */
/** The first unreachable route's reason, so a receiver without a federation file shows it beside `reachable`. */
function kafkaFault(routes: [string, { reachable: boolean; code?: string }][]): { code?: string } {
  const code = routes.find(([, route]) => !route.reachable && route.code !== undefined)?.[1].code;
  return code === undefined ? {} : { code };
}

function jsonBody(limit: string, code: ErrorCode): express.RequestHandler {
  const parse = express.json({ limit, strict: true });
  return (req, res, next) => parse(req, res, (err?: unknown) => next(err && new UnicopError(code, 'the body is not acceptable JSON', { cause: err })));
}

/**
 * `/v1/roots/*`: every route needs a bearer credential (a service token or, with OIDC, a JWT); the
 * caller's guard — its principal under the policy in force when the request arrived — travels in
 * `res.locals`.
 */
function rootsRouter(deps: AppDeps): express.Router {
  const router = express.Router();
  router.use(async (req, res, next) => {
    try {
      // The target is only named once it is a plausible root key: the audit keeps no arbitrary path text.
      const target = /^\/[a-z_.]+:[0-9]{1,18}(\/|$)/.exec(req.path)?.[0].replace(/\//g, '') ?? null;
      const principal = await deps.access.authenticate(req.headers.authorization, req.method === 'POST' ? 'roots:reconcile' : 'roots:read', target);
      res.locals.guard = deps.access.guard(principal);
      next();
    } catch (error) {
      next(error);
    }
  });
  const guardOf = (res: Response): Guard => res.locals.guard as Guard;
  router.get('/', (req, res) => {
    res.json(deps.roots.listRoots(req.query, guardOf(res)));
  });
  router.get('/:root', (req, res) => {
    res.json(deps.roots.getRoot(req.params.root as string, req.query, guardOf(res)));
  });
  router.get('/:root/timeline', (req, res) => {
    res.json(deps.roots.getTimeline(req.params.root as string, req.query, guardOf(res)));
  });
  router.post('/:root/reconcile', jsonBody('16kb', 'UNICOP_API_BODY_INVALID'), async (req, res, next) => {
    try {
      const key = req.headers['idempotency-key'];
      // headersDistinct: a header sent twice stays two values (and is refused) instead of being joined with ", ".
      const onBehalfOf = readOnBehalfOf(req.headersDistinct['x-unicop-on-behalf-of']);
      const guard = guardOf(res);
      const root = req.params.root as string;
      const r = await deps.roots.requestReconcile(root, req.body, guard.principal, Array.isArray(key) ? key[0] : key, onBehalfOf, guard);
      guard.performed(root, 'roots:reconcile', r.body.result === 'accepted' ? 'reconcile requested' : 'duplicate reconcile request', r.body.id);
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

/** `/v1/snapshots`: bearer credentials like `/v1/roots`; the permission is `snapshots:run` (snapshot/snapshots-api.ts). */
function snapshotsRouter(deps: AppDeps): express.Router {
  const router = express.Router();
  router.use(async (req, res, next) => {
    try {
      const principal = await deps.access.authenticate(req.headers.authorization, 'snapshots:run', SNAPSHOT_TARGET);
      res.locals.guard = deps.access.guard(principal);
      next();
    } catch (error) {
      next(error);
    }
  });
  router.post('/', (_req, res) => {
    res.status(202).json(deps.snapshots.start(res.locals.guard as Guard));
  });
  router.get('/:id', (req, res) => {
    res.json(deps.snapshots.get(req.params.id as string, res.locals.guard as Guard));
  });
  return router;
}
