/**
 * The real receiver as a child process: the compiled `dist/main.js` (what production runs),
 * a fresh data directory per start, the benchmark's private broker. Optionally with `--cpu-prof`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../receiver/test/helpers/process.js';
import { waitFor } from '../../receiver/test/helpers/wait-for.js';
import { REPLAY_ENV, SECRET } from './payloads.js';
import { exited, startChild, stopChild, TMP, type Started } from './procs.js';

export interface RunningReceiver extends Started {
  url: string;
  port: number;
  dataDir: string;
}

/** The compiled receiver: scripts/bench builds a private copy; `npm run build`'s output otherwise. */
export const RECEIVER_MAIN = process.env.BENCH_RECEIVER_MAIN ?? 'receiver/dist/main.js';

let starts = 0;

/** `env`: more settings on top (a shared store's UNICOP_DATABASE_URL, lanes, lease length); `name` names its log file. */
export async function startReceiver(options: {
  brokers: string;
  prefix: string;
  cpuProfDir?: string;
  env?: Record<string, string>;
  name?: string;
}): Promise<RunningReceiver> {
  const n = ++starts;
  const dataDir = join(TMP, `receiver-${process.pid}-${n}`);
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const args = [...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : []), RECEIVER_MAIN];
  const started = startChild(options.name ?? `receiver-${process.pid}-${n}`, args, {
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    KAFKA_BROKERS: options.brokers,
    UNICOP_WEBHOOK_SECRETS: SECRET,
    ...REPLAY_ENV,
    UNICOP_DATA_DIR: dataDir,
    UNICOP_TOPIC_PREFIX: options.prefix,
    ...options.env,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (exited(started.child)) throw new Error(`receiver exited (${started.child.exitCode}); see ${started.log}`);
      const ready = await readiness(url);
      return ready?.checks.kafka.reachable === true;
    },
    60_000,
    'the receiver to answer /readyz with Kafka reachable',
  );
  return { ...started, url, dataDir, port };
}

export interface Readiness {
  status: string;
  checks: { kafka: { reachable: boolean }; outbox: { depth: number; limit: number } };
}

export async function readiness(url: string): Promise<Readiness | null> {
  try {
    const res = await fetch(`${url}/readyz`);
    return (await res.json()) as Readiness;
  } catch {
    return null;
  }
}

/** Waits until the outbox is empty (everything committed was acknowledged by Kafka). */
export async function drained(url: string, timeoutMs: number): Promise<void> {
  await waitFor(async () => (await readiness(url))?.checks.outbox.depth === 0, timeoutMs, 'the receiver outbox to drain');
}

/** SIGTERM (the receiver drains for up to 10 s and exits; `--cpu-prof` writes its profile then). */
export async function stopReceiver(r: RunningReceiver): Promise<number | null> {
  return stopChild(r.child, 'SIGTERM', 20_000);
}

export interface EventLoopDelay {
  p50: number;
  p99: number;
  max: number;
}

/**
 * The receiver's own event-loop delay (prom-client's default metrics, `unicop_nodejs_eventloop_lag_*`,
 * from `perf_hooks.monitorEventLoopDelay`, reset at every scrape): scrape once before a load to
 * reset, once after to read what the load did. Milliseconds; null when the metrics are missing.
 */
export async function eventLoopDelay(url: string): Promise<EventLoopDelay | null> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const read = (name: string): number =>
      Number(new RegExp(`^unicop_nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]) * 1000;
    const out = { p50: read('p50'), p99: read('p99'), max: read('max') };
    return Number.isFinite(out.max) ? out : null;
  } catch {
    return null;
  }
}
