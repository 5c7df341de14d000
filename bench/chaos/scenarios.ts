/**
 * The three fault runs of `scripts/chaos faults`, each with a fresh receiver process, data dir and
 * topic prefix, on the one private broker scripts/chaos started:
 *   kafka-kill     SIGKILL the broker when `faultAt` of the events are stored, then `scripts/kafka up`;
 *   receiver-kill  SIGKILL the receiver at that point and start it again on the same data dir and
 *                  port (the client retries refused connections until a 2xx, as NetBox with RQ
 *                  retries would);
 *   kafka-stop     SIGSTOP the broker at that point, keep posting until the receiver answers 503 +
 *                  Retry-After (outbox limit `outboxLimit`), hold `holdMs` more, then SIGCONT;
 *   receiver-kill-loop  from that point on, SIGKILL the receiver `killEveryMs` after each (re)start
 *                  until every event is stored: exactly-once publication across many crashes.
 * Posting goes on during the fault; afterwards: wait for an empty outbox, then the checker.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { checkTopic, type CheckReport } from './checker.js';
import { Bodies, postAll, REPLAY_ENV, SECRET, type RunResult } from './client.js';
import { killBroker, killReceiver, pauseBroker, resumeBroker, startBroker } from './faults.js';
import { freePort, readyz, sleep, startReceiver, stopReceiver, TMP, waitDrained, type ReceiverProcess } from './procs.js';

/** The runs of `scripts/chaos faults`; `receiver-kill-loop` is `scripts/chaos exactly-once`. */
export const SCENARIOS = ['kafka-kill', 'receiver-kill', 'kafka-stop'] as const;
export type Scenario = (typeof SCENARIOS)[number] | 'receiver-kill-loop';

export interface FaultOptions {
  brokers: string;
  events: number;
  roots: number;
  concurrency: number;
  /** events started per second */
  rate: number;
  /** fraction of the events stored when the fault starts */
  faultAt: number;
  /** UNICOP_OUTBOX_LIMIT of the kafka-stop receiver */
  outboxLimit: number;
  /** kafka-stop: how long the broker stays stopped after the first 503 */
  holdMs: number;
  /** receiver-kill-loop: time from each (re)start to the next SIGKILL */
  killEveryMs: number;
}

export interface ScenarioReport {
  scenario: Scenario;
  what: string;
  client: RunResult;
  check: CheckReport;
  /** What happened when, in seconds since the first post. */
  timeline: string[];
  totalMs: number;
}

export function describe(s: Scenario, options: FaultOptions): string {
  const at = `${Math.round(options.faultAt * 100)} %`;
  switch (s) {
    case 'kafka-kill':
      return `SIGKILL Kafka at ${at} stored, then \`scripts/kafka up\``;
    case 'receiver-kill':
      return `SIGKILL the receiver at ${at} stored, restart on the same data dir`;
    case 'kafka-stop':
      return `SIGSTOP Kafka at ${at} stored until 503 + Retry-After (outbox limit ${options.outboxLimit}), ${options.holdMs / 1000} s more, SIGCONT`;
    case 'receiver-kill-loop':
      return `from ${at} stored, SIGKILL the receiver ${options.killEveryMs / 1000} s after each (re)start until all are stored`;
  }
}

