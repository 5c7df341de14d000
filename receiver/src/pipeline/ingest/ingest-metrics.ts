import { Counter, Histogram, type Registry } from 'prom-client';

/** The webhook endpoint's metrics: requests by answer, time to the durable answer, refusals. */
export function createIngestMetrics(registry: Registry) {
  const webhookRequests = new Counter({
    name: 'unicop_webhook_requests_total',
    help: 'Webhook requests by HTTP status and result code (accepted, duplicate or an error code).',
    labelNames: ['status', 'code'] as const,
    registers: [registry],
  });
  const acceptSeconds = new Histogram({
    name: 'unicop_webhook_accept_seconds',
    help: 'Time from the end of the request body to the durable answer (202/200), including group commit.',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'unicop_rejected_total',
    help: 'Inputs refused, by error code and whether they were authenticated (kept) or not (only counted).',
    labelNames: ['code', 'authenticated'] as const,
    registers: [registry],
  });
  return { webhookRequests, acceptSeconds, rejected };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
