import { Registry } from 'prom-client';
import { createLogger } from '../../src/log.js';
import { createIngestMetrics } from '../../src/pipeline/ingest/ingest-metrics.js';
import { DEFAULT_ROOT_POLICY } from '../../src/pipeline/normalize/default-root-policy.js';
import { createNormalizer } from '../../src/pipeline/normalize/normalize.js';
import { createRootResolver } from '../../src/pipeline/normalize/root-policy.js';
import type { GroupCommit } from '../../src/pipeline/outbox/group-commit.js';
import type { OutboxStore } from '../../src/pipeline/outbox/outbox-store.js';
import { createWebhookPipeline } from '../../src/pipeline/pipeline.js';
import { createWebhookValidator } from '../../src/pipeline/validate/validate-webhook.js';
import { createVerifier } from '../../src/pipeline/verify/verify-signature.js';
import type { SchemaRegistry } from '../../src/schema-registry.js';
import { TEST_SECRET } from './fixtures.js';

/**
 * The signed-webhook pipeline in process, over a real store and group commit: TEST_SECRET, the default
 * root policy, source `netbox://test`, a replay window wide enough for the captured fixtures.
 */
export function unitWebhookPipeline(store: OutboxStore, groupCommit: GroupCommit, registry: SchemaRegistry) {
  return createWebhookPipeline({
    sources: [{ source: 'netbox://test', normalize: createNormalizer({ source: 'netbox://test', resolveRoot: createRootResolver(DEFAULT_ROOT_POLICY) }) }],
    verify: createVerifier([TEST_SECRET]),
    validate: createWebhookValidator(registry),
    groupCommit,
    full: () => store.depth() + groupCommit.queued >= 1000,
    stopping: () => false,
    known: (id) => store.event(id) !== undefined,
    replayWindowMs: 10 * 365 * 86_400_000,
    metrics: createIngestMetrics(new Registry()),
    log: createLogger('silent'),
  });
}
