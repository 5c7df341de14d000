/**
 * Part 2: how long a SIGKILLed receiver's relay lanes stay unpublished. Three receivers on a new
 * database, light steady load round-robin over them, lanes spread (each holds its share). Then one is
 * killed and, right after, one webhook about a root of each lane it held is posted to a survivor. Two
 * times from the kill: (a) until every lane it held was taken over — the survivors' warn line `relay
 * lane taken over …` (its `time`, `lane`, `previousHolder`); (b) until every one of those webhooks is on
 * the events topic (a consumer reading it from the start, matched by request id).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { hostname } from 'node:os';
import type { Consumer } from 'kafkajs';
import { kafka } from '../../receiver/test/helpers/kafka.js';
import { waitFor } from '../../receiver/test/helpers/wait-for.js';
import { laneOf } from '../../receiver/src/pipeline/publish/lanes.js';
import { postSigned } from '../load/e2e-latency.js';
import type { Payloads, SignedBody } from '../load/payloads.js';
import { stopChild } from '../load/procs.js';
import { say, sleep } from '../load/stats.js';
import { startReceiver, type RunningReceiver } from '../load/unicop.js';
import { createDatabase } from '../../receiver/test/helpers/store.js';
import { laneHolders } from './store.js';

/** The events topic's partitions, hence lanes: the receiver's default (UNICOP_TOPIC_PARTITIONS). */
export const LANES = 12;
const RECEIVERS = 3;

export interface TakeoverRun {
  leaseS: number;
  lanesKilled: number;
  /** Kill → the last of the killed receiver's lanes taken over (log time of the taker). */
  takenOverMs: number;
  /** Kill → the first of them taken over. */
  firstTakenOverMs: number;
  /** Kill → the last probe webhook (one per killed lane, posted to a survivor after the kill) on Kafka. */
  onKafkaMs: number;
  /** How long the dead lease had been expired when taken, as the takers logged it (the largest). */
  expiredForMs: number;
  /** Steady-load answers that were not 2xx, and requests that failed (those in flight to the killed receiver). */
  non2xx: number;
  failed: number;
}

