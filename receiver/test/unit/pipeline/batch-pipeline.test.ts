import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { UnicopError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log.js';
import type { Db } from '../../../src/database.js';
import type { JsonObject } from '../../../src/model/netbox-webhook.js';
import { createBatchPipeline, type BatchPipelineDeps } from '../../../src/pipeline/batch-pipeline.js';
import { createBatchMetrics } from '../../../src/pipeline/ingest/batch-metrics.js';
import { createIngestMetrics } from '../../../src/pipeline/ingest/ingest-metrics.js';
import { DEFAULT_ROOT_POLICY } from '../../../src/pipeline/normalize/default-root-policy.js';
import { createNormalizer } from '../../../src/pipeline/normalize/normalize.js';
import { createRootResolver } from '../../../src/pipeline/normalize/root-policy.js';
import { GroupCommit } from '../../../src/pipeline/outbox/group-commit.js';
import type { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { TempOutbox } from '../../helpers/temp-outbox.js';
import { createWebhookPipeline } from '../../../src/pipeline/pipeline.js';
import { sequenceEvent } from '../../../src/pipeline/sequence/sequencer.js';
import { createBatchValidator } from '../../../src/pipeline/validate/validate-batch.js';
import { createWebhookValidator } from '../../../src/pipeline/validate/validate-webhook.js';
import { createVerifier } from '../../../src/pipeline/verify/verify-signature.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { inRequest, requestBatch } from '../../helpers/batches.js';
import { fixture, interfaceUpdate, signed } from '../../helpers/fixtures.js';

const DAY_MS = 86_400_000;
/** The captured bodies' timestamp: the tests' clock sits at it, inside the replay window. */
const SENT = Date.parse(fixture('4.7', 'dcim.interface', 'updated').body.timestamp as string);

describe('batch pipeline (real SQLite): per-item answers, whole-batch refusals, outbox order', () => {
  let db: Db;
  let store: OutboxStore;
  const registry = new SchemaRegistry();
  const temp = new TempOutbox('unicop-batch-');

  beforeEach(() => ({ db, store } = temp.open()));
  afterEach(() => temp.close());

  /** The batch and webhook pipelines as the receiver wires them, over one store; the clock, stopping and fullness are the test's. */
  function pipelines(over: Partial<BatchPipelineDeps> = {}) {
    const metrics = { ...createIngestMetrics(new Registry()), ...createBatchMetrics(new Registry()) };
    const deps: BatchPipelineDeps = {
      sources: [{ source: 'netbox://test', normalize: createNormalizer({ source: 'netbox://test', resolveRoot: createRootResolver(DEFAULT_ROOT_POLICY) }) }],
      verify: createVerifier(['unicop-test-secret-0123456789']),
      validate: createWebhookValidator(registry),
      validateBatch: createBatchValidator(registry),
      groupCommit: new GroupCommit({ store, sequence: sequenceEvent, onCommit: () => undefined, maxValueBytes: 1 << 20 }),
      full: () => false,
      stopping: () => false,
      known: (id) => store.event(id) !== undefined,
      replayWindowMs: DAY_MS,
      metrics,
      batchMetrics: metrics,
      log: createLogger('silent'),
      now: () => SENT,
      ...over,
    };
    const acceptBatch = createBatchPipeline(deps);
    return {
      batch: (body: unknown) => {
        const { raw, signature } = signed(body);
        return acceptBatch(raw, signature);
      },
      webhook: (body: unknown) => {
        const { raw, signature } = signed(body);
        return createWebhookPipeline(deps)(raw, signature);
      },
      acceptBatch,
      metrics,
    };
  }

  async function refusal(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (error) {
      assert.ok(error instanceof UnicopError, String(error));
      return error.code;
    }
    assert.fail('answered');
  }

  const outbox = () => db.prepare('SELECT topic, message_id, value FROM outbox ORDER BY pos').all() as { topic: string; message_id: string; value: string }[];
  const rejects = () => db.prepare('SELECT code, details, body FROM rejects ORDER BY outbox_pos').all() as { code: string; details: string; body: Buffer }[];
  const nothingStored = () => assert.deepEqual([outbox().length, rejects().length, store.depth()], [0, 0, 0], 'nothing of the batch is stored');

  it('accepts every item with the id its single webhook would get, and stores them in the request’s order', async () => {
    const body = requestBatch(7, 3);
    // Three roots interleaved, so the outbox order is the items' order and not grouped by root.
    body.events.push(inRequest(interfaceUpdate(8, 801, 1), body.request_id), inRequest(interfaceUpdate(7, 799, 1), body.request_id));
    const p = pipelines();
    const answer = await p.batch(body);
    assert.equal(answer.status, 207);
    assert.deepEqual(
      answer.body.results.map((r) => [r.index, r.result]),
      [0, 1, 2, 3, 4].map((i) => [i, 'accepted']),
    );
    assert.deepEqual(
      outbox().map((r) => [r.topic, r.message_id]),
      answer.body.results.map((r) => ['events', r.id]),
    );
    assert.deepEqual(
      outbox().map((r) => (JSON.parse(r.value) as { subject: string }).subject),
      ['dcim.interface:701', 'dcim.interface:702', 'dcim.interface:703', 'dcim.interface:801', 'dcim.interface:799'],
    );
    // Each item sent alone as a webhook is the same event: a duplicate with the same id.
    for (const [i, item] of body.events.entries()) {
      const single = await p.webhook(item);
      assert.deepEqual([single.status, single.body.id], [200, answer.body.results[i]!.id]);
    }
    assert.equal(outbox().length, 5);
    const items = await p.metrics.batchItems.get();
    assert.deepEqual(
      items.values.map((v) => [v.labels.result, v.value]),
      [['accepted', 5]],
    );
    assert.equal((await p.metrics.batchSize.get()).values.find((v) => v.metricName === 'unicop_batch_size_items_count')?.value, 1);
  });

  it('answers a batch item duplicate when its webhook came first', async () => {
    const body = requestBatch(7, 2);
    const p = pipelines();
    const single = await p.webhook(body.events[1]);
    assert.equal(single.status, 202);
    const answer = await p.batch(body);
    assert.deepEqual(
      answer.body.results.map((r) => [r.result, r.id === single.body.id]),
      [
        ['accepted', false],
        ['duplicate', true],
      ],
    );
    assert.equal(outbox().length, 2);
  });

  it('rejects and keeps a schema-invalid item while its neighbours are accepted, in the items’ order', async () => {
    const body = requestBatch(7, 3);
    const bad = body.events[1] as JsonObject;
    delete (bad.data as JsonObject).id;
    const p = pipelines();
    const answer = await p.batch(body);
    assert.equal(answer.status, 207);
    const [first, second, third] = answer.body.results;
    assert.deepEqual([first?.result, second?.result, third?.result], ['accepted', 'rejected', 'accepted']);
    assert.equal(second?.id, undefined);
    assert.equal(second?.error?.code, 'UNICOP_VALIDATE_SCHEMA');
    assert.ok(
      second?.error?.details.some((d) => d.pointer === '/data' && d.message.includes('"id"')),
      JSON.stringify(second?.error),
    );
    // The reject notice sits between its neighbours' events; the kept body is the item alone.
    assert.deepEqual(
      outbox().map((r) => r.topic),
      ['events', 'rejected', 'events'],
    );
    const [kept] = rejects();
    assert.equal(kept?.code, 'UNICOP_VALIDATE_SCHEMA');
    assert.deepEqual(JSON.parse(kept!.body.toString('utf8')), bad);
    const details = JSON.parse(kept!.details) as { pointer?: string; message: string }[];
    assert.equal(details.at(-1)?.message, `batch item: request_id ${body.request_id}, index 1`);
    const notice = JSON.parse(outbox()[1]!.value) as { type: string; data: { code: string; details: unknown; body: { bytes: number } } };
    assert.equal(notice.type, 'unicop.webhook.rejected');
    assert.deepEqual(notice.data.details, details);
    assert.equal(notice.data.body.bytes, kept!.body.length);
    const counted = await p.metrics.rejected.get();
    assert.equal(counted.values.find((v) => v.labels.code === 'UNICOP_VALIDATE_SCHEMA' && v.labels.authenticated === 'true')?.value, 1);
  });

  it('rejects an item outside the replay window unless its event is already stored', async () => {
    const body = requestBatch(7, 2);
    const p = pipelines();
    const stored = await p.webhook(body.events[0]);
    assert.equal(stored.status, 202);
    const late = pipelines({ now: () => SENT + DAY_MS + 1000 });
    const answer = await late.batch(body);
    assert.deepEqual(
      answer.body.results.map((r) => [r.result, r.error?.code]),
      [
        ['duplicate', undefined],
        ['rejected', 'UNICOP_VERIFY_REPLAY_WINDOW'],
      ],
    );
    assert.deepEqual(
      rejects().map((r) => r.code),
      ['UNICOP_VERIFY_REPLAY_WINDOW'],
    );
  });

  it('answers the same item twice in one batch accepted, then duplicate, and stores it once', async () => {
    const body = requestBatch(7, 1);
    body.events.push(structuredClone(body.events[0]));
    const answer = await pipelines().batch(body);
    const [first, second] = answer.body.results;
    assert.deepEqual([first?.result, second?.result], ['accepted', 'duplicate']);
    assert.equal(second?.id, first?.id);
    assert.equal(outbox().length, 1);
  });

  it('refuses an unsigned batch 401 before telling that it is stopping or full, and stores nothing', async () => {
    const { raw } = signed(requestBatch(7, 1));
    const p = pipelines({ stopping: () => true, full: () => true });
    assert.equal(await refusal(p.acceptBatch(raw, undefined)), 'UNICOP_VERIFY_SIGNATURE_MISSING');
    assert.equal(await refusal(p.acceptBatch(raw, 'ab'.repeat(64))), 'UNICOP_VERIFY_SIGNATURE_MISMATCH');
    const counted = await p.metrics.rejected.get();
    assert.equal(counted.values.find((v) => v.labels.authenticated === 'false' && v.labels.code === 'UNICOP_VERIFY_SIGNATURE_MISMATCH')?.value, 1);
    nothingStored();
  });

  it('refuses a whole batch 503 while stopping, or when any valid item’s route is full — bad items are not kept either', async () => {
    const body = requestBatch(7, 2);
    body.events.push({ not: 'a webhook' });
    assert.equal(await refusal(pipelines({ stopping: () => true }).batch(body)), 'UNICOP_INGEST_STOPPING');
    const asked: (string | undefined)[] = [];
    const full = pipelines({ full: (route) => (asked.push(route), asked.length === 2) });
    assert.equal(await refusal(full.batch(body)), 'UNICOP_OUTBOX_FULL');
    assert.equal(asked.length, 2, 'the second valid item’s route was full');
    nothingStored();
  });

  it('refuses a whole batch 503 when the store fails, with nothing of it stored', async () => {
    const failing = Object.create(store) as OutboxStore;
    failing.transaction = () => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    };
    const groupCommit = new GroupCommit({ store: failing, sequence: sequenceEvent, onCommit: () => undefined, maxValueBytes: 1 << 20 });
    const body = requestBatch(7, 2);
    body.events.push({ not: 'a webhook' });
    assert.equal(await refusal(pipelines({ groupCommit }).batch(body)), 'UNICOP_OUTBOX_WRITE_FAILED');
    nothingStored();
  });

  it('keeps a body that is not a batch as one reject (400), with the whole body', async () => {
    const p = pipelines();
    const notJson = Buffer.from('{"request_id": "x", "events": [');
    assert.equal(await refusal(p.acceptBatch(notJson, signed(notJson).signature)), 'UNICOP_VALIDATE_MALFORMED_JSON');
    const cases: unknown[] = [
      { events: [fixture('4.7', 'dcim.interface', 'updated').body] }, // no request_id
      { request_id: 'not-a-uuid', events: [{}] },
      { request_id: randomUUID(), events: [] },
      { request_id: randomUUID(), events: {} },
      { request_id: randomUUID(), events: Array.from({ length: 1001 }, () => ({})) },
      [fixture('4.7', 'dcim.interface', 'updated').body],
      fixture('4.7', 'dcim.interface', 'updated').body, // a single webhook sent to the batch endpoint
    ];
    for (const body of cases) assert.equal(await refusal(p.batch(body)), 'UNICOP_VALIDATE_SCHEMA', JSON.stringify(body).slice(0, 80));
    const kept = rejects();
    assert.equal(kept.length, 1 + cases.length, 'one reject per refused batch, none per item');
    assert.deepEqual(kept[0]?.body, notJson);
    assert.deepEqual(JSON.parse(kept[3]!.body.toString('utf8')), cases[2]);
    assert.deepEqual(
      outbox().map((r) => r.topic),
      kept.map(() => 'rejected'),
    );
  });

  it('rejects an item whose event is too large for Kafka and keeps it, while the others are accepted', async () => {
    const body = requestBatch(7, 3);
    ((body.events[2] as JsonObject).data as JsonObject).description = 'x'.repeat(300_000);
    const small = new GroupCommit({ store, sequence: sequenceEvent, onCommit: () => undefined, maxValueBytes: 200_000 });
    const answer = await pipelines({ groupCommit: small }).batch(body);
    assert.deepEqual(
      answer.body.results.map((r) => [r.result, r.error?.code]),
      [
        ['accepted', undefined],
        ['accepted', undefined],
        ['rejected', 'UNICOP_NORMALIZE_EVENT_TOO_LARGE'],
      ],
    );
    assert.deepEqual(
      rejects().map((r) => r.code),
      ['UNICOP_NORMALIZE_EVENT_TOO_LARGE'],
    );
    assert.deepEqual(
      outbox().map((r) => r.topic),
      ['events', 'events', 'rejected'],
    );
  });
});
