/**
 * End-to-end latency: a consumer positioned at the end of the events topic, then `count` pre-signed
 * webhooks posted at a steady `rate` (one every 1000/rate ms, not waiting for each other). Latency
 * of one event = the moment the consumer's `eachMessage` sees it − the moment its POST started
 * (same process, monotonic clock). Events are matched by the request id the body carries
 * (`data.actor.requestId` of the envelope).
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { Kafka } from 'kafkajs';
import { waitFor } from '../../receiver/test/helpers/wait-for.js';
import { WEBHOOK_PATH } from './load.js';
import type { SignedBody } from './payloads.js';
import { percentile, sleep } from './stats.js';
import type { TopicWatch } from './kafka-watch.js';

export interface E2eResult {
  posted: number;
  accepted: number;
  seen: number;
  rate: number;
  e2eMs: { p50: number; p99: number; max: number };
  acceptMs: { p50: number; p99: number };
}

/** POSTs one pre-signed webhook on a keep-alive agent; resolves with the status (never throws on one). */
export function postSigned(url: URL, agent: Agent, body: SignedBody): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: WEBHOOK_PATH,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.raw.length, 'x-hook-signature': body.signature },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body.raw);
  });
}

export async function measureE2e(options: { kafka: Kafka; watch: TopicWatch; url: string; bodies: SignedBody[]; rate: number }): Promise<E2eResult> {
  const posted = new Map<string, number>();
  const e2e: number[] = [];
  const accept: number[] = [];
  const seen = new Set<string>();
  let fetches = 0;

  const consumer = options.kafka.consumer({ groupId: `bench-e2e-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const start = await options.watch.offsets();
  await consumer.connect();
  try {
    consumer.on(consumer.events.FETCH, () => fetches++);
    await consumer.subscribe({ topic: options.watch.topic, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const now = performance.now();
        const value = JSON.parse(message.value?.toString('utf8') ?? 'null') as { data?: { actor?: { requestId?: string } } } | null;
        const id = value?.data?.actor?.requestId;
        const t0 = id === undefined ? undefined : posted.get(id);
        if (id !== undefined && t0 !== undefined && !seen.has(id)) {
          seen.add(id);
          e2e.push(now - t0);
        }
      },
    });
    for (const p of start) consumer.seek({ topic: options.watch.topic, partition: p.partition, offset: p.high });
    const after = fetches;
    await waitFor(() => fetches >= after + 3, 30_000, 'the e2e consumer to fetch');

    const url = new URL(options.url);
    const interval = 1000 / options.rate;
    const began = performance.now();
    const inFlight: Promise<void>[] = [];
    let accepted = 0;
    for (let i = 0; i < options.bodies.length; i++) {
      const due = began + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const body = options.bodies[i] as SignedBody;
      const t0 = performance.now();
      posted.set(body.requestId, t0);
      inFlight.push(
        postSigned(url, agent, body).then((status) => {
          accept.push(performance.now() - t0);
          if (status === 202) accepted++;
        }),
      );
    }
    await Promise.allSettled(inFlight);
    await waitFor(() => seen.size >= accepted, 30_000, 'every e2e event on Kafka').catch(() => undefined);
    return {
      posted: options.bodies.length,
      accepted,
      seen: seen.size,
      rate: options.rate,
      e2eMs: { p50: percentile(e2e, 50), p99: percentile(e2e, 99), max: percentile(e2e, 100) },
      acceptMs: { p50: percentile(accept, 50), p99: percentile(accept, 99) },
    };
  } finally {
    agent.destroy();
    await consumer.disconnect();
  }
}
