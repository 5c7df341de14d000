/**
 * scripts/bench, the measuring part (its bash part, ./run, starts the private broker and builds the
 * receiver first). One invocation measures, per run: ceiling A (bare express), ceiling B (bare
 * kafkajs producer), then the real receiver at every concurrency, at half its best rate, and end to
 * end; repeats that BENCH_RUNS times; writes docs/benchmarks.md and prints the tables.
 *
 * Environment: KAFKA_BROKERS (required), BENCH_TMP (scratch dir, removed by scripts/bench),
 * BENCH_RUNS (3), BENCH_DURATION (seconds per load, 10), BENCH_CONCURRENCY ("8,32,64"),
 * BENCH_COMMAND / BENCH_KAFKA_VERSION / BENCH_KAFKA_PID (for the report), BENCH_TIMEOUT (s, 1500).
 * Flags: --quick (1 run, 3 s loads, c=8,64, 100 e2e events), --profile (profile even when the
 * targets are met), --no-write (print only; the default with --quick unless --write is given),
 * --render (only rewrite the doc from var/bench/results.json).
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kafka } from '../../receiver/test/helpers/kafka.js';
import { freePort } from '../../receiver/test/helpers/process.js';
import { waitFor } from '../../receiver/test/helpers/wait-for.js';
import type { KafkaCeilingResult } from './ceiling-kafka.js';
import { measureE2e, type E2eResult } from './e2e-latency.js';
import { TopicWatch } from './kafka-watch.js';
import { runLoad } from './load.js';
import { CpuMeter, machineInfo } from './machine.js';
import { Payloads, Pool } from './payloads.js';
import { cpuSecondsOf, exited, memoryOf, REPO, startChild, stopAll, stopChild, TMP } from './procs.js';
import { summarizeProfile, formatProfile, type ProfileSummary } from './profile.js';
import { buildReport, type BenchResults, type CeilingALevel, type RunResult, type UnicopLevel } from './report.js';
import { say, sleep } from './stats.js';
import { drained, eventLoopDelay, readiness, RECEIVER_MAIN, startReceiver, stopReceiver, type RunningReceiver } from './unicop.js';

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const settings = {
  quick,
  runs: Number(process.env.BENCH_RUNS ?? (quick ? 1 : 3)),
  durationS: Number(process.env.BENCH_DURATION ?? (quick ? 3 : 10)),
  concurrency: (process.env.BENCH_CONCURRENCY ?? (quick ? '8,64' : '8,32,64')).split(',').map(Number),
  warmupS: quick ? 1 : 2,
  halfRateConnections: 32,
  e2eEvents: quick ? 100 : 200,
  e2eRate: 50,
  forceProfile: args.has('--profile'),
  // a smoke run does not replace the reference figures unless asked to
  write: !args.has('--no-write') && (!quick || args.has('--write')),
};
for (const [k, v] of Object.entries({ runs: settings.runs, durationS: settings.durationS })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive integer`);
}
if (settings.concurrency.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('BENCH_CONCURRENCY must list positive integers');

const brokers = process.env.KAFKA_BROKERS;
if (!brokers && !args.has('--render')) throw new Error('KAFKA_BROKERS is not set (scripts/bench starts a broker and sets it)');
const PREFIX = 'bench';
const EVENTS_TOPIC = `${PREFIX}.events.v1`;
const brokerPid = Number(process.env.BENCH_KAFKA_PID ?? 0);

// ------------------------------------------------------------------------------------------ safety

let interrupted = false;
async function abort(reason: string, code: number): Promise<never> {
  interrupted = true;
  say(`${reason}: stopping every child process`);
  await stopAll(3000);
  process.exit(code);
}
process.on('SIGINT', () => void abort('interrupted', 130));
process.on('SIGTERM', () => void abort('terminated', 143));
const timeoutS = Number(process.env.BENCH_TIMEOUT ?? 1500);
setTimeout(() => void abort(`still running after ${timeoutS} s (BENCH_TIMEOUT)`, 2), timeoutS * 1000).unref();

/** Pids whose CPU counts as the benchmark's own (for the "other load" figure). */
const ourPids = new Set<number>([process.pid, ...(brokerPid ? [brokerPid] : [])]);
const meterPids = (): number[] => [...ourPids];

// ------------------------------------------------------------------------------------------ ceilings

