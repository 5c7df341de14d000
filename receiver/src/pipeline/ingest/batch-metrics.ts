import { Counter, Histogram, type Registry } from 'prom-client';

/** `POST /v1/netbox/batches`: requests by answer, items by result, items per batch. */
export function createBatchMetrics(registry: Registry) {
  const batchRequests = new Counter({
    name: 'unicop_batch_requests_total',
    help: 'Batch requests by HTTP status and result code (answered for a 207, else the error code of the whole-batch answer).',
    labelNames: ['status', 'code'] as const,
    registers: [registry],
  });
  const batchItems = new Counter({
    name: 'unicop_batch_items_total',
    help: 'Items of answered (207) batches by result: accepted, duplicate or rejected (kept; its code is in unicop_rejected_total).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'unicop_batch_size_items',
    help: 'Items per answered (207) batch.',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [registry],
  });
  return { batchRequests, batchItems, batchSize };
}

export type BatchMetrics = ReturnType<typeof createBatchMetrics>;
