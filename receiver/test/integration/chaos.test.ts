import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '../../src/model/netbox-webhook.js';
import { interfaceUpdate, signed } from '../helpers/fixtures.js';
import { listen, pool } from '../helpers/http.js';
import { consume, randomPrefix, sleep, type Received } from '../helpers/kafka.js';
import { freePort, killHard, spawnReceiver } from '../helpers/process.js';
import { processEnv, startTestReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Short CI versions of `scripts/chaos burst` and of its SIGSTOP scenario (the full runs and their
 * figures: docs/chaos.md), and of its SIGKILL-every-2-s scenario checked on a read_committed consumer
 * (exactly-once). Broker down/up and a single receiver kill -9 are in durability.test.ts.
 * No assertion on time: every wait is bounded, figures are only printed.
 */

type Template = JsonObject & { data: JsonObject & { device: JsonObject }; request: JsonObject };
const TEMPLATE = interfaceUpdate(1, 1, 0) as Template;

/** Event `i` on device `deviceBase + i % roots`: `interfaceUpdate()`'s edits on one template (it reads the fixture files per call). */
function event(i: number, roots: number, deviceBase: number): { raw: Buffer; signature: string } {
  const deviceId = deviceBase + (i % roots);
  const lastUpdated = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString().replace('Z', '000+00:00');
  return signed({
    ...TEMPLATE,
    data: { ...TEMPLATE.data, id: deviceId * 10 + (i % 3), last_updated: lastUpdated, description: `v${i}`, device: { ...TEMPLATE.data.device, id: deviceId } },
    request: { ...TEMPLATE.request, id: randomUUID() },
  });
}

interface Posted {
  stored: Map<string, number>;
  backpressure: number;
  backpressureWithoutRetryAfter: number;
  connectionErrors: number;
}
const posted = (): Posted => ({ stored: new Map(), backpressure: 0, backpressureWithoutRetryAfter: 0, connectionErrors: 0 });

/** Posts every event until a 2xx: 503 → wait Retry-After; connection error → retry (bounded). */
async function postAll(
  p: Posted,
  url: () => string,
  count: number,
  concurrency: number,
  make: (i: number) => { raw: Buffer; signature: string },
  onStored?: (n: number) => void,
): Promise<Posted> {
  await pool(count, concurrency, async (i) => {
    const { raw, signature } = make(i);
    const deadline = Date.now() + 120_000;
    for (;;) {
      assert.ok(Date.now() < deadline, `event ${i} not stored within 120 s`);
      let res: Response;
      try {
        res = await fetch(`${url()}/v1/netbox/webhooks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-hook-signature': signature },
          body: raw,
        });
      } catch {
        p.connectionErrors++;
        await sleep(100);
        continue;
      }
      const body = (await res.json()) as { id?: string; sequence?: number };
      if (res.status === 202 || res.status === 200) {
        p.stored.set(String(body.id), Number(body.sequence));
        onStored?.(p.stored.size);
        return;
      }
      assert.equal(res.status, 503, `unexpected ${res.status}: ${JSON.stringify(body)}`);
      p.backpressure++;
      const seconds = Number(res.headers.get('retry-after'));
      if (!(seconds > 0)) p.backpressureWithoutRetryAfter++;
      await sleep(seconds > 0 ? seconds * 1000 : 1000);
    }
  });
  return p;
}

/** The checker of scripts/chaos in short: lost, extra copies, per-root order after dedupe by id. */
function check(messages: Received[], stored: Map<string, number>): { lost: number; extraCopies: number; orderViolations: number; roots: number } {
  const seen = new Set<string>();
  const last = new Map<string, number>();
  let extraCopies = 0;
  let orderViolations = 0;
  for (const m of messages) {
    const id = String(m.value.id);
    if (seen.has(id)) {
      extraCopies++;
      continue;
    }
    seen.add(id);
    const seq = Number(m.value.sequence);
    if (seq !== (last.get(m.key) ?? 0) + 1) orderViolations++;
    last.set(m.key, seq);
    assert.equal(stored.get(id), seq, `event ${id} published with the sequence its 202 named`);
  }
  const lost = [...stored.keys()].filter((id) => !seen.has(id)).length;
  return { lost, extraCopies, orderViolations, roots: last.size };
}

function peakRssMb(pid: number): number {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(m?.[1] ?? 0) / 1024);
}

describe('chaos, short versions (full runs: scripts/chaos burst|faults)', function () {
  this.timeout(300_000);

  it('burst: 2,000 events over 200 roots, posted 64 at a time, all delivered in per-root order', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unicop-burst-'));
    const prefix = randomPrefix();
    const receiver = await spawnReceiver(processEnv(dataDir, prefix));
    try {
      const t0 = Date.now();
      const p = await postAll(
        posted(),
        () => receiver.url,
        2000,
        64,
        (i) => event(i, 200, 40_000),
      );
      const postMs = Date.now() - t0;
      assert.equal(p.stored.size, 2000);
      assert.equal(p.backpressureWithoutRetryAfter, 0);
      await waitFor(
        async () => ((await (await fetch(`${receiver.url}/readyz`)).json()) as { checks: { outbox: { depth: number } } }).checks.outbox.depth === 0,
        120_000,
        'outbox drained',
      );
      const drainedMs = Date.now() - t0;
      const rss = peakRssMb(receiver.child.pid ?? 0);
      const messages = await consume(`${prefix}.events.v1`, 2000, { timeoutMs: 120_000, settleMs: 1000 });
      const r = check(messages, p.stored);
      console.log(
        `      posted in ${postMs} ms (${Math.round(2000_000 / postMs)}/s), outbox empty at ${drainedMs} ms, ${p.backpressure} × 503; ` +
          `receiver peak RSS ${rss} MB; ${messages.length} messages, lost ${r.lost}, extra copies ${r.extraCopies}, order violations ${r.orderViolations}`,
      );
      assert.equal(r.lost, 0, 'lost');
      assert.equal(r.orderViolations, 0, 'per-root order');
      assert.equal(r.roots, 200);
    } finally {
      await killHard(receiver.child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('SIGKILL every 2 s during a burst of 2,000 events: none lost, no event id twice on a read_committed consumer, per-root order', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unicop-kill-burst-'));
    const prefix = randomPrefix();
    const env = processEnv(dataDir, prefix);
    const port = await freePort();
    let receiver = await spawnReceiver(env, port);
    let posting = true;
    let kills = 0;
    // Killed 2 s after each start, restarted on the same port, until the burst is in and three kills happened.
    const killer = (async () => {
      while (posting || kills < 3) {
        await sleep(2000);
        await killHard(receiver.child);
        kills++;
        receiver = await spawnReceiver(env, port);
      }
    })();
    try {
      const p = await postAll(
        posted(),
        () => `http://127.0.0.1:${port}`,
        2000,
        64,
        (i) => event(i, 100, 60_000),
      ).finally(() => (posting = false));
      await killer;
      assert.equal(p.stored.size, 2000);
      await waitFor(
        async () => ((await (await fetch(`${receiver.url}/readyz`)).json()) as { checks: { outbox: { depth: number } } }).checks.outbox.depth === 0,
        120_000,
        'outbox drained',
      );
      const messages = await consume(`${prefix}.events.v1`, 2000, { timeoutMs: 120_000, settleMs: 2000 });
      const r = check(messages, p.stored);
      console.log(
        `      ${kills} × SIGKILL; ${messages.length} messages, lost ${r.lost}, extra copies ${r.extraCopies}, order violations ${r.orderViolations}`,
      );
      assert.ok(kills >= 3);
      assert.equal(r.lost, 0, 'lost');
      assert.equal(r.extraCopies, 0, 'an event id seen twice by a read_committed consumer');
      assert.equal(r.orderViolations, 0, 'per-root order');
    } finally {
      posting = false;
      await killer.catch(() => undefined);
      await killHard(receiver.child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('SIGSTOP Kafka until the outbox limit answers 503 + Retry-After, SIGCONT: nothing lost, order kept', async function () {
    const pidFile = process.env.KAFKA_DATA_DIR ? join(process.env.KAFKA_DATA_DIR, 'kafka.pid') : null;
    if (!pidFile) this.skip(); // needs the private broker of scripts/test (KAFKA_DATA_DIR)
    const brokerPid = Number(readFileSync(pidFile, 'utf8').trim());
    assert.ok(brokerPid > 1, `broker pid in ${pidFile}`);
    const resume = (): void => {
      try {
        process.kill(brokerPid, 'SIGCONT');
      } catch {
        /* gone */
      }
    };
    process.once('exit', resume);

    const t = startTestReceiver({ UNICOP_OUTBOX_LIMIT: '200' });
    const server = await listen(t.receiver.app);
    let stopped = false;
    try {
      await waitFor(() => t.receiver.relay.reachable, 30_000, 'relay reaches Kafka');
      const p = posted();
      const posting = postAll(
        p,
        () => server.url,
        800,
        16,
        (i) => event(i, 40, 50_000),
        (n) => {
          if (n === 100 && !stopped) {
            process.kill(brokerPid, 'SIGSTOP');
            stopped = true;
          }
        },
      );
      const watch = (async () => {
        // the broker stays stopped until the first 503 (outbox at its limit), then 1 s more
        await waitFor(() => stopped, 120_000, 'SIGSTOP');
        try {
          await waitFor(() => p.backpressure > 0, 60_000, 'a 503 once the outbox is at its limit');
          await sleep(1000);
        } finally {
          resume();
        }
      })();
      await Promise.all([posting, watch]);
      assert.ok(p.backpressure > 0, 'some webhooks were answered 503');
      assert.equal(p.backpressureWithoutRetryAfter, 0, 'every 503 carries Retry-After');
      assert.equal(p.stored.size, 800);
      await waitFor(() => t.receiver.store.depth() === 0, 120_000, 'outbox drained after SIGCONT');
      const messages = await consume(t.topics.events, 800, { timeoutMs: 120_000, settleMs: 1000 });
      const r = check(messages, p.stored);
      console.log(
        `      ${p.backpressure} × 503 (all with Retry-After); ${messages.length} messages, lost ${r.lost}, extra copies ${r.extraCopies}, order violations ${r.orderViolations}`,
      );
      assert.equal(r.lost, 0, 'lost');
      assert.equal(r.orderViolations, 0, 'per-root order');
    } finally {
      resume();
      process.removeListener('exit', resume);
      await server.close();
      await t.close();
    }
  });
});