async function ceilingExpress(payloads: Payloads): Promise<Record<number, CeilingALevel>> {
  const port = await freePort();
  const s = startChild('ceiling-express', ['--import', 'tsx', 'bench/load/ceiling-express.ts'], { PORT: String(port), NODE_ENV: 'production' }, { ipc: true });
  ourPids.add(s.pid);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (exited(s.child)) throw new Error(`ceiling-express exited; see ${s.log}`);
        return (await fetch(`${url}/healthz`)).ok;
      },
      30_000,
      'ceiling-express to listen',
    );
    // duplicates do not matter to a server that stores nothing: a cyclic pool of real bodies
    const pool = new Pool(payloads.take(5000), null);
    await runLoad({ url, pool, connections: 32, durationS: settings.warmupS });
    const out: Record<number, CeilingALevel> = {};
    for (const c of settings.concurrency) {
      const cpu0 = await cpuSecondsOf(s.pid);
      const r = await runLoad({ url, pool, connections: c, durationS: settings.durationS });
      const cpu1 = await cpuSecondsOf(s.pid);
      const result = { ...r, serverCores: (cpu1 - cpu0) / r.seconds, serverCpuMsPerRequest: (1000 * (cpu1 - cpu0)) / Math.max(1, r.ok) };
      say(`  ceiling A c=${c}: ${r.okPerSecond.toFixed(0)} req/s, p99 ${r.latencyMs.p99.toFixed(1)} ms, server ${result.serverCores.toFixed(2)} cores`);
      out[c] = result;
    }
    return out;
  } finally {
    await stopChild(s.child);
  }
}

async function ceilingKafka(): Promise<KafkaCeilingResult> {
  const s = startChild(
    'ceiling-kafka',
    ['--import', 'tsx', 'bench/load/ceiling-kafka.ts'],
    {
      KAFKA_BROKERS: brokers as string,
      BENCH_CEILING_SECONDS: String(settings.durationS),
      BENCH_CEILING_PREFIX: `${PREFIX}-ceiling`,
    },
    { ipc: true },
  );
  ourPids.add(s.pid);
  const result = new Promise<KafkaCeilingResult>((resolve, reject) => {
    s.child.once('message', (m) => resolve(m as KafkaCeilingResult));
    s.child.once('exit', (code) => reject(new Error(`ceiling-kafka exited ${code} without a result; see ${s.log}`)));
  });
  const timer = setTimeout(() => s.child.kill('SIGKILL'), (settings.durationS + 120) * 1000);
  try {
    const r = await result;
    say(`  ceiling B: ${r.eventsPerSecond.toFixed(0)} events/s (${r.envelopeBytes} B envelopes, batch p50 ${r.batchMs.p50.toFixed(1)} ms)`);
    return r;
  } finally {
    clearTimeout(timer);
    await stopChild(s.child, 'SIGTERM', 5000);
  }
}

// ------------------------------------------------------------------------------------------ UNICOP

/** Pre-signed bodies for a load: enough for the best rate seen so far, with room to spare. */
function poolFor(payloads: Payloads, expectedRate: number, seconds: number): Pool {
  return new Pool(payloads.take(Math.ceil(expectedRate * seconds * 1.5) + 500), payloads);
}

async function unicopLoad(
  r: RunningReceiver,
  watch: TopicWatch,
  payloads: Payloads,
  load: { connections: number; overallRate?: number; expectedRate: number },
): Promise<UnicopLevel> {
  await drained(r.url, 120_000);
  await sleep(200);
  const pool = poolFor(payloads, load.overallRate ?? load.expectedRate, settings.durationS);
  const baseline = await watch.size();
  let maxDepth = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const ready = await readiness(r.url);
      maxDepth = Math.max(maxDepth, ready?.checks.outbox.depth ?? 0);
      await sleep(500);
    }
  })();
  await eventLoopDelay(r.url); // resets the receiver's event-loop delay histogram
  const meter = new CpuMeter(meterPids);
  const cpu0 = await cpuSecondsOf(r.pid);
  const res = await runLoad({
    url: r.url,
    pool,
    connections: load.connections,
    durationS: settings.durationS,
    ...(load.overallRate ? { overallRate: load.overallRate } : {}),
  });
  const cpu1 = await cpuSecondsOf(r.pid);
  const machine = meter.stop();
  const loopDelay = await eventLoopDelay(r.url);
  sampling = false;
  await sampler;
  const reached = await watch.reach(baseline + res.accepted, 180_000);
  const toKafkaS = (reached.at - res.startedAt) / 1000;
  return {
    load: res,
    eventsPerSecond: res.accepted / toKafkaS,
    lastEventAfterLoadMs: Math.max(0, reached.at - res.startedAt - res.seconds * 1000),
    receiverCores: (cpu1 - cpu0) / res.seconds,
    receiverCpuMsPerRequest: (1000 * (cpu1 - cpu0)) / Math.max(1, res.ok),
    eventLoopDelayMs: loopDelay,
    machineCores: machine.machineCores,
    otherCores: machine.othersCores,
    maxOutboxDepth: maxDepth,
  };
}

