import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessGrants } from '../../../src/access/access-grants.js';
import { createAccessMetrics } from '../../../src/access/access-metrics.js';
import type { Scope as IamScope } from '../../../src/generated/iam-policy.js';
import { grantWebhookBody } from '../../helpers/access-grants.js';
import { createRootsApi } from '../../../src/api/roots-api.js';
import { DesiredProjection } from '../../../src/desired/desired-projection.js';
import { DesiredStore } from '../../../src/desired/desired-store.js';
import { createAuditTrail } from '../../../src/iam/audit-trail.js';
import { changelogReject } from '../../../src/catchup/changelog-reject.js';
import type { UnicopError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log.js';
import { Registry } from 'prom-client';
import { DEFAULT_ROOT_POLICY } from '../../../src/pipeline/normalize/default-root-policy.js';
import { createNormalizer } from '../../../src/pipeline/normalize/normalize.js';
import { createRootResolver } from '../../../src/pipeline/normalize/root-policy.js';
import type { SqliteDb } from '../../../src/database.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { GroupCommit } from '../../../src/pipeline/outbox/group-commit.js';
import { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { sequenceEvent } from '../../../src/pipeline/sequence/sequencer.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { snapshotFrame } from '../../../src/snapshot/snapshot-frames.js';
import { SnapshotStore } from '../../../src/snapshot/snapshot-store.js';
import { fixture, signed } from '../../helpers/fixtures.js';
import { unitWebhookPipeline } from '../../helpers/unit-pipeline.js';
import { assertOutboxMessagesValid, messageProblem } from '../../helpers/message-schemas.js';
import { objectEventRecord, releasedRecord, unitReconciler } from '../../helpers/reconciler.js';
import { InventoryAdmission } from '../../../src/inventory/inventory-admission.js';
import { createInventoryMetrics } from '../../../src/inventory/inventory-metrics.js';
import type { ValidWebhook } from '../../../src/model/netbox-webhook.js';

const SCHEMAS = new URL('../../../../schemas/', import.meta.url);
const ROOT = 'dcim.device:1';

/** Every message type a schema of schemas/ describes: its `type` const, or the values of its `type` enum. */
function typesWithSchemas(): Map<string, string> {
  const types = new Map<string, string>();
  for (const file of readdirSync(SCHEMAS).filter((f) => f.endsWith('.schema.json'))) {
    const schema = JSON.parse(readFileSync(new URL(file, SCHEMAS), 'utf8')) as {
      properties?: { specversion?: unknown; type?: { const?: string; enum?: string[] } };
    };
    if (schema.properties?.specversion === undefined) continue; // not a CloudEvents message
    for (const type of [schema.properties.type?.const ?? [], schema.properties.type?.enum ?? []].flat()) types.set(type, file);
  }
  return types;
}

/**
 * The message types the EDA source plugin publishes (the unicop.eda collection, eda/collection/, Python): no
 * TypeScript emit site writes them, so they are listed here and their schema is checked by name.
 */
const WRITTEN_ELSEWHERE = new Set(['unicop.source.rejected']);

describe('message schemas: every message the receiver writes names its schema and matches it', () => {
  let dir: string;
  let db: SqliteDb;
  let store: OutboxStore;
  let groupCommit: GroupCommit;
  let access: AccessGrants;
  let desired: DesiredProjection;
  const registry = new SchemaRegistry();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unicop-messages-'));
    db = openReceiverDatabase(dir);
    db.pragma('synchronous = OFF');
    store = new OutboxStore(db);
    access = new AccessGrants({
      db,
      outbox: store,
      source: 'netbox://test',
      maxMs: 3_600_000,
      validScope: registry.validator<IamScope>('iam-policy.schema.json#/$defs/scope'),
      onCommit: () => undefined,
      metrics: createAccessMetrics(new Registry()),
      audit: createAuditTrail({
        source: 'netbox://test',
        write: (key, id, value) => db.transaction(() => store.insertMessage('audit', key, id, value, 0))(),
        metrics: { audit: () => undefined },
        log: createLogger('silent'),
      }),
      log: createLogger('silent'),
    });
    desired = new DesiredProjection({ store: new DesiredStore(db), outbox: store, source: 'netbox://test', log: createLogger('silent') });
    groupCommit = new GroupCommit({
      store,
      sequence: sequenceEvent,
      onCommit: () => undefined,
      maxValueBytes: 1 << 20,
      projections: [(event, now) => access.project(event, now), (event, now) => desired.project(event, now)],
      settlers: [desired],
    });
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs every emit site once: the webhook pipeline (event + reject, access grants, object states and root desired states), the API, the audit trail, the catch-up, the reconciler (command, outcome, state, poison, a handover's released and adopted). */
  async function emitEverything(): Promise<void> {
    const accept = unitWebhookPipeline(store, groupCommit, registry);
    for (const action of ['created', 'updated', 'deleted']) {
      const { raw, signature } = signed(fixture('4.7', 'dcim.device', action).body);
      assert.equal((await accept(raw, signature)).status, 202);
    }
    // temporary access: one grant revoked, one expired (each with its granted)
    const t0 = Date.now();
    for (const [id, action, at] of [
      [5, 'created', t0],
      [5, 'deleted', t0 + 1000],
      [6, 'created', t0],
    ] as const) {
      const grant = signed(grantWebhookBody({ id, action, at, createdAt: t0, expiresAt: t0 + 60_000, group: 'netops-emea' }));
      assert.equal((await accept(grant.raw, grant.signature)).status, 202);
    }
    assert.equal(access.expireDue(t0 + 60_000), 1);

    const invalid = signed({ event: 'created' });
    await assert.rejects(accept(invalid.raw, invalid.signature), (e: UnicopError) => e.code === 'UNICOP_VALIDATE_SCHEMA');

    const device = fixture('4.7', 'dcim.device', 'created').body as { data: { id: number } };
    const api = createRootsApi({
      source: 'netbox://test',
      index: store,
      append: (draft) => groupCommit.appendEvent(draft),
      reconcile: null,
      existsInNetbox: null,
    });
    assert.equal((await api.requestReconcile(`dcim.device:${device.data.id}`, { reason: 'check' }, 'token:abc', undefined, 'alice')).status, 202);

    const audit = createAuditTrail({
      source: 'netbox://test',
      write: (key, id, value) => db.transaction(() => store.insertMessage('audit', key, id, value, 0))(),
      metrics: { audit: () => undefined },
      log: createLogger('silent'),
    });
    audit({
      principal: 'anonymous',
      action: 'roots:read',
      target: null,
      scope: null,
      decision: 'deny',
      reason: 'no credential',
      code: 'UNICOP_API_TOKEN_MISSING',
    });
    audit({
      principal: 'token:plugin',
      action: 'roots:reconcile',
      target: 'dcim.device:1',
      scope: { tenant: null, site: 'ams1', regions: ['nl', 'emea'] },
      decision: 'allow',
      reason: 'reconcile requested',
      code: null,
      requestId: '10000000-0000-4000-8000-000000000009',
    });

    const row = {
      id: 9,
      time: '2026-01-01T00:00:00Z',
      user_name: 'admin',
      request_id: null,
      action: 'update' as const,
      changed_object_type: 'dcim.device',
      changed_object_id: 3,
      changed_object: null,
      object_repr: 'sw1',
      prechange_data: {},
      postchange_data: {},
    };
    db.transaction(() => store.insertReject(changelogReject('netbox://test', row, { code: 'UNICOP_CATCHUP_OBJECT_GONE', message: 'gone', attempts: 3 }), 0))();

    let now = Date.UTC(2026, 0, 1);
    let ids = 0;
    const { reconciler } = unitReconciler(db, {
      policy: {
        version: 1,
        rules: [{ match: { rootType: 'dcim.device' }, jobTemplate: { name: 't', organization: 'o' }, debounceMs: 10, deadlineMs: 1000, retry: {} }],
      },
      now: () => now,
      newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    });
    reconciler.handleEvent({ topic: 't.events.v1', partition: 0, offset: '0', raw: objectEventRecord('10000000-0000-4000-8000-000000000001', ROOT) });
    now += 10;
    reconciler.tick();
    now += 1000;
    reconciler.tick(); // the deadline passed: a timed_out outcome
    reconciler.handleEvent({ topic: 't.events.v1', partition: 0, offset: '1', raw: Buffer.from('{"hello": "world"}') });

    // A handover between cells: eu reconciles a root of emea, the root moves to amer (owned by us)
    // during the attempt, which times out, then eu releases it; another root moves from us to eu,
    // and eu adopts it once us's release is read.
    const emea = { tenant: null, site: 'ams1', region: 'nl', regions: ['nl', 'emea'] };
    const amer = { tenant: null, site: 'nyc1', region: 'us-east', regions: ['us-east', 'amer'] };
    const { reconciler: eu } = unitReconciler(db, {
      policy: {
        version: 1,
        rules: [{ match: { rootType: 'dcim.device' }, jobTemplate: { name: 't', organization: 'o' }, debounceMs: 10, deadlineMs: 1000, retry: {} }],
      },
      ownership: { cell: 'eu', ownerOf: (scope) => (scope?.regions?.includes('emea') ? 'eu' : 'us') },
      now: () => now,
      newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    });
    const event = (n: number, root: string, scope: typeof emea, route: string) =>
      eu.handleEvent({
        topic: 't.events.v1',
        partition: 0,
        offset: String(10 + n),
        raw: objectEventRecord(`10000000-0000-4000-8000-0000000001${String(n).padStart(2, '0')}`, root, 'dcim.interface', false, { scope, route, sequence: n }),
      });
    event(1, 'dcim.device:2', emea, 'emea');
    now += 10;
    eu.tick();
    event(2, 'dcim.device:2', amer, 'amer');
    now += 1000;
    eu.tick(); // the attempt times out: released
    event(3, 'dcim.device:3', amer, 'amer');
    event(4, 'dcim.device:3', emea, 'emea');
    eu.handleEvent({
      topic: 't.events.v1',
      partition: 0,
      offset: '20',
      raw: releasedRecord('20000000-0000-4000-8000-000000000001', 'dcim.device:3', 'us', 'eu', '10000000-0000-4000-8000-000000000104', 4),
    });
    assert.deepEqual(
      [eu.record('dcim.device:2')?.ownership, eu.record('dcim.device:3')?.ownership],
      ['foreign', 'owned'],
      'the driver made one release and one adoption happen',
    );

    const snapshots = new SnapshotStore(db);
    snapshots.insert('5f0c2a9e-1b3d-4e6f-8a7b-9c0d1e2f3a4b', 'request', 'token:plugin', ['dcim.device'], 0);
    const snapshot = snapshots.get('5f0c2a9e-1b3d-4e6f-8a7b-9c0d1e2f3a4b');
    assert.ok(snapshot);
    for (const kind of ['started', 'completed'] as const) {
      const frame = snapshotFrame('netbox://test', kind, snapshot, 1000);
      db.transaction(() => store.insertMessage('snapshots', snapshot.id, frame.id, JSON.stringify(frame), 0))();
    }
    // the inventory: a cap with no room refuses a new root (unicop.inventory.cap_exceeded)
    const inventory = new InventoryAdmission({
      db,
      policy: { version: 1, managed: { objectTypes: ['ipam.prefix'] }, caps: [{ scope: '*', maxRoots: 0 }] },
      outbox: store,
      metrics: createInventoryMetrics(new Registry()),
      log: createLogger('silent'),
    });
    const capped = new GroupCommit({
      store,
      sequence: sequenceEvent,
      onCommit: () => undefined,
      maxValueBytes: 1 << 20,
      admission: (draft, at) => inventory.admit(draft, at),
      projections: [(event, at) => inventory.project(event, at)],
    });
    const normalize = createNormalizer({ source: 'netbox://test', resolveRoot: createRootResolver(DEFAULT_ROOT_POLICY) });
    const prefix = fixture('4.7', 'ipam.prefix', 'created').body as unknown as ValidWebhook['body'];
    assert.equal((await capped.appendEvent(normalize({ shape: '4.7', body: prefix } as ValidWebhook))).status, 'accepted');
  }

  it('writes every type that has a schema, each with a dataschema it matches, and no type without one', async () => {
    await emitEverything();
    const written = assertOutboxMessagesValid(db);
    const schemas = typesWithSchemas();
    const expected = [...schemas.keys()].filter((t) => !WRITTEN_ELSEWHERE.has(t)).sort();
    assert.deepEqual([...written.keys()].sort(), expected, 'the types written are exactly those with a schema');
    for (const type of WRITTEN_ELSEWHERE) assert.ok(schemas.has(type), `${type} has a schema`);
  });

  it('finds a message without dataschema, naming an unknown schema or breaking its schema', async () => {
    await emitEverything();
    const outcome = db.prepare<[], { value: string }>("SELECT value FROM outbox WHERE topic = 'reconcileOutcomes'").get();
    assert.ok(outcome);
    const message = JSON.parse(outcome.value) as Record<string, unknown>;
    assert.equal(messageProblem(outcome.value), null);
    const without = { ...message };
    delete without.dataschema;
    assert.match(messageProblem(JSON.stringify(without)) ?? '', /dataschema undefined/);
    assert.match(messageProblem(JSON.stringify({ ...message, dataschema: 'https://unicop.dev/schemas/nope.schema.json' })) ?? '', /names no file/);
    assert.match(messageProblem(JSON.stringify({ ...message, data: { ...(message.data as object), result: 'maybe' } })) ?? '', /\/data\/result/);
    db.prepare('UPDATE outbox SET value = ? WHERE topic = ?').run(JSON.stringify(without), 'reconcileOutcomes');
    assert.throws(() => assertOutboxMessagesValid(db), /outbox messages do not match their schema/);
  });
});
