import { Worker } from 'node:worker_threads';
import type { Config } from './config.js';
import { UnicopError } from './errors.js';
import type { RouteSpec } from './federation/federation.js';
import { lineWriter, type Logger } from './log.js';
import type { KafkaSecurity } from './pipeline/publish/kafka-security.js';
import type { LaneLeaseMetrics } from './pipeline/publish/lane-leases.js';
import type { RelayMetrics } from './pipeline/publish/relay.js';
import type { FromRelay, RelayWorkerData, ToRelay } from './relay-protocol.js';
import { Backoff } from './retry/backoff.js';
import { lateAfter } from './retry/late.js';
import { Pause } from './retry/pause.js';

/** What the ingest thread sees of one route's relay: whether its cluster answers, and a way to wake it. */
export interface RelayHandle {
  /** True while the relay's last contact with the broker succeeded and no batch waits too long (Relay.reachable). */
  readonly reachable: boolean;
  /** While unreachable: the error code of why, when known (the last failed contact), for /readyz. */
  readonly fault: string | null;
  wake(): void;
}

export interface RelayThreadOptions {
  config: Config;
  security: KafkaSecurity;
  routes: readonly RouteSpec[];
  home: string;
  /** This receiver's cell: part of its lanes' transactional ids (lane-transactions.ts). */
  cell: string;
  holder: string;
  /** Per route, where the relay's and the lanes' metric calls land (the registry is this thread's). */
  metrics: { relay(route: string): RelayMetrics; lanes(route: string): LaneLeaseMetrics };
  /** The store health: the relay's cursor writes and outbox reads report to it. */
  writes: { failed(part: string, cause: unknown): void; succeeded(part: string): void };
  log: Logger;
}

/** Past the drain, how long a stopping relay thread may take to give its lanes back and close its store. */
const STOP_GRACE_MS = 10_000;

/** The worker entry next to this file: compiled JavaScript in production, TypeScript under tsx (tests). */
function spawn(data: RelayWorkerData): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./relay-worker.js', here), { workerData: data });
  // Node 20 does not carry tsx's loader hooks into a worker thread: this entry registers them first.
  return new Worker(new URL('./relay-worker-tsx.mjs', here), { workerData: data });
}

/**
 * Runs the relays of every route in a worker thread (relay-worker.ts), so that publishing uses the
 * second core and never holds up a request. The ingest thread wakes it after each commit; the thread
 * sends back metric calls, store health, log lines and, at the end, what stayed unpublished. A
 * thread that dies is logged (`UNICOP_PUBLISH_RELAY_THREAD_FAILED`), its routes count as unreachable
 * (/readyz), and a new one starts after the `relay-thread` backoff (1 s, doubling up to 30 s, back to
 * 1 s once a thread reached Kafka); rows it had sent but not recorded go out again with the same ids,
 * as after a crash.
 */
export class RelayThread {
  readonly relays: ReadonlyMap<string, RelayHandle>;
  private readonly reachable = new Map<string, boolean>();
  private readonly faults = new Map<string, string | null>();
  private worker: Worker | null = null;
  private stopping = false;
  private stopped: ((unpublished: number | null) => void) | null = null;
  /** Between a thread's death and the next one (policy `relay-thread`); `stop` ends the wait. */
  private readonly restartPause = new Pause();
  private readonly restart = new Backoff('relay-thread', { pause: this.restartPause });
  private readonly writeLine: (line: string) => void;

  constructor(private readonly options: RelayThreadOptions) {
    this.writeLine = lineWriter(options.log);
    const reachable = (route: string): boolean => this.reachable.get(route) ?? false;
    const fault = (route: string): string | null => (reachable(route) ? null : (this.faults.get(route) ?? null));
    this.relays = new Map(
      options.routes.map((route) => {
        const handle: RelayHandle = {
          get reachable() {
            return reachable(route.name);
          },
          get fault() {
            return fault(route.name);
          },
          wake: () => this.wake([route.name]),
        };
        return [route.name, handle] as const;
      }),
    );
  }

  start(): void {
    if (this.worker || this.stopping) return;
    const { config, security, routes, home, cell, holder, log } = this.options;
    const worker = spawn({ config, security, routes, home, cell, holder, logLevel: log.level });
    this.worker = worker;
    worker.on('message', (message: FromRelay) => this.receive(message));
    worker.on('error', (error) => {
      const failure = new UnicopError('UNICOP_PUBLISH_RELAY_THREAD_FAILED', 'the relay thread failed', { cause: error });
      log.error({ err: failure, code: failure.code }, 'relay thread failed; its routes count as unreachable until a new one runs');
    });
    worker.on('exit', (exitCode) => void this.exited(worker, exitCode));
  }

  /** Rows were committed for `routes` (every route: undefined). */
  wake(routes?: Iterable<string>): void {
    this.post({ type: 'wake', routes: routes ? [...routes] : null });
  }

  /** Drains for up to `drainMs` and ends the thread: the rows left unpublished, null when the store could not say. */
  async stop(drainMs: number): Promise<number | null> {
    this.stopping = true;
    this.restartPause.wake();
    const worker = this.worker;
    if (!worker) return null;
    let late: { cancel(): void } | undefined;
    const answer = new Promise<number | null>((resolve) => {
      this.stopped = resolve;
      late = lateAfter(drainMs + STOP_GRACE_MS, () => resolve(null));
    });
    this.post({ type: 'stop', drainMs });
    const unpublished = await answer;
    late?.cancel();
    await worker.terminate();
    return unpublished;
  }

  private post(message: ToRelay): void {
    this.worker?.postMessage(message);
  }

  private receive(message: FromRelay): void {
    switch (message.type) {
      case 'metric':
        return this.metric(message.group, message.route, message.name, message.args);
      case 'store':
        if (message.outcome === 'succeeded') return this.options.writes.succeeded(message.part);
        return this.options.writes.failed(message.part, Object.assign(new Error(message.cause?.message ?? 'unknown'), { code: message.cause?.code }));
      case 'log':
        return this.writeLine(message.line);
      case 'started':
        return;
      case 'stopped':
        this.stopped?.(message.unpublished);
        return;
    }
  }

  private metric(group: 'relay' | 'lanes', route: string, name: string, args: unknown[]): void {
    if (group === 'relay' && name === 'reachable') {
      this.reachable.set(route, args[0] === true);
      this.faults.set(route, typeof args[1] === 'string' ? args[1] : null);
      if (args[0] === true) this.restart.reset();
    }
    const target: object = group === 'relay' ? this.options.metrics.relay(route) : this.options.metrics.lanes(route);
    const fn: unknown = Object.hasOwn(target, name) ? (target as Record<string, unknown>)[name] : undefined;
    if (typeof fn === 'function') (fn as (...a: unknown[]) => void).apply(target, args);
  }

  private async exited(worker: Worker, exitCode: number): Promise<void> {
    if (this.worker !== worker) return;
    this.worker = null;
    this.stopped?.(null);
    if (this.stopping) return;
    for (const route of this.options.routes) {
      this.reachable.set(route.name, false);
      this.faults.set(route.name, 'UNICOP_PUBLISH_RELAY_THREAD_FAILED');
      this.options.metrics.relay(route.name).reachable(false);
    }
    const failure = new UnicopError('UNICOP_PUBLISH_RELAY_THREAD_FAILED', `the relay thread ended (exit code ${exitCode})`);
    this.options.log.error({ code: failure.code, exitCode, restartMs: this.restart.nextDelayMs }, 'relay thread ended; starting a new one');
    if (await this.restart.wait(failure)) this.start();
  }
}
