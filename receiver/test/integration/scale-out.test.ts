import { strict as assert } from 'node:assert';
import { interfaceUpdate, signed } from '../helpers/fixtures.js';
import { pool, postWebhook, type PostResult } from '../helpers/http.js';
import { consume, sleep, type Received } from '../helpers/kafka.js';
import { laneOf } from '../../src/pipeline/publish/lanes.js';
import { awxBody } from '../helpers/awx-notifications.js';
import { DEVICE_RULE, policyFile } from '../helpers/policy.js';
import { postgresControl } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';
import { startReceiverGroup, type ReceiverGroup } from '../helpers/receiver-group.js';

const WEBHOOKS = Number(process.env.UNICOP_TEST_SCALE_WEBHOOKS ?? 10_000);
const ROOTS = 500;
const LEASE_S = 3;
const NOTIFY = 'unicop-test-notify-token-0123456789';
const API = 'unicop-test-api-token-0123456789';

/** The events-topic partitions a member's reconcile consumer holds, from its last `consumer group assignment` log line. */
function assignment(output: string): number[] | null {
  return lastAssignment(output)?.partitions ?? null;
}

function lastAssignment(output: string): { partitions: number[]; time: number } | null {
  const last = output
    .split('\n')
    .filter((l) => l.includes('"consumer group assignment"'))
    .at(-1);
  if (!last) return null;
  const line = JSON.parse(last) as { partitions: number[]; time: string };
  return { partitions: line.partitions, time: Date.parse(line.time) };
}

/** Posts to member `i`; a member that is down (killed, restarting) is skipped as a load balancer would, to the next one. */
async function postAny(group: ReceiverGroup, first: number, raw: Buffer, signature: string): Promise<PostResult & { member: number }> {
  for (let tries = 0; ; tries++) {
    const i = (first + tries) % group.members.length;
    const member = group.members[i];
    if (!member) continue;
    try {
      return { ...(await postWebhook(member.url, raw, signature)), member: i };
    } catch {
      if (tries > 50) throw new Error('no receiver answered');
      await sleep(20);
    }
  }
}

/** The first copy of each event id, in arrival order (Kafka keeps it per partition). */
function firstCopies(messages: Received[]): { firsts: Received[]; duplicates: number } {
  const seen = new Set<string>();
  const firsts: Received[] = [];
  for (const m of messages) {
    const id = String(m.value.id);
    if (seen.has(id)) continue;
    seen.add(id);
    firsts.push(m);
  }
  return { firsts, duplicates: messages.length - firsts.length };
}

