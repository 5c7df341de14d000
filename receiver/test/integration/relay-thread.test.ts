import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { DEFAULT_CELL } from '../../src/federation/federation.js';
import { RelayThread } from '../../src/relay-thread.js';
import type { SqliteDb } from '../../src/store/sqlite-db.js';
import { Writable } from 'node:stream';
import { interfaceUpdate, signed } from '../helpers/fixtures.js';
import { TEST_SECRET } from '../helpers/fixtures.js';
import { consume } from '../helpers/kafka.js';
import { freePort } from '../helpers/process.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { dropStore, TEST_STORE } from '../helpers/store.js';
import { waitFor } from '../helpers/wait-for.js';

/** Log lines as objects, from whichever thread wrote them. */
function logSink(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { stream, lines };
}

async function post(t: TestReceiver, i: number): Promise<number> {
  const { raw, signature } = signed(interfaceUpdate(8100 + i, 8200 + i, i));
  return (await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature })).status;
}

/** One sample of the Prometheus text, e.g. `unicop_relay_lanes_held{route="default"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('relay thread (the relay publishes from a worker thread with its own store connection)', function () {
  this.timeout(120_000);

  it("publishes what was accepted; the relay's metrics, lanes and log lines reach the ingest thread", async () => {
    const log = logSink();
    const t = startTestReceiver({}, { log: log.stream });
    try {
      for (let i = 0; i < 3; i++) assert.equal(await post(t, i), 202);
      const messages = await consume(t.topics.events, 3);
      assert.equal(new Set(messages.map((m) => m.value.id)).size, 3);
      const metrics = await waitFor(async () => {
        const text = (await t.http.get('/metrics')).text;
        return sample(text, `unicop_published_total{route="default",topic="${t.topics.events}"}`) === 3 && sample(text, 'unicop_outbox_depth') === 0
          ? text
          : null;
      }, 30_000);
      // one lane per route on SQLite, one per partition of the events topic on PostgreSQL
      const lanes = TEST_STORE === 'postgres' ? t.config.topicPartitions : 1;
      assert.equal(sample(metrics, 'unicop_relay_lanes_held{route="default"}'), lanes, 'the lane leases are held by the relay thread');
      assert.equal(sample(metrics, 'unicop_kafka_reachable{route="default"}'), 1);
      assert.equal(t.receiver.relay.reachable, true);
      const ready = await t.http.get('/readyz');
      assert.equal(ready.status, 200);
      assert.equal(ready.body.checks.routes.default.reachable, true);
      const reached = log.lines.find((l) => l.msg === 'kafka reachable');
      assert.ok(reached, 'the relay thread logs through the ingest thread');
      assert.equal(reached.thread, 'relay');
    } finally {
      await t.close();
    }
  });

  it('with its broker gone: keeps accepting into the outbox, /readyz says not ready, failures are counted, stop reports what is left', async () => {
    const t = startTestReceiver({ KAFKA_BROKERS: `127.0.0.1:${await freePort()}` });
    let closed = false;
    try {
      for (let i = 0; i < 4; i++) assert.equal(await post(t, 10 + i), 202, 'accepted while no broker answers');
      const errors = await waitFor(async () => {
        const text = (await t.http.get('/metrics')).text;
        return (sample(text, 'unicop_publish_errors_total{route="default",kind="broker_unavailable"}') ?? 0) > 0 ? text : null;
      }, 60_000);
      assert.equal(sample(errors, 'unicop_kafka_reachable{route="default"}'), 0);
      const notReady = await t.http.get('/readyz');
      assert.equal(notReady.status, 503);
      assert.equal(notReady.body.status, 'not_ready');
      assert.equal(notReady.body.checks.routes.default.reachable, false);
      // each update queues its event and its desired-state projections (docs/desired-state.md)
      const held = t.receiver.store.depth();
      assert.ok(held >= 4, `${held} rows held`);
      assert.equal(notReady.body.checks.outbox.depth, held);
      assert.equal(t.receiver.relay.reachable, false);
      closed = true;
      try {
        const { unpublished } = await t.receiver.stop(200);
        assert.equal(unpublished, held, 'the relay thread reports the rows it could not publish');
      } finally {
        rmSync(t.config.dataDir, { recursive: true, force: true });
        dropStore(t.config.dataDir);
      }
    } finally {
      if (!closed) await t.close();
    }
  });

  it('checkpoints the SQLite WAL from the relay thread, never in a request’s commit', async function () {
    if (TEST_STORE !== 'sqlite') this.skip();
    const t = startTestReceiver();
    try {
      const db = t.receiver.db as SqliteDb;
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, 'the ingest connection never checkpoints');
      const file = join(t.config.dataDir, 'unicop.sqlite');
      const before = statSync(file).size;
      for (let i = 0; i < 5; i++) assert.equal(await post(t, 100 + i), 202);
      // Only a checkpoint writes the database file itself; 5 events stay far below SQLite's own 1,000-page trigger.
      await waitFor(() => statSync(file).size > before, 30_000, 'the database file took the WAL’s pages');
    } finally {
      await t.close();
    }
  });

  it('logs a relay thread that dies, counts its routes unreachable and starts a new one after a growing backoff; stop ends the wait', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unicop-relay-thread-'));
    // The thread cannot open its store: the data directory is a file.
    const notADir = join(dir, 'file');
    writeFileSync(notADir, '');
    const log = logSink();
    const reachable: boolean[] = [];
    const thread = new RelayThread({
      config: loadConfig({ UNICOP_WEBHOOK_SECRETS: TEST_SECRET, UNICOP_DATA_DIR: notADir }),
      security: {},
      routes: [{ name: 'default', brokers: ['127.0.0.1:1'], topicPrefix: 'unused', outboxLimit: 10 }],
      home: 'default',
      cell: DEFAULT_CELL,
      holder: 'test',
      metrics: {
        relay: () => ({
          published: () => undefined,
          failed: () => undefined,
          reachable: (up) => void reachable.push(up),
          acknowledged: () => undefined,
          topicMismatch: () => undefined,
        }),
        lanes: () => ({ held: () => undefined, takenOver: () => undefined, lost: () => undefined }),
      },
      writes: { failed: () => undefined, succeeded: () => undefined },
      log: createLogger('info', log.stream),
    });
    try {
      thread.start();
      const ended = await waitFor(() => {
        const lines = log.lines.filter((l) => l.msg === 'relay thread ended; starting a new one');
        return lines.length >= 2 ? lines : null;
      }, 30_000);
      assert.deepEqual(
        ended.slice(0, 2).map((l) => [l.code, l.restartMs]),
        [
          ['UNICOP_PUBLISH_RELAY_THREAD_FAILED', 1000],
          ['UNICOP_PUBLISH_RELAY_THREAD_FAILED', 2000],
        ],
        'each death logged with its code, and the next start waits longer',
      );
      const failed = log.lines.find((l) => l.msg === 'relay thread failed; its routes count as unreachable until a new one runs');
      assert.match(JSON.stringify(failed?.err), /ENOTDIR|EEXIST/, 'the cause comes back from the thread');
      assert.ok(reachable.length >= 2 && reachable.every((up) => !up), 'the route counted unreachable after each death');
      assert.equal(thread.relays.get('default')?.reachable, false);
    } finally {
      // In the middle of a backoff: stop ends the wait, no new thread starts.
      assert.equal(await thread.stop(100), null);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
