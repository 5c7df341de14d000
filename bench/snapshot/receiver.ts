/**
 * The receiver under measure: its own process (`receiver/src/main.ts` through tsx), data directory and
 * topic prefix, reading the NetBox of the benchmark. No NetBox webhook points at it, so its spine
 * starts empty: the first snapshot finds every object missing.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../receiver/test/helpers/process.js';
import { waitFor } from '../../receiver/test/helpers/wait-for.js';
import { readiness } from '../load/unicop.js';
import { exited, startChild, stopChild, TMP, type Started } from '../load/procs.js';

export interface Snapshot {
  snapshotId: string;
  state: 'running' | 'completed' | 'failed';
  objectTypes: string[];
  durationMs: number;
  counts: { read: number; requests: number };
  repairs: { created: number; updated: number; deleted: number };
  error: unknown;
}

export interface BenchReceiver extends Started {
  url: string;
  token: string;
}

/** Settings the operator gives the snapshot (rate, page size, object types) reach the receiver unchanged. */
export const PASSED_THROUGH = ['UNICOP_SNAPSHOT_RATE', 'UNICOP_SNAPSHOT_PAGE_SIZE', 'UNICOP_SNAPSHOT_OBJECT_TYPES', 'UNICOP_INVENTORY_POLICY'] as const;

export async function startReceiver(options: { brokers: string; netboxUrl: string; netboxToken: string }): Promise<BenchReceiver> {
  const dataDir = join(TMP, 'receiver');
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const token = randomBytes(24).toString('hex');
  const passed = Object.fromEntries(PASSED_THROUGH.flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])));
  const started = startChild('receiver', ['--import', 'tsx', 'receiver/src/main.ts'], {
    PORT: String(port),
    HOST: '127.0.0.1',
    KAFKA_BROKERS: options.brokers,
    UNICOP_WEBHOOK_SECRETS: randomBytes(24).toString('hex'),
    UNICOP_DATA_DIR: dataDir,
    UNICOP_TOPIC_PREFIX: `bsnap${Date.now()}`,
    UNICOP_API_TOKENS: token,
    UNICOP_LOG_LEVEL: 'info',
    NETBOX_URL: options.netboxUrl,
    NETBOX_TOKEN: options.netboxToken,
    // The changelog catch-up starts at NetBox's newest row and polls once an hour: the objects made before the
    // start stay out of the spine, and its polls stay out of the snapshot's NetBox.
    UNICOP_CATCHUP_FROM: 'latest',
    UNICOP_CATCHUP_INTERVAL_MS: '3600000',
    ...passed,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (exited(started.child)) throw new Error(`receiver exited (${started.child.exitCode}); see ${started.log}`);
      return (await readiness(url))?.checks.kafka.reachable === true;
    },
    90_000,
    'the receiver to answer /readyz with Kafka reachable',
  );
  return { ...started, url, token };
}

async function call<T>(r: BenchReceiver, method: string, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${r.url}${path}`, { method, headers: { authorization: `Bearer ${r.token}` } });
  return { status: res.status, body: (await res.json()) as T };
}

/** POST /v1/snapshots, then GET /v1/snapshots/{id} until it ended; its own duration and counts are the figures. */
export async function runSnapshot(r: BenchReceiver, timeoutMs: number): Promise<Snapshot> {
  const started = await call<{ snapshotId: string }>(r, 'POST', '/v1/snapshots');
  if (started.status !== 202) throw new Error(`POST /v1/snapshots → ${started.status}: ${JSON.stringify(started.body)}`);
  return waitFor(
    async () => {
      const { body } = await call<Snapshot>(r, 'GET', `/v1/snapshots/${started.body.snapshotId}`);
      return body.state === 'running' ? undefined : body;
    },
    timeoutMs,
    'the snapshot to end',
  );
}

/** Waits until the relay published every outbox row (the repairs are on Kafka); resolves with how long that took. */
export async function outboxDrained(r: BenchReceiver, timeoutMs: number): Promise<number> {
  const from = Date.now();
  await waitFor(async () => (await readiness(r.url))?.checks.outbox.depth === 0, timeoutMs, 'the outbox to drain');
  return Date.now() - from;
}

export async function stopReceiver(r: BenchReceiver): Promise<void> {
  await stopChild(r.child);
}
