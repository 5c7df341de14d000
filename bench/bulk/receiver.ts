/**
 * The receiver under measure for `scripts/bench bulk`: its own process, data directory and topic prefix, listening
 * where NetBox's plugin sends (BENCH_RECEIVER_URL) and verifying with the plugin's secret (BENCH_WEBHOOK_SECRET), both
 * read from NetBox's configuration by bench/bulk/run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../receiver/test/helpers/wait-for.js';
import { readiness } from '../load/unicop.js';
import { exited, startChild, stopChild, TMP, type Started } from '../load/procs.js';

export interface BenchReceiver extends Started {
  url: string;
  brokers: string;
}

export const TOPIC_PREFIX = `bbulk${Date.now()}`;

export async function startBulkReceiver(): Promise<BenchReceiver> {
  const url = new URL(process.env.BENCH_RECEIVER_URL ?? '');
  const brokers = process.env.KAFKA_BROKERS ?? '';
  const dataDir = join(TMP, 'receiver');
  mkdirSync(dataDir, { recursive: true });
  const started = startChild('receiver', ['--import', 'tsx', 'receiver/src/main.ts'], {
    PORT: url.port || '80',
    HOST: '127.0.0.1',
    KAFKA_BROKERS: brokers,
    UNICOP_WEBHOOK_SECRETS: process.env.BENCH_WEBHOOK_SECRET ?? '',
    UNICOP_DATA_DIR: dataDir,
    UNICOP_TOPIC_PREFIX: TOPIC_PREFIX,
    UNICOP_LOG_LEVEL: 'info',
  });
  const base = `http://127.0.0.1:${url.port || '80'}`;
  await waitFor(
    async () => {
      if (exited(started.child)) throw new Error(`receiver exited (${started.child.exitCode}); see ${started.log}`);
      return (await readiness(base))?.checks.kafka.reachable === true;
    },
    90_000,
    'the receiver to answer /readyz with Kafka reachable',
  );
  return { ...started, url: base, brokers };
}

export async function stopReceiver(r: BenchReceiver): Promise<void> {
  await stopChild(r.child);
}
