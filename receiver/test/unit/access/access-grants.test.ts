import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { AccessGrants } from '../../../src/access/access-grants.js';
import { createAccessMetrics } from '../../../src/access/access-metrics.js';
import type { SqliteDb } from '../../../src/database.js';
import type { AuditRecord } from '../../../src/iam/audit-trail.js';
import type { Scope as IamScope } from '../../../src/generated/iam-policy.js';
import { createLogger } from '../../../src/log.js';
import { GroupCommit } from '../../../src/pipeline/outbox/group-commit.js';
import { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { sequenceEvent } from '../../../src/pipeline/sequence/sequencer.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { grantRequest, grantWebhookBody, type GrantBodyOptions } from '../../helpers/access-grants.js';
import { signed } from '../../helpers/fixtures.js';
import { unitWebhookPipeline } from '../../helpers/unit-pipeline.js';
import { assertOutboxMessagesValid } from '../../helpers/message-schemas.js';

const registry = new SchemaRegistry();
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 11, 2, 10, 0, 0);
const GRANT = 'unicop_netbox.accessgrant:5';

describe('temporary access grants (access/access-grants.ts, real SQLite and the webhook pipeline)', () => {
  let dir: string;
  let db: SqliteDb;
  let store: OutboxStore;
  let access: AccessGrants;
  let metrics: Registry;
  let audits: AuditRecord[];
  let accept: (raw: Buffer, signature: string) => Promise<{ status: number }>;

  function open(): void {
    db = openReceiverDatabase(dir);
    db.pragma('synchronous = OFF');
    store = new OutboxStore(db);
    metrics = new Registry();
    access = new AccessGrants({
      db,
      outbox: store,
      source: 'netbox://test',
      maxMs: 8 * HOUR,
      validScope: registry.validator<IamScope>('iam-policy.schema.json#/$defs/scope'),
      onCommit: () => undefined,
      metrics: createAccessMetrics(metrics),
      audit: (record) => audits.push(record),
      log: createLogger('silent'),
      now: () => T0,
    });
    const groupCommit = new GroupCommit({
      store,
      sequence: sequenceEvent,
      onCommit: () => undefined,
      maxValueBytes: 1 << 20,
      projections: [(event, now) => access.project(event, now)],
    });
    const pipeline = unitWebhookPipeline(store, groupCommit, registry);
    accept = (raw, signature) => pipeline(raw, signature);
  }

  beforeEach(() => {
    audits = [];
    dir = mkdtempSync(join(tmpdir(), 'unicop-access-'));
    open();
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function send(
    o: Partial<GrantBodyOptions> & Pick<GrantBodyOptions, 'action'>,
    body = grantWebhookBody({ id: 5, createdAt: T0, expiresAt: T0 + HOUR, user: 'dave', ...o }),
  ) {
    const { raw, signature } = signed(body);
    return (await accept(raw, signature)).status;
  }

  /** The access messages queued for Kafka, oldest first: [type, key]. */
  function accessMessages(): Array<[string, string]> {
    return db
      .prepare<[], { key: string; value: string }>("SELECT key, value FROM outbox WHERE topic = 'access' ORDER BY pos")
      .all()
      .map((r) => [(JSON.parse(r.value) as { type: string }).type, r.key]);
  }

  it('a created grant is one granted message and one binding until its expiry, then one expired message', async () => {
    assert.equal(await send({ action: 'created' }), 202);
    assert.deepEqual(accessMessages(), [['unicop.access.granted', GRANT]]);
    assert.deepEqual(access.activeBindings(T0 + HOUR - 1), [
      { subjects: { users: ['dave'] }, role: 'operator', scope: { sites: ['dc1'] }, description: `temporary grant ${GRANT}` },
    ]);
    // honoured until the expiry itself, whether or not the schedule has run
    assert.deepEqual(access.activeBindings(T0 + HOUR), []);
    assert.equal(access.expireDue(T0 + HOUR - 1), 0);
    assert.equal(access.expireDue(T0 + HOUR), 1);
    assert.equal(access.expireDue(T0 + 2 * HOUR), 0, 'expired once');
    assert.deepEqual(accessMessages(), [
      ['unicop.access.granted', GRANT],
      ['unicop.access.expired', GRANT],
    ]);
    const types = assertOutboxMessagesValid(db);
    assert.equal(types.get('unicop.object.created'), 1, 'the grant is an object event like any other');
    const expired = JSON.parse(db.prepare<[], { value: string }>("SELECT value FROM outbox WHERE topic = 'access' ORDER BY pos DESC").get()!.value) as {
      time: string;
      data: { cause: { eventId: unknown }; subject: unknown; grantedBy: unknown };
    };
    assert.equal(expired.time, new Date(T0 + HOUR).toISOString(), 'an expiry happened at the grant’s end');
    assert.deepEqual([expired.data.cause.eventId, expired.data.subject, expired.data.grantedBy], [null, { kind: 'user', name: 'dave' }, 'admin']);
  });

  it('a redelivered created and an update change nothing (grants are immutable)', async () => {
    const body = grantWebhookBody({ id: 5, action: 'created', createdAt: T0, expiresAt: T0 + HOUR, group: 'netops-emea' });
    assert.equal(await send({ action: 'created' }, body), 202);
    assert.equal(await send({ action: 'created' }, body), 200);
    assert.equal(await send({ action: 'updated', at: T0 + 1000, group: 'netops-emea', user: undefined }), 202);
    assert.deepEqual(accessMessages(), [['unicop.access.granted', GRANT]]);
    assert.deepEqual(
      access.activeBindings(T0).map((b) => b.subjects),
      [{ groups: ['netops-emea'] }],
    );
  });

  it('a delete before the expiry revokes: one revoked message, no binding, no expiry later', async () => {
    await send({ action: 'created' });
    assert.equal(await send({ action: 'deleted', at: T0 + 60_000 }), 202);
    assert.deepEqual(access.activeBindings(T0 + 60_001), []);
    assert.equal(access.expireDue(T0 + 2 * HOUR), 0);
    assert.deepEqual(accessMessages(), [
      ['unicop.access.granted', GRANT],
      ['unicop.access.revoked', GRANT],
    ]);
    // the grant and the revoke are each one access decision by the NetBox user who made them; the expiry is none
    assert.deepEqual(
      audits.map((a) => [a.principal, a.action, a.target, a.decision, a.reason.split(' ')[0]]),
      [
        ['user:admin', 'access:grant', GRANT, 'allow', 'granted'],
        ['user:admin', 'access:grant', GRANT, 'allow', 'revoked'],
      ],
    );
  });

  it('a delete that arrives before its created (NetBox does not order webhooks) is granted then revoked, once', async () => {
    await send({ action: 'deleted', at: T0 + 60_000 });
    await send({ action: 'created' });
    assert.deepEqual(accessMessages(), [
      ['unicop.access.granted', GRANT],
      ['unicop.access.revoked', GRANT],
    ]);
    assert.deepEqual(access.activeBindings(T0 + 1), []);
  });

  it('a delete after the expiry is no revoke: the schedule publishes expired', async () => {
    await send({ action: 'created' });
    await send({ action: 'deleted', at: T0 + 2 * HOUR });
    assert.equal(access.expireDue(T0 + 2 * HOUR), 1);
    assert.deepEqual(accessMessages(), [
      ['unicop.access.granted', GRANT],
      ['unicop.access.expired', GRANT],
    ]);
  });

  it('publishes expired at the first round after a restart when the receiver was stopped across the expiry', async () => {
    await send({ action: 'created' });
    db.close();
    open();
    assert.equal(access.expireDue(T0 + 3 * HOUR), 1);
    assert.deepEqual(
      accessMessages().map(([type]) => type),
      ['unicop.access.granted', 'unicop.access.expired'],
    );
  });

  for (const [name, options] of [
    ['expires before it was created', { expiresAt: T0 - 1 }],
    ['lasts longer than the maximum', { expiresAt: T0 + 8 * HOUR + 1 }],
    ['names a user and a group', { group: 'netops-emea' }],
    ['names neither a user nor a group', { user: undefined }],
    ['has a malformed scope', { scope: { buildings: ['b1'] } }],
    ['has no role', { role: '' }],
  ] as Array<[string, Partial<GrantBodyOptions>]>) {
    it(`refuses a grant that ${name}: no message, no binding, counted`, async () => {
      const body = grantWebhookBody({ id: 5, action: 'created', createdAt: T0, expiresAt: T0 + HOUR, user: 'dave', ...options });
      assert.equal(await send({ action: 'created' }, body), 202, 'the grant is still an event on the spine');
      assert.deepEqual(accessMessages(), []);
      assert.deepEqual(access.activeBindings(T0), []);
      assert.match(await metrics.metrics(), /unicop_access_grants_total\{change="refused"\} 1/);
      assert.deepEqual(
        audits.map((a) => [a.principal, a.decision, a.code]),
        [['user:admin', 'deny', 'UNICOP_ACCESS_GRANT_REFUSED']],
      );
      // and a later delete of it revokes nothing
      await send(
        { action: 'deleted', at: T0 + 1000 },
        { ...body, event: 'deleted', timestamp: new Date(T0 + 1000).toISOString(), request: grantRequest('deleted') },
      );
      assert.deepEqual(accessMessages(), []);
    });
  }
});
