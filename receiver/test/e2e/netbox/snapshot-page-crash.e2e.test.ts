/**
 * The narrow window a SIGKILL rarely hits: a crash after some repairs of a page were committed but
 * before that page's progress was saved. Real NetBox, real SQLite, the real group commit and Kafka
 * (the spine read); the crash is a runner frozen right after its second repair of page 2 commits.
 * A second runner on the same database continues the run from page 2 and neither repeats nor
 * recounts those two repairs.
 * Needs scripts/kafka up (KAFKA_BROKERS) and scripts/netbox up (NETBOX_URL, NETBOX_TOKEN).
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { NetboxClient } from '../../../src/clients/netbox-client.js';
import { createLogger } from '../../../src/log.js';
import type { DraftEvent } from '../../../src/model/event.js';
import { DEFAULT_ROOT_POLICY } from '../../../src/pipeline/normalize/default-root-policy.js';
import { createRootResolver } from '../../../src/pipeline/normalize/root-policy.js';
import { GroupCommit, type AppendResult } from '../../../src/pipeline/outbox/group-commit.js';
import { OutboxStore } from '../../../src/pipeline/outbox/outbox-store.js';
import { readTopicToEnd } from '../../../src/pipeline/publish/read-topic.js';
import { sequenceEvent } from '../../../src/pipeline/sequence/sequencer.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { createSnapshotMetrics } from '../../../src/snapshot/snapshot-metrics.js';
import { SnapshotRunner } from '../../../src/snapshot/snapshot-runner.js';
import { SnapshotStore } from '../../../src/snapshot/snapshot-store.js';
import { spineView, type ObjectStateRecord } from '../../../src/snapshot/spine-view.js';
import { kafka, randomPrefix } from '../../helpers/kafka.js';
import { deleteSites, makeSites, NETBOX_URL, netbox, requireNetbox, runTag, type NetboxList, type NetboxObject } from '../../helpers/netbox.js';

const PAGE = 5;

describe('snapshot crash inside a page (repairs committed, progress not saved)', function () {
  this.timeout(120_000);
  const tag = runTag();
  const dataDir = mkdtempSync(join(tmpdir(), 'unicop-snapshot-page-crash-'));
  let sites: NetboxObject[] = [];

  before(async () => {
    requireNetbox();
    sites = await makeSites(`snappage-${tag}`, 3 * PAGE);
  });

  after(async () => {
    await deleteSites(sites);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('continues at that page and makes and counts each repair once', async () => {
    const total = (await netbox<NetboxList>('GET', 'dcim/sites/?limit=1')).count;
    const db = openReceiverDatabase(dataDir);
    const outbox = new OutboxStore(db);
    const store = new SnapshotStore(db);
    const groupCommit = new GroupCommit({ store: outbox, sequence: sequenceEvent, onCommit: () => undefined, maxValueBytes: 1_000_000 });
    const prefix = randomPrefix();
    const runner = (append: (draft: DraftEvent) => Promise<AppendResult>): SnapshotRunner =>
      new SnapshotRunner({
        store,
        outbox,
        netbox: new NetboxClient(NETBOX_URL, process.env.NETBOX_TOKEN ?? ''),
        readSpine: async () => {
          const records: ObjectStateRecord[] = [];
          await readTopicToEnd({ kafka, topic: `${prefix}.objects.v1`, groupId: `${prefix}.snapshot.${randomUUID()}`, onMessage: (r) => records.push(r) });
          return spineView(records);
        },
        append,
        normalize: { source: 'urn:unicop:test', resolveRoot: createRootResolver(DEFAULT_ROOT_POLICY) },
        source: 'urn:unicop:test',
        objectTypes: ['dcim.site'],
        intervalS: 0,
        onCommit: () => undefined,
        metrics: createSnapshotMetrics(new Registry()),
        log: createLogger('warn'),
        pageSize: PAGE,
      });

    // The first runner "dies" right after the second repair of page 2 is on disk: it never returns to save the page.
    let appended = 0;
    let crashed!: () => void;
    const crash = new Promise<void>((resolve) => (crashed = resolve));
    const first = runner(async (draft) => {
      const result = await groupCommit.appendEvent(draft);
      if (++appended === PAGE + 2) {
        crashed();
        return new Promise<never>(() => undefined);
      }
      return result;
    });
    const snapshotId = first.request('request', null);
    await crash;
    const saved = store.get(snapshotId);
    assert.equal(saved?.state, 'running');
    assert.deepEqual({ lastId: saved.lastId > 0, created: saved.counts.created, read: saved.counts.read }, { lastId: true, created: PAGE, read: PAGE });

    const results: AppendResult['status'][] = [];
    const second = runner(async (draft) => {
      const result = await groupCommit.appendEvent(draft);
      results.push(result.status);
      return result;
    });
    second.start();
    await second.idle();

    const done = store.get(snapshotId);
    assert.equal(done?.state, 'completed', JSON.stringify(done?.error));
    assert.deepEqual(done.counts, { ...done.counts, read: total, created: total, updated: 0, deleted: 0 });
    // Everything after the two repairs already on disk, each once; not one duplicate offered to the group commit.
    assert.deepEqual(
      results,
      Array.from({ length: total - PAGE - 2 }, () => 'accepted'),
    );
    const stored = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM events WHERE subject LIKE 'dcim.site:%'").get();
    assert.equal(stored?.n, total);
    db.close();
  });
});
