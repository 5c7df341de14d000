/**
 * Issue 9, the reconciler's part: poison records on the events topic (item 8), unbounded label
 * values and orphan rows from AWX notifications (item 4), wrongly typed notification bodies and the
 * AWX job id outside the state change's transaction (item 12).
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { AWX_STATUSES, ORPHAN_REASONS } from '../../src/reconcile/awx-notification.js';
import { EXCERPT_BYTES } from '../../src/reconcile/bounded-excerpt.js';
import { interfaceUpdate, signed } from '../helpers/fixtures.js';
import { awxBody, postNotification } from '../helpers/awx-notifications.js';
import { consume, kafka, type Received } from '../helpers/kafka.js';
import { DEVICE_RULE, policyFile } from '../helpers/policy.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

const NOTIFY = 'unicop-test-notify-token-0123456789';
const API = 'unicop-test-api-token-0123456789';
const ROOT = 'dcim.device:42';

describe('reconciler hardening (real Kafka, real SQLite)', function () {
  this.timeout(120_000);
  let t: TestReceiver;
  let version = 0;

  beforeEach(async () => {
    t = startTestReceiver({ UNICOP_RECONCILE_POLICY: policyFile([DEVICE_RULE]), UNICOP_AWX_NOTIFY_TOKEN: NOTIFY, UNICOP_API_TOKENS: API });
    await waitFor(() => t.receiver.reconciler?.rebuilding === false, 30_000, 'the state rebuild of the new database');
  });
  afterEach(async () => {
    await t.close();
  });

  const prefix = () => t.topics.events.replace(/\.events\.v1$/, '');
  /** The receiver's own store (SQLite or PostgreSQL), read through its connection. */
  function query<T>(sql: string): T[] {
    return t.receiver.db.prepare<[], T>(sql).all();
  }
  async function change(deviceId: number) {
    const n = ++version;
    const { raw, signature } = signed(interfaceUpdate(deviceId, 100 + n, n));
    assert.equal((await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature })).status, 202);
  }
  async function commands(count: number): Promise<Received[]> {
    return consume(`${prefix()}.reconcile.requests.v1`, count, { settleMs: 1500, timeoutMs: 30_000 });
  }
  async function inFlightId(): Promise<string> {
    await change(42);
    const [c] = await commands(1);
    assert.ok(c, 'a command for the change');
    return (c.value.data as { reconcileId: string }).reconcileId;
  }
  const notify = (body: unknown) => postNotification(t, body, `Bearer ${NOTIFY}`);

  it('skips a non-JSON, a deeply nested and a non-envelope record: each a reject with its offset, the offset committed past them, the next event still reconciled', async () => {
    const admin = kafka.admin();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await Promise.all([admin.connect(), producer.connect()]);
    try {
      await waitFor(async () => (await admin.listTopics()).includes(t.topics.events), 30_000, 'the events topic');
      const poison = [Buffer.from('not json {'), Buffer.from(`${'['.repeat(1000)}${']'.repeat(1000)}`), Buffer.from('{"hello": "world"}')];
      // Keyed like the root's events: the same partition, ahead of the valid event.
      const sent = await producer.send({ topic: t.topics.events, messages: poison.map((value) => ({ key: ROOT, value })) });
      const partition = sent[0]!.partition;
      const offsets = poison.map((_, i) => String(BigInt(sent[0]!.baseOffset!) + BigInt(i)));

      await change(42);
      const [command] = await commands(1);
      assert.equal(command?.key, ROOT, 'the valid event behind the poison records became a command');

      const rejects = query<{ code: string }>('SELECT code FROM rejects ORDER BY outbox_pos');
      assert.deepEqual(
        rejects.map((r) => r.code),
        ['UNICOP_VALIDATE_MALFORMED_JSON', 'UNICOP_VALIDATE_TOO_DEEP', 'UNICOP_RECONCILE_RECORD_INVALID'],
      );
      const published = await consume(t.topics.rejected, 3, { timeoutMs: 30_000 });
      const kafkaOf = (r: Received) => (r.value.data as { kafka: { topic: string; partition: number; offset: string } }).kafka;
      assert.deepEqual(
        published.map(kafkaOf).sort((a, b) => Number(a.offset) - Number(b.offset)),
        offsets.map((offset) => ({ topic: t.topics.events, partition, offset })),
      );
      for (const r of published) assert.ok((r.value.data as { body: { excerpt: string } }).body.excerpt.length <= EXCERPT_BYTES);

      const committed = await waitFor(
        async () => {
          const [topic] = await admin.fetchOffsets({ groupId: `${prefix()}.reconciler`, topics: [t.topics.events] });
          const offset = BigInt(topic?.partitions.find((p) => p.partition === partition)?.offset ?? '-1');
          return offset > BigInt(offsets.at(-1)!) ? offset : null;
        },
        30_000,
        'the reconciler group committed past the poison records',
      );
      assert.ok(committed > BigInt(offsets.at(-1)!));

      const metrics = (await t.http.get('/metrics')).text;
      for (const code of ['UNICOP_VALIDATE_MALFORMED_JSON', 'UNICOP_VALIDATE_TOO_DEEP', 'UNICOP_RECONCILE_RECORD_INVALID']) {
        assert.match(metrics, new RegExp(`unicop_reconcile_poison_records_total\\{code="${code}"\\} 1\\b`));
      }
    } finally {
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    }
  });

  it('keeps metric label values closed and orphan bodies capped under notifications with random statuses and bodies', async () => {
    const reconcileId = await inFlightId();
    assert.equal((await notify(awxBody(reconcileId, 'running'))).body.result, 'applied');
    const before = (await t.http.get('/metrics')).text.length;
    for (let i = 0; i < 200; i++) {
      const status = randomBytes(48).toString('base64url');
      const res = await notify(awxBody(i % 2 ? reconcileId : '00000000-0000-4000-8000-000000000000', status, { junk: randomBytes(6 * 1024).toString('hex') }));
      assert.deepEqual([res.status, res.body.result], [202, 'orphan']);
    }
    const metrics = (await t.http.get('/metrics')).text;
    const labels = (metric: string, label: string) => [...metrics.matchAll(new RegExp(`^${metric}\\{${label}="([^"]*)"`, 'gm'))].map((m) => m[1]);
    const reasons = labels('unicop_reconcile_orphans_total', 'reason');
    const statuses = labels('unicop_awx_notifications_total', 'status');
    assert.ok(
      reasons.every((r) => (Object.values(ORPHAN_REASONS) as string[]).includes(r!)),
      `orphan reasons from the closed set: ${reasons.join(', ').slice(0, 300)}`,
    );
    assert.deepEqual(statuses.sort(), ['other', 'running'], 'notification statuses from the closed set');
    assert.ok(statuses.every((s) => ([...AWX_STATUSES, 'other'] as string[]).includes(s!)));
    assert.ok(metrics.length - before < 8 * 1024, `/metrics grew by ${metrics.length - before} bytes for 200 notifications`);

    const [orphans] = query<{ n: number; longest: number }>('SELECT count(*) AS n, max(length(body)) AS longest FROM reconcile_orphans');
    assert.equal(orphans?.n, 200);
    assert.ok(orphans!.longest <= EXCERPT_BYTES + 512, `orphan bodies capped (longest ${orphans!.longest})`);
    const [one] = query<{ body: string }>('SELECT body FROM reconcile_orphans LIMIT 1');
    const kept = JSON.parse(one!.body) as { bytes: number; sha256: string; truncated: boolean };
    assert.ok(kept.bytes > 12 * 1024 && kept.truncated && /^[0-9a-f]{64}$/.test(kept.sha256), 'size and digest of the whole body are kept');
    const stored = query<{ reason: string }>('SELECT DISTINCT reason FROM reconcile_orphans ORDER BY reason').map((r) => r.reason);
    // a status outside AWX's set is the reason, for a known attempt and an unknown one alike, and its text is in no reason
    assert.deepEqual(stored, [ORPHAN_REASONS.unknownStatus], 'stored reasons embed no status');
  });

  it('answers 400 UNICOP_AWX_BODY_INVALID with a JSON pointer for wrongly typed fields of the body', async () => {
    const reconcileId = await inFlightId();
    const cases: Array<[Record<string, unknown>, string]> = [
      [awxBody(reconcileId, 'failed', { hosts: { a: null } }), '/hosts/a'],
      [awxBody(reconcileId, 'error', { traceback: 5 }), '/traceback'],
      [awxBody(reconcileId, 'failed', { hosts: { a: { dark: 'x' } } }), '/hosts/a/dark'],
      [awxBody(reconcileId, 'successful', { id: 'thirty-one' }), '/id'],
    ];
    for (const [body, pointer] of cases) {
      const res = await notify(body);
      assert.deepEqual([res.status, res.body.error?.code], [400, 'UNICOP_AWX_BODY_INVALID'], JSON.stringify(res.body));
      assert.ok(
        (res.body.error.details as Array<{ pointer: string }>).some((detail) => detail.pointer === pointer),
        `details name ${pointer}: ${JSON.stringify(res.body.error.details)}`,
      );
    }
    const state = await t.http.get(`/v1/roots/${ROOT}`).set('authorization', `Bearer ${API}`);
    assert.equal(state.body.state, 'requested', 'refused bodies changed nothing');
  });

  it('records the AWX job id with the transition it came with: a stale notification changes nothing', async () => {
    const reconcileId = await inFlightId();
    assert.equal((await notify(awxBody(reconcileId, 'successful'))).body.result, 'applied');
    assert.equal((await notify({ ...awxBody(reconcileId, 'successful'), id: 99 })).body.result, 'stale');
    const timeline = await t.http.get(`/v1/roots/${ROOT}/timeline`).set('authorization', `Bearer ${API}`);
    assert.deepEqual(
      timeline.body.reconciles.map((r: { awxJobId: number | null }) => r.awxJobId),
      [31],
    );
  });
});
