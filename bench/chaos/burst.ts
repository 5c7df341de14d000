/**
 * Burst: `events` signed webhooks over `roots` devices, posted as fast as one receiver process
 * accepts them (bounded concurrency, 503 → wait Retry-After), then wait until the outbox is empty
 * and check the whole topic: every stored event delivered, per-root order, duplicates.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { checkTopic, type CheckReport } from './checker.js';
import { Bodies, postAll, REPLAY_ENV, SECRET, type RunResult } from './client.js';
import { freePort, peakRss, readyz, sleep, startReceiver, stopReceiver, TMP, waitDrained } from './procs.js';

export interface BurstOptions {
  brokers: string;
  events: number;
  roots: number;
  concurrency: number;
}

export interface BurstReport {
  options: BurstOptions;
  client: RunResult;
  check: CheckReport;
  peakRssBytes: number | null;
  /** first post → last 2xx */
  postMs: number;
  /** last 2xx → outbox empty (seen on /readyz, polled every 50 ms) */
  drainMs: number;
  /** last 2xx → Kafka CreateTime of the last message on the topic */
  drainKafkaMs: number;
  /** first post → outbox empty */
  totalMs: number;
}

export async function runBurst(options: BurstOptions): Promise<BurstReport> {
  const prefix = `chaos${randomUUID().slice(0, 8)}`;
  const port = await freePort();
  const receiver = await startReceiver('burst-receiver', port, {
    KAFKA_BROKERS: options.brokers,
    UNICOP_WEBHOOK_SECRETS: SECRET,
    ...REPLAY_ENV,
    UNICOP_DATA_DIR: join(TMP, 'burst-data'),
    UNICOP_TOPIC_PREFIX: prefix,
    UNICOP_LOG_LEVEL: 'warn',
  });
  try {
    const deadline = Date.now() + 60_000;
    while (!(await readyz(receiver.url))?.ready) {
      if (Date.now() > deadline) throw new Error(`burst receiver not ready within 60 s; see ${receiver.log}`);
      await sleep(100);
    }
    const bodies = new Bodies(options.roots);
    let shown = 0;
    const client = await postAll({
      url: () => receiver.url,
      events: options.events,
      concurrency: options.concurrency,
      bodies,
      onStored: (n) => {
        if (n - shown >= 10_000) {
          shown = n;
          process.stderr.write(`chaos burst: ${n} stored\n`);
        }
      },
    });
    const drainedAt = await waitDrained(receiver.url, 15 * 60_000);
    const peakRssBytes = peakRss(receiver.pid);
    process.stderr.write(`chaos burst: outbox empty; checking ${prefix}.events.v1\n`);
    const check = await checkTopic([options.brokers], `${prefix}.events.v1`, client.stored);
    return {
      options,
      client,
      check,
      peakRssBytes,
      postMs: client.lastStoredAt - client.firstPostAt,
      drainMs: drainedAt - client.lastStoredAt,
      drainKafkaMs: check.lastTimestamp - client.lastStoredAt,
      totalMs: drainedAt - client.firstPostAt,
    };
  } finally {
    await stopReceiver(receiver);
  }
}
