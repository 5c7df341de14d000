import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { SqliteDb } from '../../src/database.js';
import { createReceiver } from '../../src/receiver.js';
import { FIXTURE_REPLAY_ENV, interfaceUpdate, signed, TEST_SECRET } from '../helpers/fixtures.js';
import { listen } from '../helpers/http.js';
import { BROKERS, consume, randomPrefix } from '../helpers/kafka.js';
import { assertMatchesOpenapi } from '../helpers/openapi.js';
import { waitFor } from '../helpers/wait-for.js';

interface Readiness {
  status: string;
  checks: { store?: { writable: boolean; code?: string; part?: string } };
}

/**
 * A full disk, for real: SQLite's `max_page_count` on the receiver's own connection caps the file
 * at its current size, so the next write that needs a new page fails with SQLITE_FULL; raising it
 * is "space returns".
 */
describe('disk full (SQLITE_FULL through max_page_count, real Kafka)', function () {
  this.timeout(180_000);

  it('answers 503 with a code, logs why, is not ready while the disk is full, and after space returns publishes everything it acknowledged', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unicop-full-'));
    const prefix = randomPrefix();
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk
          .toString()
          .split('\n')
          .filter((l) => l !== ''))
          lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const config = loadConfig({
      KAFKA_BROKERS: BROKERS.join(','),
      UNICOP_WEBHOOK_SECRETS: TEST_SECRET,
      UNICOP_DATA_DIR: dataDir,
      UNICOP_TOPIC_PREFIX: prefix,
      UNICOP_TOPIC_PARTITIONS: '3',
      ...FIXTURE_REPLAY_ENV,
    });
    const receiver = createReceiver(config, createLogger('info', sink));
    const server = await listen(receiver.app);
    const accepted = new Set<string>();
    let n = 0;
    const post = async () => {
      n++;
      const { raw, signature } = signed(interfaceUpdate(7000 + (n % 5), 70000 + n, n));
      const res = await fetch(`${server.url}/v1/netbox/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hook-signature': signature },
        body: raw,
      });
      const body = (await res.json()) as { id?: string; error?: { code: string; message: string } };
      if (res.status === 202) accepted.add(String(body.id));
      return { status: res.status, body, retryAfter: res.headers.get('retry-after') };
    };
    const readiness = async () => {
      const res = await fetch(`${server.url}/readyz`);
      return { status: res.status, headers: { 'content-type': res.headers.get('content-type') ?? '' }, body: (await res.json()) as Readiness };
    };
    try {
      await waitFor(async () => (await readiness()).status === 200, 60_000, 'ready before the fault');
      for (let i = 0; i < 5; i++) assert.equal((await post()).status, 202);

      // The disk fills up: the file may not grow by one page.
      (receiver.db as SqliteDb).pragma(`max_page_count = ${(receiver.db as SqliteDb).pragma('page_count', { simple: true }) as number}`);
      let refused: Awaited<ReturnType<typeof post>> | undefined;
      for (let i = 0; i < 500 && !refused; i++) {
        const r = await post();
        if (r.status !== 202) refused = r;
      }
      assert.ok(refused, 'a webhook was refused once the disk was full');
      assert.equal(refused.status, 503);
      assert.equal(refused.body.error?.code, 'UNICOP_OUTBOX_WRITE_FAILED');
      assert.match(refused.body.error?.message ?? '', /SQLITE_FULL/);
      assert.ok(Number(refused.retryAfter) >= 1, 'Retry-After');
      const again = await post();
      assert.equal(again.status, 503, 'still refused while the disk is full');

      const why = lines.find((l) => l.level === 50 && l.code === 'SQLITE_FULL' && l.part === 'outbox');
      assert.ok(why, `an error line names SQLITE_FULL: ${JSON.stringify(lines.filter((l) => Number(l.level) >= 40))}`);
      const notReady = await readiness();
      assert.equal(notReady.status, 503);
      assert.equal(notReady.body.status, 'not_ready');
      assert.deepEqual({ ...notReady.body.checks.store, since: undefined }, { writable: false, code: 'SQLITE_FULL', part: 'outbox', since: undefined });
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /unicop_store_write_failures_total\{code="SQLITE_FULL",part="outbox"\} [1-9]/);
      assert.match(metrics, /unicop_store_writable 0/);

      // Space returns.
      (receiver.db as SqliteDb).pragma('max_page_count = 1073741823');
      const back = await waitFor(
        async () => {
          const r = await post();
          return r.status === 202 ? r : null;
        },
        30_000,
        'a webhook accepted again',
      );
      assert.equal(back.status, 202);
      for (let i = 0; i < 5; i++) assert.equal((await post()).status, 202, 'new webhooks are accepted');
      const ready = await waitFor(
        async () => {
          const r = await readiness();
          return r.status === 200 ? r : null;
        },
        30_000,
        'ready again',
      );
      assert.deepEqual(ready.body.checks.store, { writable: true });
      assertMatchesOpenapi('GET', '/readyz', ready);
      assert.ok(lines.some((l) => l.msg === 'store writable again'));

      const messages = await consume(`${prefix}.events.v1`, accepted.size, { timeoutMs: 60_000 });
      const published = new Set(messages.map((m) => String(m.value.id)));
      assert.deepEqual(
        [...accepted].filter((id) => !published.has(id)),
        [],
        'every acknowledged webhook was published',
      );
    } finally {
      await server.close();
      await receiver.stop(2000);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
