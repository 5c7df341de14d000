/**
 * Two cells, eu and us: two receivers with their own stores and federation files (same owners,
 * one route to the test broker). A device of emea is eu's; its site moves to a region of amer while
 * eu's attempt is in flight. eu must end that attempt, then release the root; us adopts it only
 * after reading the release, and reconciles it only then. AWX answers are posted by hand, as AWX
 * would post its notifications (AWX cannot run here).
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createReceiver, type Receiver } from '../../src/receiver.js';
import { ReconcileStore, type AttemptRow } from '../../src/reconcile/reconcile-store.js';
import { awxBody } from '../helpers/awx-notifications.js';
import { BROKERS, consume, randomPrefix, type Received } from '../helpers/kafka.js';
import { FIXTURE_REPLAY_ENV, TEST_SECRET, fixture, signed } from '../helpers/fixtures.js';
import { assertDataDirMessagesValid, messageProblem } from '../helpers/message-schemas.js';
import { assertMatchesOpenapi } from '../helpers/openapi.js';
import { DEVICE_RULE, policyFile } from '../helpers/policy.js';
import { dropStore, storeEnv } from '../helpers/store.js';
import { waitFor } from '../helpers/wait-for.js';

const NOTIFY = 'unicop-test-notify-token-0123456789';
const API = 'unicop-test-api-token-0123456789';
const ROOT = 'dcim.device:42';
const EMEA = { tenant: 'acme', site: 'ams1', region: 'nl', regions: ['nl', 'emea'] };
const AMER = { tenant: 'acme', site: 'nyc1', region: 'us-east', regions: ['us-east', 'amer'] };

interface Cell {
  name: string;
  receiver: Receiver;
  http: ReturnType<typeof supertest>;
  dataDir: string;
}

describe('federation: ownership handover between two cells (real Kafka, two receivers)', function () {
  this.timeout(180_000);
  const prefix = randomPrefix();
  const dir = mkdtempSync(join(tmpdir(), 'unicop-federation-'));
  const policy = policyFile([{ ...DEVICE_RULE, deadlineMs: 60_000 }]);
  let cells: Cell[] = [];

  /** A cell's federation file: both cells list the same owners and the one route; only `cell` differs. */
  function federationFile(cell: string): string {
    writeFileSync(join(dir, 'nb.secrets'), `${TEST_SECRET}\n`, { mode: 0o600 });
    const file = join(dir, `federation-${cell}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        cell,
        sources: [{ name: 'nb', secretsFile: 'nb.secrets' }],
        owners: [
          { scope: { regions: ['emea'] }, cell: 'eu' },
          { scope: '*', cell: 'us' },
        ],
        routes: [{ scope: '*', brokers: BROKERS.join(','), topicPrefix: prefix }],
      }),
    );
    return file;
  }

  function startCell(name: string): Cell {
    const dataDir = mkdtempSync(join(tmpdir(), `unicop-cell-${name}-`));
    const config = loadConfig({
      UNICOP_FEDERATION: federationFile(name),
      // The route's cluster and prefix, until the receiver wires one relay per route.
      KAFKA_BROKERS: BROKERS.join(','),
      UNICOP_TOPIC_PREFIX: prefix,
      UNICOP_TOPIC_PARTITIONS: '3',
      ...storeEnv(dataDir),
      UNICOP_RECONCILE_POLICY: policy,
      UNICOP_AWX_NOTIFY_TOKEN: NOTIFY,
      UNICOP_AWX_NOTIFY_USER: 'awx',
      UNICOP_API_TOKENS: API,
      UNICOP_LOG_LEVEL: process.env.UNICOP_TEST_LOG_LEVEL ?? 'silent',
      ...FIXTURE_REPLAY_ENV,
    });
    const receiver = createReceiver(config, createLogger(config.logLevel));
    const cell = { name, receiver, http: supertest(receiver.app), dataDir };
    cells.push(cell);
    return cell;
  }

  after(async () => {
    for (const cell of cells) {
      await cell.receiver.stop(2000);
      try {
        assertDataDirMessagesValid(cell.dataDir);
      } finally {
        rmSync(cell.dataDir, { recursive: true, force: true });
        dropStore(cell.dataDir);
      }
    }
    cells = [];
    rmSync(dir, { recursive: true, force: true });
  });

  /** A NetBox 4.7 update of device 42 whose site lies in `scope` (the plugin's context says so), version `n`. */
  async function deviceUpdate(cell: Cell, scope: typeof EMEA, n: number) {
    const body = structuredClone(fixture('4.7', 'dcim.device', 'updated').body) as Record<string, unknown> & { data: Record<string, unknown> };
    body.data = { ...body.data, last_updated: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(), description: `v${n}` };
    body.request = { ...(body.request as object), id: randomUUID() };
    body.context = { unicop: { scope } };
    const { raw, signature } = signed(body);
    const res = await cell.http
      .post('/v1/netbox/webhooks')
      .set('content-type', 'application/json')
      .set('x-hook-signature', signature)
      .serialize((b: unknown) => b as string)
      .send(raw as unknown as string);
    assert.equal(res.status, 202);
  }
  async function root(cell: Cell) {
    const res = await cell.http.get(`/v1/roots/${ROOT}`).set('authorization', `Bearer ${API}`);
    assertMatchesOpenapi('GET', '/v1/roots/{root}', res);
    return res.body as { ownership: string; owner: string | null; state: string; inFlight: { reconcileId: string } | null };
  }
  // Generous: a broker's first consumer group creates its offsets topic, which can take a while.
  const until = async (cell: Cell, what: string, ok: (r: Awaited<ReturnType<typeof root>>) => boolean) =>
    waitFor(async () => ok(await root(cell)), 90_000, `${cell.name}: ${what}`);
  const notify = (cell: Cell, reconcileId: string, status: string) =>
    cell.http.post('/v1/awx/notifications').set('authorization', `Bearer ${NOTIFY}`).send(awxBody(reconcileId, status));
  /** The cell's attempt table for the root. */
  const attempts = (cell: Cell): AttemptRow[] => new ReconcileStore(cell.receiver.db).recentAttempts(ROOT, 20);

  it('ends eu’s attempt, releases the root, and only then lets us adopt and reconcile it', async () => {
    const [eu, us] = [startCell('eu'), startCell('us')];
    for (const cell of cells) await waitFor(() => cell.receiver.reconciler?.rebuilding === false, 30_000, `${cell.name}: the state rebuild`);

    await deviceUpdate(eu, EMEA, 1);
    await until(eu, 'an attempt in flight', (r) => r.ownership === 'owned' && r.inFlight !== null);
    const euAttempt = (await root(eu)).inFlight!.reconcileId;
    await until(us, 'the root is eu’s', (r) => r.ownership === 'foreign' && r.owner === 'eu');
    assert.equal((await notify(eu, euAttempt, 'running')).body.result, 'applied');

    // The site moves to amer while eu's attempt runs.
    await deviceUpdate(eu, AMER, 2);
    await until(eu, 'releasing', (r) => r.ownership === 'releasing' && r.owner === 'us' && r.inFlight !== null);
    await until(us, 'adopting', (r) => r.ownership === 'adopting');
    assert.equal((await root(us)).inFlight, null, 'us starts nothing while eu’s attempt runs');

    assert.equal((await notify(eu, euAttempt, 'successful')).body.result, 'applied');
    await until(eu, 'released', (r) => r.ownership === 'foreign' && r.inFlight === null);
    await until(us, 'adopted and reconciling', (r) => r.ownership === 'owned' && r.inFlight !== null);
    const usAttempt = (await root(us)).inFlight!.reconcileId;
    assert.equal((await notify(us, usAttempt, 'successful')).body.result, 'applied');
    await until(us, 'reconciled', (r) => r.state === 'succeeded');

    // The events topic: the root's two changes, eu's release, us's adoption — in that order, one partition.
    const events: Received[] = (await consume(`${prefix}.events.v1`, 4, { settleMs: 1500 })).filter((e) => e.key === ROOT);
    const types = events.map(
      (e) => `${String(e.value.type)}${e.value.source === 'unicop://eu' || e.value.source === 'unicop://us' ? ` ${String(e.value.source)}` : ''}`,
    );
    assert.deepEqual(types, ['unicop.object.updated', 'unicop.object.updated', 'unicop.root.released unicop://eu', 'unicop.root.adopted unicop://us']);
    const [moving, released, adopted] = events.slice(1);
    for (const e of [released, adopted]) assert.equal(messageProblem(JSON.stringify(e!.value)), null, 'the handover messages match the envelope schema');
    const r = released!.value.data as Record<string, unknown>;
    const a = adopted!.value.data as Record<string, unknown>;
    assert.deepEqual([r.from, r.to, r.eventId, released!.value.sequence], ['eu', 'us', moving!.value.id, moving!.value.sequence]);
    assert.equal((r.lastOutcome as { reconcileId: string }).reconcileId, euAttempt);
    assert.deepEqual([a.from, a.to, a.releasedId], ['eu', 'us', released!.value.id]);

    // No instant where both cells had an attempt in flight: eu's attempts all ended before us requested its first.
    const euRows = attempts(eu);
    const usRows = attempts(us);
    assert.deepEqual([euRows.length, usRows.length], [1, 1]);
    const euEnd = Math.max(...euRows.map((row) => Date.parse(row.outcome!.at)));
    const usStart = Math.min(...usRows.map((row) => row.requestedAt));
    assert.ok(euEnd <= usStart, `eu's attempt ended at ${euEnd}, us's started at ${usStart}`);
    assert.deepEqual([(await root(eu)).ownership, (await root(eu)).owner, (await root(us)).ownership], ['foreign', 'us', 'owned']);
    const commands = (await consume(`${prefix}.reconcile.requests.v1`, 2, { settleMs: 1000 })).filter((c) => c.key === ROOT);
    assert.deepEqual(
      commands.map((c) => (c.value.data as { reconcileId: string }).reconcileId),
      [euAttempt, usAttempt],
      'one command each, eu’s first',
    );
  });
});
