/**
 * A snapshot across a receiver crash, against a real NetBox and a real Kafka: the receiver process
 * is killed (SIGKILL) in the middle of a snapshot and started again on the same data directory. The
 * snapshot continues from its saved page, repairs every object once (one repair id per object on
 * `<prefix>.events.v1`, counts exact), and ends with one completed frame on `<prefix>.snapshots.v1`.
 * Its metrics are read from `/metrics` on the way. And a snapshot started the moment the receiver
 * created its topics completes (their partitions may have no leader yet). Receivers of their own
 * (own topics, own port): no webhook reaches them, so every site NetBox holds is a repair.
 * Needs scripts/kafka up (KAFKA_BROKERS) and scripts/netbox up (NETBOX_URL, NETBOX_TOKEN).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consume, kafka, randomPrefix } from '../../helpers/kafka.js';
import { deleteSites, makeSites, NETBOX_URL, netbox, requireNetbox, runTag, type NetboxList, type NetboxObject } from '../../helpers/netbox.js';
import { killHard, spawnReceiver, stopGracefully } from '../../helpers/process.js';
import { processEnv } from '../../helpers/receiver.js';
import { waitFor } from '../../helpers/wait-for.js';

const API = 'unicop-test-api-token-snapshot-resume';
const SITES = 40;
const PAGE = 5;

interface Snapshot {
  snapshotId: string;
  state: 'running' | 'completed' | 'failed';
  progress: { objectType: string | null; lastId: number } | null;
  counts: { read: number; requests: number };
  repairs: { created: number; updated: number; deleted: number };
  error: unknown;
}

async function get(url: string, id: string): Promise<Snapshot> {
  const res = await fetch(`${url}/v1/snapshots/${id}`, { headers: { authorization: `Bearer ${API}` } });
  assert.equal(res.status, 200);
  return (await res.json()) as Snapshot;
}

/** One sample of `/metrics` (the line whose name and labels are `series`), 0 when absent. */
async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('snapshots on real NetBox and Kafka: across a SIGKILL, and on topics just created', function () {
  this.timeout(300_000);
  const tag = runTag();
  const dataDir = mkdtempSync(join(tmpdir(), 'unicop-snapshot-kill-'));
  const prefix = randomPrefix();
  let sites: NetboxObject[] = [];

  before(async () => {
    requireNetbox();
    sites = await makeSites(`snapkill-${tag}`, SITES);
  });

  after(async () => {
    await deleteSites(sites);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('continues from its saved page, repairs each object once, and completes with one completed frame', async () => {
    // Every site NetBox holds (earlier runs' too) is missing from this fresh spine: each is one `created` repair.
    const total = (await netbox<NetboxList>('GET', 'dcim/sites/?limit=1')).count;
    const env = processEnv(dataDir, prefix, {
      NETBOX_URL,
      NETBOX_TOKEN: process.env.NETBOX_TOKEN ?? '',
      UNICOP_API_TOKENS: API,
      UNICOP_LOG_LEVEL: 'info',
      UNICOP_SNAPSHOT_OBJECT_TYPES: 'dcim.site',
      UNICOP_SNAPSHOT_PAGE_SIZE: String(PAGE),
      // Two requests a second: the run lasts a few seconds, long enough to be caught in the middle.
      UNICOP_SNAPSHOT_RATE: '2',
      // The changelog catch-up must not record these sites first (then the snapshot would have nothing to repair).
      UNICOP_CATCHUP_GRACE_MS: '3600000',
    });

    let r = await spawnReceiver(env);
    let snapshotId: string;
    let before: Snapshot;
    try {
      const started = await fetch(`${r.url}/v1/snapshots`, { method: 'POST', headers: { authorization: `Bearer ${API}` } });
      assert.equal(started.status, 202);
      ({ snapshotId } = (await started.json()) as { snapshotId: string });
      // The kill comes once a page's progress is saved and the gauge shows the run under way.
      before = await waitFor(
        async () => {
          const s = await get(r.url, snapshotId);
          const ratio = await metric(r.url, 'unicop_snapshot_progress_ratio');
          return s.state === 'running' && (s.progress?.lastId ?? 0) > 0 && ratio > 0 && ratio < 1 ? s : undefined;
        },
        60_000,
        'the snapshot to be past its first page',
      );
      assert.equal(await metric(r.url, 'unicop_snapshot_running'), 1);
    } finally {
      await killHard(r.child);
    }
    assert.ok(before.repairs.created > 0 && before.repairs.created < total, JSON.stringify(before));

    r = await spawnReceiver(env);
    try {
      const done = await waitFor(
        async () => {
          const s = await get(r.url, snapshotId);
          return s.state === 'running' ? undefined : s;
        },
        120_000,
        'the snapshot to end after the restart',
      );
      assert.equal(done.state, 'completed', JSON.stringify(done.error));
      assert.deepEqual(done.repairs, { created: total, updated: 0, deleted: 0 }, 'each object counted once across the crash');
      // Read once across the crash: counts are saved with the page they describe.
      assert.equal(done.counts.read, total, JSON.stringify(done.counts));
      assert.match(r.output(), /continuing an unfinished snapshot/);

      // On Kafka: exactly one repair id per site (the relay may resend a row after the kill, with the same id).
      const events = await consume(`${prefix}.events.v1`, total, { settleMs: 3000 });
      const idsBySubject = new Map<string, Set<string>>();
      for (const e of events) {
        const data = e.value.data as { netbox: { via: string } };
        assert.equal(data.netbox.via, 'snapshot');
        const subject = String(e.value.subject);
        idsBySubject.set(subject, (idsBySubject.get(subject) ?? new Set()).add(String(e.value.id)));
      }
      assert.equal(idsBySubject.size, total, 'every site repaired');
      assert.ok(
        [...idsBySubject.values()].every((ids) => ids.size === 1),
        'no site repaired twice',
      );
      for (const site of sites) assert.ok(idsBySubject.has(`dcim.site:${site.id}`));

      const frames = await consume(`${prefix}.snapshots.v1`, 2, { settleMs: 2000 });
      const ofType = (type: string) => new Set(frames.filter((f) => f.key === snapshotId && f.value.type === type).map((f) => String(f.value.id)));
      assert.equal(ofType('unicop.snapshot.started').size, 1);
      assert.equal(ofType('unicop.snapshot.completed').size, 1, 'one completed frame');

      // The restarted process counts what it did itself: the rest of the run, never a repair of before the kill.
      assert.equal(await metric(r.url, 'unicop_snapshot_runs_total{result="completed"}'), 1);
      const repairedAfter = await metric(r.url, 'unicop_snapshot_repairs_total{action="created"}');
      assert.ok(repairedAfter > 0 && repairedAfter <= total - before.repairs.created, `${repairedAfter} repairs after the restart`);
      // From the saved page on: NetBox's version, the list endpoint, then only the pages after the last one saved
      // (at least `before` was saved). A run started over would read every page again.
      const requestsAfter = await metric(r.url, 'unicop_snapshot_netbox_requests_total');
      assert.ok(requestsAfter >= Math.ceil(repairedAfter / PAGE), `${requestsAfter} requests`);
      assert.ok(requestsAfter <= 2 + Math.ceil((total - before.counts.read) / PAGE), `${requestsAfter} requests after the restart: ${JSON.stringify(before)}`);
      assert.equal(await metric(r.url, 'unicop_snapshot_running'), 0);
      assert.equal(await metric(r.url, 'unicop_snapshot_progress_ratio'), 0);
    } finally {
      await stopGracefully(r.child);
    }
  });

  it('completes when started the moment the topics were created (a partition without a leader yet is waited out)', async () => {
    // Without the spine read's retry the first snapshot failed every time we tried: "This server is not the leader for
    // that topic-partition".
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (let i = 0; i < 3; i++) {
        const freshDir = mkdtempSync(join(tmpdir(), 'unicop-snapshot-fresh-'));
        const freshPrefix = randomPrefix();
        const fresh = processEnv(freshDir, freshPrefix, {
          NETBOX_URL,
          NETBOX_TOKEN: process.env.NETBOX_TOKEN ?? '',
          UNICOP_API_TOKENS: API,
          UNICOP_LOG_LEVEL: 'info',
          UNICOP_SNAPSHOT_OBJECT_TYPES: 'dcim.site',
          UNICOP_CATCHUP_GRACE_MS: '3600000',
        });
        const r = await spawnReceiver(fresh);
        try {
          // The snapshot starts as soon as the relay created the topics, when their leaders may not be elected yet.
          await waitFor(async () => (await admin.listTopics()).includes(`${freshPrefix}.objects.v1`), 60_000, 'the objects topic');
          const started = await fetch(`${r.url}/v1/snapshots`, { method: 'POST', headers: { authorization: `Bearer ${API}` } });
          assert.equal(started.status, 202);
          const { snapshotId } = (await started.json()) as { snapshotId: string };
          const done = await waitFor(
            async () => {
              const s = await get(r.url, snapshotId);
              return s.state === 'running' ? undefined : s;
            },
            120_000,
            'the snapshot to end',
          );
          assert.equal(done.state, 'completed', JSON.stringify(done.error));
        } finally {
          await stopGracefully(r.child);
          rmSync(freshDir, { recursive: true, force: true });
        }
      }
    } finally {
      await admin.disconnect();
    }
  });
});
