/**
 * The receiver under measure: its own process (`receiver/src/main.ts` through tsx), data directory and
 * topic prefix, reading the NetBox of the benchmark with the changelog catch-up on. It polls once at
 * its start and then not for an hour, so each start is one poll to measure. It follows the object
 * types the benchmark changes (UNICOP_CATCHUP_OBJECT_TYPES) rather than NetBox's event rule, which the
 * benchmark turns off while it runs so that NetBox sends no webhook for its changes.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../receiver/test/helpers/process.js';
import { waitFor } from '../../receiver/test/helpers/wait-for.js';
import { readiness } from '../load/unicop.js';
import { exited, startChild, stopChild, TMP, type Started } from '../load/procs.js';

export interface BenchReceiver extends Started {
  url: string;
}

/** Object types the benchmark changes: its parents, devices and interfaces. */
export const OBJECT_TYPES = 'dcim.site,dcim.device,dcim.interface';
const TOPIC_PREFIX = `bcatch${Date.now()}`;
/** The catch-up's pacing, passed through when the operator sets it. */
export const PASSED_THROUGH = ['UNICOP_CATCHUP_RATE'] as const;

/** Starts the receiver (the same data dir each time, so the mark of the first start holds) and waits for /readyz. */
export async function startReceiver(options: { brokers: string; netboxUrl: string; netboxToken: string }): Promise<BenchReceiver> {
  const dataDir = join(TMP, 'receiver');
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const passed = Object.fromEntries(PASSED_THROUGH.flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])));
  const started = startChild('receiver', ['--import', 'tsx', 'receiver/src/main.ts'], {
    PORT: String(port),
    HOST: '127.0.0.1',
    KAFKA_BROKERS: options.brokers,
    UNICOP_WEBHOOK_SECRETS: randomBytes(24).toString('hex'),
    UNICOP_DATA_DIR: dataDir,
    UNICOP_TOPIC_PREFIX: TOPIC_PREFIX,
    UNICOP_LOG_LEVEL: 'info',
    NETBOX_URL: options.netboxUrl,
    NETBOX_TOKEN: options.netboxToken,
    // A first start marks NetBox's newest row; changes after it are what a later start recovers.
    UNICOP_CATCHUP_FROM: 'latest',
    UNICOP_CATCHUP_INTERVAL_MS: '3600000',
    // No webhook is on its way (the event rule is off): every row is due at once.
    UNICOP_CATCHUP_GRACE_MS: '0',
    UNICOP_CATCHUP_OBJECT_TYPES: OBJECT_TYPES,
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
  return { ...started, url };
}

/** The receiver's metric `name` (summed over labels), or null before it has a value. */
export async function metric(r: BenchReceiver, name: string): Promise<number | null> {
  const text = await (await fetch(`${r.url}/metrics`)).text();
  const lines = text.split('\n').filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`));
  return lines.length === 0 ? null : lines.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/**
 * Waits until the catch-up's high-water mark reached `id` (its poll ended past it); resolves with when
 * that was seen. A failed poll fails at once (the next would come in an hour).
 */
export async function markReached(r: BenchReceiver, id: number, timeoutMs: number): Promise<number> {
  const seen = await waitFor(
    async () => {
      if (((await metric(r, 'unicop_catchup_errors_total')) ?? 0) > 0) return 'failed';
      return ((await metric(r, 'unicop_catchup_high_water_mark')) ?? -1) >= id ? 'reached' : undefined;
    },
    timeoutMs,
    `the catch-up's mark to reach ${id}`,
  );
  if (seen === 'failed') throw new Error(`the catch-up poll failed (unicop_catchup_errors_total); see ${r.log}`);
  return Date.now();
}

/** Waits until the relay published every outbox row; resolves with when that was seen. */
export async function drained(r: BenchReceiver, timeoutMs: number): Promise<number> {
  await waitFor(async () => (await readiness(r.url))?.checks.outbox.depth === 0, timeoutMs, 'the outbox to drain');
  return Date.now();
}

export async function stopReceiver(r: BenchReceiver): Promise<void> {
  await stopChild(r.child);
}