async function unicopRun(payloads: Payloads, watch: TopicWatch, expectedRate: number): Promise<Omit<RunResult, 'ceilingA' | 'ceilingB'>> {
  const r = await startReceiver({ brokers: brokers as string, prefix: PREFIX });
  ourPids.add(r.pid);
  try {
    // warm-up: JIT, connections, and (first run) topic creation
    await runLoad({ url: r.url, pool: poolFor(payloads, expectedRate, settings.warmupS), connections: 32, durationS: settings.warmupS });
    await drained(r.url, 120_000);
    if (!(await watch.exists())) await waitFor(() => watch.exists(), 60_000, `topic ${EVENTS_TOPIC}`);

    const levels: Record<number, UnicopLevel> = {};
    let best = 0;
    for (const c of settings.concurrency) {
      const level = await unicopLoad(r, watch, payloads, { connections: c, expectedRate: Math.max(expectedRate, best) });
      levels[c] = level;
      best = Math.max(best, level.load.acceptedPerSecond);
      say(
        `  UNICOP c=${c}: ${level.load.acceptedPerSecond.toFixed(0)} accepted/s, ${level.eventsPerSecond.toFixed(0)} events/s to Kafka, ` +
          `p50 ${level.load.latencyMs.p50.toFixed(1)} ms, p99 ${level.load.latencyMs.p99.toFixed(1)} ms, receiver ${level.receiverCores.toFixed(2)} cores, ` +
          `event-loop delay max ${level.eventLoopDelayMs?.max.toFixed(0) ?? '?'} ms` +
          `${level.load.late ? `, ${level.load.late} bodies signed late` : ''}`,
      );
    }
    const halfRate = Math.max(1, Math.floor(best / 2));
    const half = await unicopLoad(r, watch, payloads, { connections: settings.halfRateConnections, overallRate: halfRate, expectedRate: halfRate });
    say(
      `  UNICOP at half max (${halfRate}/s): p50 ${half.load.latencyMs.p50.toFixed(1)} ms, p99 ${half.load.latencyMs.p99.toFixed(1)} ms (autocannon corrected p99 ${half.load.autocannonP99Ms} ms)`,
    );

    await drained(r.url, 120_000);
    const e2e: E2eResult = await measureE2e({ kafka, watch, url: r.url, bodies: payloads.take(settings.e2eEvents), rate: settings.e2eRate });
    say(`  end to end (${e2e.seen}/${e2e.posted} events at ${e2e.rate}/s): p50 ${e2e.e2eMs.p50.toFixed(1)} ms, p99 ${e2e.e2eMs.p99.toFixed(1)} ms`);

    const mem = await memoryOf(r.pid);
    return { unicop: levels, half: { rate: halfRate, level: half }, e2e, rssPeakMiB: mem?.hwmMiB ?? NaN };
  } finally {
    const code = await stopReceiver(r);
    if (code !== 0) say(`  receiver exited with ${code}; see ${r.log}`);
  }
}

