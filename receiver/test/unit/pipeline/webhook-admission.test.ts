import { strict as assert } from 'node:assert';
import { UnicopError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log.js';
import { Registry } from 'prom-client';
import { createIngestMetrics } from '../../../src/pipeline/ingest/ingest-metrics.js';
import { DEFAULT_ROOT_POLICY } from '../../../src/pipeline/normalize/default-root-policy.js';
import { createNormalizer } from '../../../src/pipeline/normalize/normalize.js';
import { createRootResolver } from '../../../src/pipeline/normalize/root-policy.js';
import type { Db } from '../../../src/database.js';
import { GroupCommit } from '../../../src/pipeline/outbox/group-commit.js';
import type { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { TempOutbox } from '../../helpers/temp-outbox.js';
import { createWebhookPipeline, type PipelineDeps } from '../../../src/pipeline/pipeline.js';
import { sequenceEvent } from '../../../src/pipeline/sequence/sequencer.js';
import { createWebhookValidator } from '../../../src/pipeline/validate/validate-webhook.js';
import { createVerifier } from '../../../src/pipeline/verify/verify-signature.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { fixture, signed, TEST_SECRET } from '../../helpers/fixtures.js';

const DAY_MS = 86_400_000;

describe('webhook admission (real SQLite): the order of checks and the replay window', () => {
  let db: Db;
  let store: OutboxStore;
  const registry = new SchemaRegistry();
  const temp = new TempOutbox('unicop-admission-');

  beforeEach(() => ({ db, store } = temp.open()));
  afterEach(() => temp.close());

  /** The pipeline as the receiver wires it; the clock, stopping and depth are the test's. */
  function pipeline(over: Partial<PipelineDeps> = {}) {
    const metrics = createIngestMetrics(new Registry());
    const deps: PipelineDeps = {
      sources: [{ source: 'netbox://test', normalize: createNormalizer({ source: 'netbox://test', resolveRoot: createRootResolver(DEFAULT_ROOT_POLICY) }) }],
      verify: createVerifier([TEST_SECRET]),
      validate: createWebhookValidator(registry),
      groupCommit: new GroupCommit({ store, sequence: sequenceEvent, onCommit: () => undefined, maxValueBytes: 1 << 20 }),
      full: () => store.depth() >= 1000,
      stopping: () => false,
      known: (id) => store.event(id) !== undefined,
      replayWindowMs: DAY_MS,
      metrics,
      log: createLogger('silent'),
      ...over,
    };
    return { accept: createWebhookPipeline(deps), metrics };
  }

  async function refusal(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (error) {
      assert.ok(error instanceof UnicopError, String(error));
      return error.code;
    }
    assert.fail('accepted');
  }

  it('answers an unsigned request 401 before telling that the outbox is full or the process stopping', async () => {
    const body = fixture('4.7', 'dcim.interface', 'updated').body as { timestamp: string };
    const { raw } = signed(body);
    // A full route is known once the event's route is (after normalization): the body is otherwise acceptable.
    const full = pipeline({ full: () => true, now: () => Date.parse(body.timestamp) });
    assert.equal(await refusal(full.accept(raw, undefined)), 'UNICOP_VERIFY_SIGNATURE_MISSING');
    assert.equal(await refusal(full.accept(raw, 'ab'.repeat(64))), 'UNICOP_VERIFY_SIGNATURE_MISMATCH');
    const stopping = pipeline({ stopping: () => true });
    assert.equal(await refusal(stopping.accept(raw, undefined)), 'UNICOP_VERIFY_SIGNATURE_MISSING');
    const counted = await full.metrics.rejected.get();
    assert.equal(counted.values.find((v) => v.labels.authenticated === 'false' && v.labels.code === 'UNICOP_VERIFY_SIGNATURE_MISSING')?.value, 1);
    // a signed request learns the real state
    const { signature } = signed(raw);
    assert.equal(await refusal(full.accept(raw, signature)), 'UNICOP_OUTBOX_FULL');
    assert.equal(await refusal(stopping.accept(raw, signature)), 'UNICOP_INGEST_STOPPING');
  });

  it('refuses a never-seen body dated before the replay window and keeps it as a reject', async () => {
    const body = fixture('4.7', 'dcim.interface', 'updated').body as { timestamp: string };
    const { raw, signature } = signed(body);
    const late = pipeline({ now: () => Date.parse(body.timestamp) + DAY_MS + 1000 });
    assert.equal(await refusal(late.accept(raw, signature)), 'UNICOP_VERIFY_REPLAY_WINDOW');
    assert.equal(store.depth(), 1, 'only the reject notice is queued');
    const [notice] = store.pending(10);
    assert.equal(notice?.topic, 'rejected');
    assert.equal(JSON.parse(notice!.value).data.code, 'UNICOP_VERIFY_REPLAY_WINDOW');
    const kept = db.prepare('SELECT code, details FROM rejects').all() as { code: string; details: string }[];
    assert.deepEqual(
      kept.map((r) => [r.code, JSON.parse(r.details)[0].pointer]),
      [['UNICOP_VERIFY_REPLAY_WINDOW', '/timestamp']],
    );
  });

  it('refuses a body dated beyond the window in the future, and accepts one inside it', async () => {
    const body = fixture('4.7', 'dcim.interface', 'updated').body as { timestamp: string };
    const { raw, signature } = signed(body);
    const early = pipeline({ now: () => Date.parse(body.timestamp) - DAY_MS - 1000 });
    assert.equal(await refusal(early.accept(raw, signature)), 'UNICOP_VERIFY_REPLAY_WINDOW');
    const inside = pipeline({ now: () => Date.parse(body.timestamp) + DAY_MS - 1000 });
    assert.equal((await inside.accept(raw, signature)).status, 202);
  });

  it('answers a redelivery of a stored event 200 duplicate, however old its body', async () => {
    const body = fixture('4.7', 'dcim.interface', 'updated').body as { timestamp: string };
    const { raw, signature } = signed(body);
    const sent = Date.parse(body.timestamp);
    const first = await pipeline({ now: () => sent + 1000 }).accept(raw, signature);
    assert.equal(first.status, 202);
    const years = await pipeline({ now: () => sent + 3 * 365 * DAY_MS }).accept(raw, signature);
    assert.deepEqual([years.status, years.body.result, years.body.id], [200, 'duplicate', first.body.id]);
  });
});