export async function runScenario(scenario: Scenario, options: FaultOptions): Promise<ScenarioReport> {
  const prefix = `chaos${randomUUID().slice(0, 8)}`;
  const port = await freePort();
  const env: Record<string, string> = {
    KAFKA_BROKERS: options.brokers,
    UNICOP_WEBHOOK_SECRETS: SECRET,
    ...REPLAY_ENV,
    UNICOP_DATA_DIR: join(TMP, `${scenario}-data`),
    UNICOP_TOPIC_PREFIX: prefix,
    UNICOP_LOG_LEVEL: 'warn',
  };
  if (scenario === 'kafka-stop') env.UNICOP_OUTBOX_LIMIT = String(options.outboxLimit);
  let receiver: ReceiverProcess = await startReceiver(`${scenario}-receiver`, port, env);
  const t0 = Date.now();
  const timeline: string[] = [];
  const note = (what: string): void => {
    const line = `${((Date.now() - t0) / 1000).toFixed(1)} s  ${what}`;
    timeline.push(line);
    process.stderr.write(`chaos ${scenario}: ${line}\n`);
  };
  let stored = 0;
  /** 503s before the fault are counted apart; the kafka-stop fault waits for the first one after SIGSTOP. */
  const signal: { backpressure: () => void; early: number } = { backpressure: () => void signal.early++, early: 0 };

  let posting = true;
  const fault = async (): Promise<void> => {
    switch (scenario) {
      case 'receiver-kill-loop': {
        let kills = 0;
        while (posting) {
          const pid = receiver.pid;
          await killReceiver(receiver);
          kills++;
          note(`kill ${kills}: receiver pid ${pid} (SIGKILL) at ${stored} stored`);
          receiver = await startReceiver(`${scenario}-receiver-${kills}`, port, env);
          await sleep(options.killEveryMs);
        }
        note(`${kills} kills; the last receiver stays up`);
        return;
      }
      case 'kafka-kill': {
        const pid = await killBroker();
        note(`broker pid ${pid} killed (SIGKILL) at ${stored} stored`);
        const ms = await startBroker();
        note(`scripts/kafka up done in ${(ms / 1000).toFixed(1)} s, at ${stored} stored`);
        return;
      }
      case 'receiver-kill': {
        const pid = receiver.pid;
        await killReceiver(receiver);
        note(`receiver pid ${pid} killed (SIGKILL) at ${stored} stored`);
        receiver = await startReceiver(`${scenario}-receiver-restarted`, port, env);
        note(`receiver restarted (pid ${receiver.pid}) on the same data dir and port`);
        return;
      }
      case 'kafka-stop': {
        const backpressureSeen = new Promise<void>((resolve) => (signal.backpressure = resolve));
        if (signal.early > 0) note(`${signal.early} × 503 before the fault (the relay fell behind the limit)`);
        const pid = pauseBroker();
        note(`broker pid ${pid} stopped (SIGSTOP) at ${stored} stored`);
        try {
          await Promise.race([backpressureSeen, sleep(180_000).then(() => Promise.reject(new Error('no 503 within 180 s of SIGSTOP')))]);
          note(`first 503 at ${stored} stored; holding ${options.holdMs / 1000} s`);
          await sleep(options.holdMs);
        } finally {
          resumeBroker();
          note(`broker continued (SIGCONT) at ${stored} stored`);
        }
        return;
      }
    }
  };

  try {
    const deadline = Date.now() + 60_000;
    while (!(await readyz(receiver.url))?.ready) {
      if (Date.now() > deadline) throw new Error(`${scenario} receiver not ready within 60 s; see ${receiver.log}`);
      await sleep(100);
    }
    const triggerAt = Math.max(1, Math.floor(options.events * options.faultAt));
    const state: { faulting: Promise<void> | null; error: unknown } = { faulting: null, error: null };
    note(`posting ${options.events} events over ${options.roots} roots, ${options.rate}/s, concurrency ${options.concurrency}`);
    const client = await postAll({
      url: () => receiver.url,
      events: options.events,
      concurrency: options.concurrency,
      rate: options.rate,
      bodies: new Bodies(options.roots),
      onStored: (n) => {
        stored = n;
        if (n >= triggerAt && !state.faulting) state.faulting = fault().catch((error: unknown) => void (state.error = error ?? 'fault failed'));
      },
      onBackpressure: () => signal.backpressure(),
    }).finally(() => (posting = false));
    note(`posting done: ${client.stored.size} stored, ${client.backpressure} × 503, ${client.connectionErrors} connection errors`);
    if (!state.faulting) throw new Error('the fault never started');
    await state.faulting;
    if (state.error) throw state.error;
    const drainedAt = await waitDrained(receiver.url, 10 * 60_000);
    note('outbox empty');
    const check = await checkTopic([options.brokers], `${prefix}.events.v1`, client.stored);
    note(`checked ${check.messages} messages in ${(check.readMs / 1000).toFixed(1)} s`);
    return { scenario, what: describe(scenario, options), client, check, timeline, totalMs: drainedAt - t0 };
  } finally {
    await stopReceiver(receiver);
  }
}