interface TakeoverLine {
  time: string;
  lane: number;
  previousHolder: string;
  expiredForMs: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

const post = (url: string, body: SignedBody): Promise<number> => postSigned(new URL(url), agent, body);

const holderOf = (r: RunningReceiver): string => `${hostname()}:${r.port}:${r.pid}`;

/** The takeover lines about `victim` in the survivors' logs, lane → time (ms since the epoch). */
function takeovers(survivors: RunningReceiver[], victim: string): Map<number, { at: number; expiredForMs: number }> {
  const found = new Map<number, { at: number; expiredForMs: number }>();
  for (const r of survivors) {
    for (const line of readFileSync(r.log, 'utf8').split('\n')) {
      if (!line.includes('relay lane taken over')) continue;
      let entry: TakeoverLine;
      try {
        entry = JSON.parse(line) as TakeoverLine;
      } catch {
        continue; // the last line, still being written
      }
      if (entry.previousHolder === victim) found.set(entry.lane, { at: Date.parse(entry.time), expiredForMs: entry.expiredForMs });
    }
  }
  return found;
}

/** A device whose root key maps to `lane`. */
function rootOnLane(lane: number, roots: number): number {
  const of = laneOf(LANES);
  for (let device = 1; device <= roots * 10; device++) if (of(`dcim.device:${device}`) === lane) return device;
  throw new Error(`no device among the first ${roots * 10} maps to lane ${lane}`);
}

export async function takeoverRun(options: {
  brokers: string;
  adminUrl: string;
  leaseS: number;
  /** Whether to set UNICOP_LANE_LEASE_S (false: the receiver's default, which `leaseS` names). */
  setLease: boolean;
  rate: number;
  roots: number;
  payloads: Payloads;
  label: string;
}): Promise<TakeoverRun> {
  const databaseUrl = createDatabase(options.adminUrl, 'bench_takeover');
  const prefix = `bto${randomUUID().slice(0, 6)}`;
  const env: Record<string, string> = {
    UNICOP_DATABASE_URL: databaseUrl,
    UNICOP_TOPIC_PARTITIONS: String(LANES),
    ...(options.setLease ? { UNICOP_LANE_LEASE_S: String(options.leaseS) } : {}),
  };
  const receivers: RunningReceiver[] = [];
  for (let i = 0; i < RECEIVERS; i++) receivers.push(await startReceiver({ brokers: options.brokers, prefix, name: `${options.label}-${i + 1}`, env }));
  const live = [...receivers];
  const statuses: Record<string, number> = {};
  let failed = 0;
  let loading = true;
  const steady = (async () => {
    for (let n = 0; loading; n++) {
      const target = live[n % live.length]!;
      post(target.url, options.payloads.next()).then(
        (status) => (statuses[status] = (statuses[status] ?? 0) + 1),
        () => failed++,
      );
      await sleep(1000 / options.rate);
    }
  })();
  const arrived = new Map<string, number>();
  let consumer: Consumer | null = null;
  try {
    const topic = `${prefix}.events.v1`;
    const admin = kafka.admin();
    await admin.connect();
    await waitFor(async () => (await admin.listTopics()).includes(topic), 60_000, `the topic ${topic}`);
    await admin.disconnect();
    consumer = kafka.consumer({ groupId: `bench-scaleout-${randomUUID()}`, maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = JSON.parse(message.value?.toString('utf8') ?? 'null') as { data?: { actor?: { requestId?: string } } } | null;
        const id = value?.data?.actor?.requestId;
        if (id !== undefined && !arrived.has(id)) arrived.set(id, Date.now());
      },
    });
    // spread: every lane held, each receiver its share (lanes ÷ receivers)
    const holders = receivers.map(holderOf);
    await waitFor(
      async () => {
        const lanes = [...(await laneHolders(databaseUrl)).values()];
        return lanes.length === LANES && holders.every((h) => lanes.filter((x) => x === h).length === LANES / RECEIVERS);
      },
      120_000,
      'the lanes to spread over the three receivers',
    );
    await sleep(1000);
    const victim = receivers[1]!;
    const victimHolder = holderOf(victim);
    const lanes = [...(await laneHolders(databaseUrl)).entries()].filter(([, h]) => h === victimHolder).map(([lane]) => lane);
    const survivors = receivers.filter((r) => r !== victim);
    live.splice(live.indexOf(victim), 1);

    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    // signed after the kill, so no steady-load body about the same object is newer (it would supersede it)
    const probes = lanes.map((lane) => options.payloads.next(rootOnLane(lane, options.roots)));
    const answers = await Promise.all(probes.map((p, i) => post(survivors[i % survivors.length]!.url, p)));
    if (answers.some((s) => s !== 202)) throw new Error(`a probe webhook was answered ${answers.join(', ')}, not 202`);

    const timeoutMs = options.leaseS * 3000 + 30_000;
    const taken = await waitFor(
      () => {
        const t = takeovers(survivors, victimHolder);
        return lanes.every((lane) => t.has(lane)) ? t : null;
      },
      timeoutMs,
      `every lane of the killed receiver (${lanes.join(', ')}) to be taken over`,
    );
    await waitFor(() => probes.every((p) => arrived.has(p.requestId)), timeoutMs, 'the probe webhooks to reach Kafka');
    const times = [...taken.values()].map((t) => t.at - killedAt);
    say(`  ${options.label}: lanes ${lanes.join(',')} taken over ${Math.max(...times)} ms after the kill`);
    return {
      leaseS: options.leaseS,
      lanesKilled: lanes.length,
      takenOverMs: Math.max(...times),
      firstTakenOverMs: Math.min(...times),
      onKafkaMs: Math.max(...probes.map((p) => arrived.get(p.requestId)! - killedAt)),
      expiredForMs: Math.max(...[...taken.values()].map((t) => t.expiredForMs)),
      non2xx: Object.entries(statuses).reduce((n, [code, c]) => n + (code.startsWith('2') ? 0 : c), 0),
      failed,
    };
  } finally {
    loading = false;
    await steady;
    await consumer?.disconnect();
    await Promise.all(receivers.map((r) => stopChild(r.child, 'SIGTERM', 20_000)));
  }
}