describe('scale-out: 3 receivers on one PostgreSQL (real PostgreSQL, real Kafka, receiver processes)', function () {
  this.timeout(900_000);

  it(`takes ${WEBHOOKS} webhooks over ${ROOTS} roots from any receiver, 10 % redelivered to another, one killed and restarted: nothing lost, each root gapless and in order on one partition`, async () => {
    const group = await startReceiverGroup(3, { UNICOP_LANE_LEASE_S: String(LEASE_S), UNICOP_TOPIC_PARTITIONS: '6' });
    try {
      const bodies = Array.from({ length: WEBHOOKS }, (_, i) => signed(interfaceUpdate(50_000 + (i % ROOTS), 1_000_000 + i, i)));
      const accepted = new Map<string, string>(); // event id → root
      const statuses = new Map<number, number>();
      let redeliveries = 0;
      let killedAt = -1;
      await pool(bodies.length, 32, async (i) => {
        if (i === Math.floor(WEBHOOKS * 0.4)) {
          killedAt = i;
          await group.kill(1);
        }
        if (i === Math.floor(WEBHOOKS * 0.7)) await group.restart(1);
        const { raw, signature } = bodies[i]!;
        // Every tenth webhook is delivered twice at once, to two receivers: one stores it, the other answers duplicate.
        const copies = i % 10 === 0 ? [i, i + 1] : [i];
        const results = await Promise.all(copies.map((first) => postAny(group, first % 3, raw, signature)));
        for (const r of results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        const ids = new Set(results.map((r) => String(r.body.id)));
        assert.equal(ids.size, 1, `both copies of webhook ${i} name the same event`);
        if (copies.length === 2) {
          redeliveries++;
          if (results[0]!.member !== results[1]!.member) {
            assert.deepEqual(results.map((r) => r.status).sort(), [200, 202], `webhook ${i}: stored once, the other copy a duplicate`);
          }
        }
        assert.ok(results.some((r) => r.status === 202) || results.every((r) => r.status === 200), `webhook ${i}: ${results.map((r) => r.status)}`);
        accepted.set(String(results[0]!.body.id), String(results[0]!.body.root ?? ''));
      });
      assert.ok(killedAt > 0);
      assert.deepEqual([...statuses.keys()].sort(), [200, 202], `only 202 and 200: ${JSON.stringify([...statuses])}`);
      assert.equal(accepted.size, WEBHOOKS);

      const messages = await consume(`${group.prefix}.events.v1`, WEBHOOKS, { timeoutMs: 300_000, settleMs: 3000 });
      const { firsts, duplicates } = firstCopies(messages);
      const published = new Set(firsts.map((m) => String(m.value.id)));
      const missing = [...accepted.keys()].filter((id) => !published.has(id));
      assert.deepEqual(missing.slice(0, 5), [], `${missing.length} accepted events never reached Kafka`);
      assert.equal(published.size, WEBHOOKS);

      const partitionOf = new Map<string, number>();
      const last = new Map<string, number>();
      for (const m of firsts) {
        const seen = partitionOf.get(m.key);
        assert.ok(seen === undefined || seen === m.partition, `root ${m.key} on partitions ${seen} and ${m.partition}`);
        partitionOf.set(m.key, m.partition);
        const sequence = Number(m.value.sequence);
        assert.equal(sequence, (last.get(m.key) ?? 0) + 1, `root ${m.key}: sequence ${sequence} after ${last.get(m.key) ?? 0}`);
        last.set(m.key, sequence);
      }
      assert.equal(partitionOf.size, ROOTS);
      // At-least-once across a takeover: the killed receiver's last unrecorded batch per lane may go out again.
      const takeovers = group.members.flatMap((m) => (m?.output().match(/relay lane taken over[^\n]*/g) ?? []) as string[]);
      console.log(
        `      ${WEBHOOKS} webhooks (${redeliveries} sent twice at once), ${messages.length} event messages, ${duplicates} duplicates, ${takeovers.length} lane takeovers`,
      );
      assert.equal(duplicates, 0, 'no event id twice on a read_committed consumer, across the takeover (exactly-once publication)');
    } finally {
      await group.close();
    }
  });

  it('PostgreSQL stopped for 20 s under load: only 503s with Retry-After and a code, /readyz says why, no acknowledged event lost, all resumes without a restart', async () => {
    const group = await startReceiverGroup(2, { UNICOP_LANE_LEASE_S: String(LEASE_S) });
    const accepted = new Set<string>();
    const refusals = new Map<string, number>();
    let phase: 'before' | 'down' | 'after' = 'before';
    let acceptedAfter = 0;
    let running = true;
    let n = 0;
    const post = async (member: number): Promise<void> => {
      const i = n++;
      const { raw, signature } = signed(interfaceUpdate(60_000 + (i % 50), 2_000_000 + i, i));
      const res = await fetch(`${group.members[member]!.url}/v1/netbox/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hook-signature': signature },
        body: raw,
      });
      const body = (await res.json()) as { id?: string; error?: { code: string; message: string } };
      if (res.status === 202 || res.status === 200) {
        accepted.add(String(body.id));
        if (phase === 'after') acceptedAfter++;
        return;
      }
      assert.equal(res.status, 503, `only 503 while the store is away: ${res.status} ${JSON.stringify(body)}`);
      assert.ok(Number(res.headers.get('retry-after')) > 0, 'a 503 says when to retry');
      const code = String(body.error?.code);
      refusals.set(code, (refusals.get(code) ?? 0) + 1);
      if (code === 'UNICOP_OUTBOX_WRITE_FAILED') assert.match(String(body.error?.message), /PG_/, 'the message names the store failure');
    };
    const load = Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        while (running) await post(worker % 2);
      }),
    );
    try {
      await sleep(3000);
      phase = 'down';
      await postgresControl('down');
      try {
        await sleep(2000);
        const ready = await fetch(`${group.members[0]!.url}/readyz`);
        const readiness = (await ready.json()) as { checks: { store: { writable: boolean; code?: string } } };
        assert.equal(ready.status, 503, 'not ready while the store is away');
        assert.equal(readiness.checks.store.writable, false);
        assert.match(String(readiness.checks.store.code), /^PG_/, 'the store check names the PostgreSQL failure');
        await sleep(18_000);
      } finally {
        await postgresControl('up');
      }
      phase = 'after';
      const deadline = Date.now() + 60_000;
      while (acceptedAfter < 200 && Date.now() < deadline) await sleep(200);
    } finally {
      running = false;
      await load.catch(() => undefined);
    }
    try {
      await load;
      assert.ok(acceptedAfter >= 200, `webhooks accepted again after PostgreSQL came back, no restart: ${acceptedAfter}`);
      assert.deepEqual([...refusals.keys()], ['UNICOP_OUTBOX_WRITE_FAILED'], 'the one refusal code while the store is away');
      for (const m of group.members) assert.equal((await fetch(`${m!.url}/readyz`)).status, 200, 'ready again');
      const messages = await consume(`${group.prefix}.events.v1`, accepted.size, { timeoutMs: 120_000, settleMs: 2000 });
      const published = new Set(messages.map((m) => String(m.value.id)));
      const lost = [...accepted].filter((id) => !published.has(id));
      console.log(
        `      ${accepted.size} accepted, ${[...refusals.values()].reduce((a, b) => a + b, 0)} refused with 503 while PostgreSQL was down, ${lost.length} lost`,
      );
      assert.deepEqual(lost, [], 'every acknowledged event reached Kafka');
    } finally {
      await group.close();
    }
  });

  it('reconciler across receivers: a root whose owner is killed mid-attempt finishes on the new owner, each step launched once; only the owner ticks a root', async () => {
    const group = await startReceiverGroup(2, {
      UNICOP_LANE_LEASE_S: String(LEASE_S),
      UNICOP_LOG_LEVEL: 'info',
      UNICOP_RECONCILE_POLICY: policyFile([{ ...DEVICE_RULE, debounceMs: 3000, deadlineMs: 300_000 }]),
      UNICOP_AWX_NOTIFY_TOKEN: NOTIFY,
      UNICOP_AWX_NOTIFY_USER: 'awx',
      UNICOP_API_TOKENS: API,
    });
    const root = 'dcim.device:70001';
    const partition = laneOf(3)(root);
    const change = async (member: number, n: number): Promise<string> => {
      const { raw, signature } = signed(interfaceUpdate(70_001, 7_000_000 + n, n));
      const res = await postWebhook(group.members[member]!.url, raw, signature);
      assert.equal(res.status, 202);
      return String(res.body.id);
    };
    const notify = async (member: number, reconcileId: string, status: string): Promise<string> => {
      const res = await fetch(`${group.members[member]!.url}/v1/awx/notifications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${NOTIFY}` },
        body: JSON.stringify(awxBody(reconcileId, status, { extra_vars: JSON.stringify({ unicop_reconcile_id: reconcileId, unicop_root: root }) })),
      });
      return ((await res.json()) as { result: string }).result;
    };
    const state = async (member: number): Promise<string> => {
      const res = await fetch(`${group.members[member]!.url}/v1/roots/${root}`, { headers: { authorization: `Bearer ${API}` } });
      return ((await res.json()) as { state: string }).state;
    };
    /** Which member's reconcile consumer holds the root's partition, once both joined and split the partitions. */
    const owner = async (): Promise<number> =>
      (
        await waitFor(
          () => {
            const held = group.members.map((m) => assignment(m!.output()) ?? []);
            // each holds some, together all three once: no member still shows its assignment from before the other joined
            if (held.some((partitions) => partitions.length === 0) || held.flat().length !== 3 || new Set(held.flat()).size !== 3) return undefined;
            return { index: held.findIndex((partitions) => partitions.includes(partition)) };
          },
          120_000,
          'the two reconcile consumers share the partitions',
        )
      ).index;
    const commands = async (count: number) => consume(`${group.prefix}.reconcile.requests.v1`, count, { timeoutMs: 120_000, settleMs: 3000 });
    const idOf = (m: Received) => (m.value.data as { reconcileId: string }).reconcileId;
    try {
      // 1. The owner dies with an attempt in flight.
      const first = await owner();
      const other = 1 - first;
      await change(other, 1);
      const [command] = await consume(`${group.prefix}.reconcile.requests.v1`, 1, { timeoutMs: 60_000, settleMs: 1000 });
      assert.equal(await state(other), 'requested', 'any receiver answers for the root (shared store)');
      await group.kill(first);
      const during = await change(other, 2); // a change while the attempt is in flight: one follow-up
      assert.equal(await notify(other, idOf(command!), 'successful'), 'applied', "the dead owner's attempt concludes through the other receiver");
      // The change is consumed, and its follow-up issued, by the partition's new owner after the group rebalanced.
      const two = await commands(2);
      assert.deepEqual(two.map(idOf).slice(0, 1), [idOf(command!)]);
      assert.equal(two.length, 2, `each step launched once: ${two.map(idOf).join(', ')}`);
      assert.deepEqual((two[1]!.value.data as { triggeringEvents: string[] }).triggeringEvents, [during]);
      assert.equal(await notify(other, idOf(two[1]!), 'successful'), 'applied');
      assert.equal(await state(other), 'succeeded');

      // 2. The owner dies while the root waits out its debounce window: the other receiver must not tick
      // the root (its due time passes meanwhile) before the group gave it the partition.
      await group.restart(first);
      const second = await owner();
      const survivor = 1 - second;
      await change(survivor, 3);
      await waitFor(async () => (await state(survivor)) === 'pending', 30_000, 'the owner consumed the change (debounce running)');
      await group.kill(second);
      const three = await commands(3);
      assert.equal(three.length, 3, `launched once: ${three.map(idOf).join(', ')}`);
      const taken = lastAssignment(group.members[survivor]!.output());
      assert.ok(taken?.partitions.includes(partition), 'the survivor holds the partition now');
      assert.ok(Date.parse(String(three[2]!.value.time)) >= (taken?.time ?? Infinity), 'the command was issued only once the survivor owned the root');
      assert.equal(await notify(survivor, idOf(three[2]!), 'successful'), 'applied');
      assert.equal(await state(survivor), 'succeeded');
    } finally {
      await group.close();
    }
  });
});