/** A load run with `node --cpu-prof` on the receiver; returns the summary of its profile. */
async function profileReceiver(payloads: Payloads, watch: TopicWatch, connections: number, expectedRate: number, outDir: string): Promise<ProfileSummary> {
  const profDir = join(TMP, 'cpuprofile');
  mkdirSync(profDir, { recursive: true });
  const r = await startReceiver({ brokers: brokers as string, prefix: PREFIX, cpuProfDir: profDir });
  ourPids.add(r.pid);
  let level: UnicopLevel;
  // the load phase only (same monotonic clock as the profile's timestamps): no start-up, no idle tail
  const window = { fromUs: 0, toUs: 0 };
  try {
    await runLoad({ url: r.url, pool: poolFor(payloads, expectedRate, settings.warmupS), connections: 32, durationS: settings.warmupS });
    window.fromUs = Number(process.hrtime.bigint() / 1000n);
    level = await unicopLoad(r, watch, payloads, { connections, expectedRate });
    window.toUs = Number(process.hrtime.bigint() / 1000n);
    await drained(r.url, 120_000);
  } finally {
    await stopReceiver(r);
  }
  say(`  profiled load c=${connections}: ${level.load.acceptedPerSecond.toFixed(0)} accepted/s (slower than unprofiled: the profiler samples every ~1 ms)`);
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written in ${profDir}; see ${r.log}`);
  const kept = join(outDir, `receiver-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  copyFileSync(join(profDir, file), kept);
  // keep the five newest profiles (about 1 MB each)
  for (const old of readdirSync(outDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .reverse()
    .slice(5))
    rmSync(join(outDir, old));
  return { ...summarizeProfile(kept, 15, window), window };
}

// ------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const started = Date.now();
  const machine = machineInfo(process.env.BENCH_KAFKA_VERSION ?? 'unknown');
  say(`${settings.runs} run(s), ${settings.durationS} s per load, concurrency ${settings.concurrency.join('/')}${quick ? ' (quick)' : ''}`);
  say(`signing payloads (NetBox 4.7 interface updates over 1,000 roots)`);
  const payloads = new Payloads();
  const watch = new TopicWatch(kafka, EVENTS_TOPIC);
  await watch.connect();
  const outDir = join(REPO, 'var', 'bench');
  mkdirSync(outDir, { recursive: true });

  const runs: RunResult[] = [];
  let expected = 1500;
  try {
    for (let i = 1; i <= settings.runs && !interrupted; i++) {
      say(`run ${i}/${settings.runs}: ceiling A (bare express)`);
      const ceilingA = await ceilingExpress(payloads);
      say(`run ${i}/${settings.runs}: ceiling B (bare kafkajs producer)`);
      const ceilingB = await ceilingKafka();
      say(`run ${i}/${settings.runs}: UNICOP receiver (${RECEIVER_MAIN})`);
      const u = await unicopRun(payloads, watch, expected);
      expected = Math.max(expected, ...Object.values(u.unicop).map((l) => l.load.acceptedPerSecond));
      runs.push({ ceilingA, ceilingB, ...u });
    }

    const results: BenchResults = {
      settings,
      machine,
      command: process.env.BENCH_COMMAND ?? 'scripts/bench',
      codeVersion: process.env.BENCH_CODE_VERSION ?? 'unknown',
      startedAt: new Date(started).toISOString(),
      runs,
      profile: null,
      totalSeconds: 0,
      bodyBytes: payloads.take(1)[0]?.raw.length ?? 0,
    };
    let report = buildReport(results);
    if (!report.targetsMet || settings.forceProfile) {
      const c = report.bestConcurrency;
      say(`${report.targetsMet ? 'profiling as asked' : 'a target was missed: profiling the receiver'} (node --cpu-prof, c=${c}, ${settings.durationS} s)`);
      results.profile = await profileReceiver(payloads, watch, c, expected, outDir);
      process.stderr.write(`${formatProfile(results.profile)}\n`);
    }
    results.totalSeconds = (Date.now() - started) / 1000 + Number(process.env.BENCH_SETUP_SECONDS ?? 0);
    report = buildReport(results);
    writeFileSync(join(outDir, settings.write ? 'results.json' : 'results-unwritten.json'), `${JSON.stringify(results, null, 2)}\n`);
    if (settings.write) {
      writeFileSync(join(REPO, 'docs', 'benchmarks.md'), report.markdown(join(REPO, 'docs', 'benchmarks.md')));
      say('wrote docs/benchmarks.md');
    }
    process.stdout.write(`${report.stdout}\n`);
  } finally {
    await watch.disconnect().catch(() => undefined);
  }
}

/** `--render`: rewrite docs/benchmarks.md and the table from the last raw results (after editing report.ts). */
function render(): void {
  const file = join(REPO, 'var', 'bench', 'results.json');
  const results = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
  const report = buildReport(results);
  writeFileSync(join(REPO, 'docs', 'benchmarks.md'), report.markdown(join(REPO, 'docs', 'benchmarks.md')));
  say(`rewrote docs/benchmarks.md from ${file}`);
  process.stdout.write(`${report.stdout}\n`);
}

(args.has('--render') ? Promise.resolve().then(render) : main()).then(
  () => process.exit(0),
  async (error: unknown) => {
    process.stderr.write(`bench: failed: ${String((error as Error)?.stack ?? error)}\n`);
    await stopAll(3000);
    process.exit(1);
  },
);
