/**
 * Turns the raw results into figures (each the median over the runs), checks the targets, and
 * renders docs/benchmarks.md and the stdout table. The section "How to read this" of an existing
 * docs/benchmarks.md is hand-written and kept as it is; the default below is used only when the
 * document does not have one yet.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { KafkaCeilingResult } from './ceiling-kafka.js';
import type { E2eResult } from './e2e-latency.js';
import type { LoadResult } from './load.js';
import type { MachineInfo } from './machine.js';
import type { Hotspot, ProfileSummary } from './profile.js';
import { median } from './stats.js';

export interface UnicopLevel {
  load: LoadResult;
  /** Accepted events ÷ seconds from the start of the load until the last of them was on Kafka. */
  eventsPerSecond: number;
  /** How long after the load ended the last accepted event reached Kafka. */
  lastEventAfterLoadMs: number;
  receiverCores: number;
  /** Receiver CPU time per answered request. */
  receiverCpuMsPerRequest: number;
  /** The receiver's own event-loop delay over the load (its /metrics), null when unavailable. */
  eventLoopDelayMs: { p50: number; p99: number; max: number } | null;
  /** CPU used by the whole machine meanwhile, and by processes that are not the benchmark's (shared machine). */
  machineCores: number;
  otherCores: number;
  maxOutboxDepth: number;
}

export interface CeilingALevel extends LoadResult {
  serverCores: number;
  serverCpuMsPerRequest: number;
}

export interface RunResult {
  ceilingA: Record<number, CeilingALevel>;
  ceilingB: KafkaCeilingResult;
  unicop: Record<number, UnicopLevel>;
  half: { rate: number; level: UnicopLevel };
  e2e: E2eResult;
  rssPeakMiB: number;
}

export interface BenchResults {
  settings: {
    quick: boolean;
    runs: number;
    durationS: number;
    concurrency: number[];
    halfRateConnections: number;
    e2eEvents: number;
    e2eRate: number;
  };
  machine: MachineInfo;
  command: string;
  /** Commit of the measured code, and whether the working tree differed from it. */
  codeVersion: string;
  startedAt: string;
  runs: RunResult[];
  profile: ProfileSummary | null;
  totalSeconds: number;
  bodyBytes: number;
}

export const TARGET_RATIO = 0.7;
export const TARGET_P99_MS = 20;
const HAND_WRITTEN = '## How to read this';

// ------------------------------------------------------------------------------------------ figures

interface Figure {
  label: string;
  values: number[];
  format: (v: number) => string;
  /** The figure itself when it is not the median of `values` (a ratio of medians). */
  value?: number;
  note?: string;
}

const int = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const ms = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : 'n/a');
const ms2 = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)} ms` : 'n/a');
const mib = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(0)} MiB` : 'n/a');
const ratio = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const cores = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');

function best<T>(byC: Record<number, T>, score: (t: T) => number): { c: number; value: number } {
  let out = { c: 0, value: -Infinity };
  for (const [c, t] of Object.entries(byC)) if (score(t) > out.value) out = { c: Number(c), value: score(t) };
  return out;
}

/** p99 used for the target: the larger of the exact one and autocannon's (coordinated-omission corrected, whole ms). */
const halfP99 = (l: UnicopLevel): number => Math.max(l.load.latencyMs.p99, l.load.autocannonP99Ms);

export interface Report {
  figures: Figure[];
  ratio: number;
  halfP99Ms: number;
  targetsMet: boolean;
  bestConcurrency: number;
  stdout: string;
  markdown: (existingPath: string) => string;
}

export function buildReport(r: BenchResults): Report {
  const runs = r.runs;
  const cs = r.settings.concurrency;
  const aBest = runs.map((x) => best(x.ceilingA, (l) => l.okPerSecond).value);
  const bRate = runs.map((x) => x.ceilingB.eventsPerSecond);
  const uBest = runs.map((x) => best(x.unicop, (l) => l.load.acceptedPerSecond).value);
  const bestC = best(Object.fromEntries(cs.map((c) => [c, median(runs.map((x) => x.unicop[c]?.load.acceptedPerSecond ?? NaN))])), (v) => v).c;
  const uEventsAtBest = runs.map((x) => x.unicop[bestC]?.eventsPerSecond ?? NaN);
  const theRatio = median(uBest) / Math.min(median(aBest), median(bRate));
  const halfP99s = runs.map((x) => halfP99(x.half.level));
  const theHalfP99 = median(halfP99s);
  const allLoads = runs.flatMap((x) => [...Object.values(x.unicop), x.half.level].map((l) => l.load));
  const refused = allLoads.reduce((n, l) => n + Object.entries(l.byStatus).reduce((m, [code, k]) => m + (code === '202' ? 0 : k), 0), 0);
  const statusMix: Record<string, number> = {};
  for (const l of allLoads) for (const [code, n] of Object.entries(l.byStatus)) statusMix[code] = (statusMix[code] ?? 0) + n;
  const late = allLoads.reduce((n, l) => n + l.late, 0);

  const figures: Figure[] = [
    { label: `ceiling A: bare express, req/s (best of c=${cs.join('/')})`, values: aBest, format: int },
    { label: `ceiling B: bare kafkajs idempotent producer, events/s (batches of 500)`, values: bRate, format: int },
    { label: `UNICOP accepted/s (best concurrency, c=${bestC})`, values: uBest, format: int },
    { label: `UNICOP events/s reaching Kafka (c=${bestC})`, values: uEventsAtBest, format: int },
    {
      label: 'ratio UNICOP accepted/s ÷ min(A, B)',
      values: runs.map((x, i) => (uBest[i] as number) / Math.min(aBest[i] as number, x.ceilingB.eventsPerSecond)),
      value: theRatio,
      format: ratio,
      note: 'ratio of the medians; runs show each run’s own ratio',
    },
    { label: `accept latency p50 at c=${bestC}`, values: runs.map((x) => x.unicop[bestC]?.load.latencyMs.p50 ?? NaN), format: ms },
    { label: `accept latency p99 at c=${bestC}`, values: runs.map((x) => x.unicop[bestC]?.load.latencyMs.p99 ?? NaN), format: ms },
    { label: 'half of the max rate (overallRate), req/s', values: runs.map((x) => x.half.rate), format: int },
    { label: 'accept latency p50 at half the max rate', values: runs.map((x) => x.half.level.load.latencyMs.p50), format: ms },
    { label: 'accept latency p99 at half the max rate', values: halfP99s, format: ms },
    {
      label: `end-to-end latency p50 (${r.settings.e2eEvents} events at ${r.settings.e2eRate}/s)`,
      values: runs.map((x) => x.e2e.e2eMs.p50),
      format: ms,
    },
    { label: 'end-to-end latency p99', values: runs.map((x) => x.e2e.e2eMs.p99), format: ms },
    { label: 'receiver peak RSS (VmHWM)', values: runs.map((x) => x.rssPeakMiB), format: mib },
    { label: `receiver CPU at c=${bestC}, cores`, values: runs.map((x) => x.unicop[bestC]?.receiverCores ?? NaN), format: cores },
    {
      label: 'CPU per request: ceiling A server (median over concurrencies)',
      values: runs.map((x) => median(Object.values(x.ceilingA).map((l) => l.serverCpuMsPerRequest))),
      format: ms2,
    },
    {
      label: 'CPU per request: UNICOP receiver, relay included (median over concurrencies)',
      values: runs.map((x) => median(Object.values(x.unicop).map((l) => l.receiverCpuMsPerRequest))),
      format: ms2,
    },
    { label: 'CPU per event: ceiling B producer', values: runs.map((x) => x.ceilingB.cpuMsPerEvent), format: ms2 },
    {
      label: 'CPU-cost ratio: ceiling A ms ÷ UNICOP ms per request',
      values: runs.map(
        (x) => median(Object.values(x.ceilingA).map((l) => l.serverCpuMsPerRequest)) / median(Object.values(x.unicop).map((l) => l.receiverCpuMsPerRequest)),
      ),
      format: ratio,
      note: 'supplementary: less sensitive to other load than the throughput ratio',
    },
    {
      label: `receiver event-loop delay p99 at c=${bestC}`,
      values: runs.map((x) => x.unicop[bestC]?.eventLoopDelayMs?.p99 ?? NaN),
      format: ms,
    },
    { label: 'receiver event-loop delay max at c=' + bestC, values: runs.map((x) => x.unicop[bestC]?.eventLoopDelayMs?.max ?? NaN), format: ms },
    { label: 'receiver event-loop delay max at half the max rate', values: runs.map((x) => x.half.level.eventLoopDelayMs?.max ?? NaN), format: ms },
    {
      label: 'other processes’ CPU during UNICOP loads, cores',
      values: runs.map((x) => median(Object.values(x.unicop).map((l) => l.otherCores))),
      format: cores,
      note: 'load on the shared machine that is not the benchmark',
    },
  ];
  const valueOf = (f: Figure): number => f.value ?? median(f.values);

  const ratioMet = theRatio >= TARGET_RATIO;
  const p99Met = theHalfP99 <= TARGET_P99_MS;
  const targetsMet = ratioMet && p99Met;

  const summaryTable = [
    `| figure | value (median of ${runs.length}) | each run |`,
    '|---|---:|---|',
    ...figures.map((f) => `| ${f.label} | ${f.format(valueOf(f))} | ${f.values.map(f.format).join(' · ')} |`),
  ];
  const levelTable = [
    '| concurrency | ceiling A req/s | ceiling A p99 | ceiling A CPU/req | UNICOP accepted/s | UNICOP events/s to Kafka | accept p50 | accept p99 | receiver cores | receiver CPU/req | event-loop delay p99 / max | peak outbox depth | last event on Kafka after load end |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...cs.map((c) => {
      const m = (f: (x: RunResult) => number): number => median(runs.map(f));
      const cells = [
        String(c),
        int(m((x) => x.ceilingA[c]?.okPerSecond ?? NaN)),
        ms(m((x) => x.ceilingA[c]?.latencyMs.p99 ?? NaN)),
        ms2(m((x) => x.ceilingA[c]?.serverCpuMsPerRequest ?? NaN)),
        int(m((x) => x.unicop[c]?.load.acceptedPerSecond ?? NaN)),
        int(m((x) => x.unicop[c]?.eventsPerSecond ?? NaN)),
        ms(m((x) => x.unicop[c]?.load.latencyMs.p50 ?? NaN)),
        ms(m((x) => x.unicop[c]?.load.latencyMs.p99 ?? NaN)),
        cores(m((x) => x.unicop[c]?.receiverCores ?? NaN)),
        ms2(m((x) => x.unicop[c]?.receiverCpuMsPerRequest ?? NaN)),
        `${ms(m((x) => x.unicop[c]?.eventLoopDelayMs?.p99 ?? NaN))} / ${ms(m((x) => x.unicop[c]?.eventLoopDelayMs?.max ?? NaN))}`,
        int(m((x) => x.unicop[c]?.maxOutboxDepth ?? NaN)),
        ms(m((x) => x.unicop[c]?.lastEventAfterLoadMs ?? NaN)),
      ];
      return `| ${cells.join(' | ')} |`;
    }),
  ];
  const targetTable = [
    '| target | measured | |',
    '|---|---:|---|',
    `| UNICOP accepted/s ÷ min(ceiling A, ceiling B) ≥ ${TARGET_RATIO} | ${ratio(theRatio)} | ${ratioMet ? '**met**' : '**missed**'} |`,
    `| p99 accept latency at half the max rate ≤ ${TARGET_P99_MS} ms | ${ms(theHalfP99)} | ${p99Met ? '**met**' : '**missed**'} |`,
  ];
  const validity = [
    `UNICOP responses over all measured loads: ${Object.entries(statusMix)
      .map(([code, n]) => `${int(n)} × ${code}`)
      .join(', ')}; answers other than 202: ${int(refused)}` +
      `; connection errors ${int(allLoads.reduce((n, l) => n + l.errors, 0))}, timeouts ${int(allLoads.reduce((n, l) => n + l.timeouts, 0))}` +
      `; bodies signed during a load because the pre-signed pool ran dry: ${int(late)}.`,
    `End to end: ${runs.map((x) => `${x.e2e.seen}/${x.e2e.posted}`).join(', ')} events seen on Kafka.`,
    `Envelope on Kafka ≈ ${int(median(runs.map((x) => x.ceilingB.envelopeBytes)))} bytes; webhook body ${int(r.bodyBytes)} bytes.`,
  ];

  const others = median(runs.map((x) => median(Object.values(x.unicop).map((l) => l.otherCores))));
  const busyWarning =
    others > 0.25
      ? [
          `Warning: other processes used ${cores(others)} of the ${r.machine.cores} cores during the UNICOP loads (median): the ` +
            'absolute figures are depressed and noisy; the ratio to the ceilings, measured alike, is less affected.',
        ]
      : [];

  const stdout = [
    `UNICOP benchmark — ${runs.length} run(s) × ${r.settings.durationS} s loads, concurrency ${cs.join('/')}${r.settings.quick ? ' (quick)' : ''}`,
    '',
    ...summaryTable,
    '',
    ...levelTable,
    '',
    ...targetTable,
    '',
    ...validity,
    ...busyWarning,
    ...(r.profile ? ['', ...profileLines(r.profile)] : []),
    '',
    `total runtime ${duration(r.totalSeconds)}`,
  ].join('\n');

  const markdown = (existingPath: string): string => {
    const m = r.machine;
    const otherAtStart = m.loadAvgAtStart.map((v) => v.toFixed(2)).join(' / ');
    return [
      '# Benchmarks',
      '',
      '<!-- Written by scripts/bench; everything above "## How to read this" is replaced on every run, that section and what follows it are kept. -->',
      '',
      `Last run ${r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}: ${runs.length} run(s) × ${r.settings.durationS} s per load, ` +
        `concurrency ${cs.join('/')}${r.settings.quick ? ' (**quick smoke run: not a reference figure**)' : ''}; total runtime ${duration(r.totalSeconds)}.`,
      '',
      '## Machine',
      '',
      '| | |',
      '|---|---|',
      `| CPU | ${m.cpuModel}, ${m.cores} cores |`,
      `| memory | ${m.memTotalGiB.toFixed(1)} GiB |`,
      `| kernel | ${m.kernel} |`,
      `| load average at start (1/5/15 min) | ${otherAtStart} |`,
      '',
      'Everything runs on this machine at once: the broker (JVM), the server under test, the load generator (autocannon, in the',
      'benchmark process) and the Kafka consumers. The row "other processes’ CPU" below tells how busy the machine was with',
      'work that is not the benchmark’s.',
      '',
      '## Versions',
      '',
      '| | |',
      '|---|---|',
      ...Object.entries(m.versions).map(([k, v]) => `| ${k} | ${v} |`),
      '',
      '## Command',
      '',
      '```sh',
      r.command,
      '```',
      '',
      `Code measured: ${r.codeVersion}.`,
      '',
      '## Figures',
      '',
      ...summaryTable,
      '',
      '### Per concurrency (medians)',
      '',
      ...levelTable,
      '',
      ...validity.map((v) => `${v}  `),
      '',
      ...(busyWarning.length ? [`**${busyWarning[0]}**`, ''] : []),
      '## Targets',
      '',
      ...targetTable,
      '',
      ...(r.profile
        ? profileMarkdown(r.profile, r.settings.durationS, targetsMet)
        : targetsMet
          ? ['Both targets met: no profile taken (`scripts/bench --profile` takes one anyway).', '']
          : []),
      handWritten(existingPath),
    ].join('\n');
  };

  return { figures, ratio: theRatio, halfP99Ms: theHalfP99, targetsMet, bestConcurrency: bestC || cs[0] || 32, stdout, markdown };
}

function duration(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${Math.round(s - m * 60)} s` : `${Math.round(s)} s`;
}

// ------------------------------------------------------------------------------------------ profile

/**
 * What a hotspot is and what fixing it would take; the first matching entry explains a function.
 * V8 runs JSON.parse / JSON.stringify and similar builtins without a frame of their own: their time
 * is the self time of the function that called them.
 */
const FIX_HINTS: { match: RegExp; topic: string; fix: string }[] = [
  {
    match: /pipeline\/pipeline\.js|^(?!flush |transaction ).*group-commit|parseJson|parse-json|maxDepth|stringify|TextDecoder|^parse /,
    topic: 'JSON work per event',
    fix:
      'V8 counts JSON.parse/JSON.stringify as self time of their caller. The pipeline closure (`pipeline.ts`) serializes the whole ' +
      'envelope only to check its size, and the group-commit callback (`group-commit.ts`, most of that file’s self time) ' +
      'serializes it again to store it: one ' +
      '`JSON.stringify` per event can go (keep the stored string and check its length). `parseJson` decodes the body ' +
      '(TextDecoder, fatal), walks every byte in JavaScript for the nesting depth, then parses it: three passes over each body.',
  },
  {
    match: /better-sqlite3|outbox-store|group-commit|sqliteTransaction|markPublished|insertEvent|^flush |^transaction /,
    topic: 'SQLite outbox',
    fix:
      'Synchronous SQLite work on the event loop: the group commit (insert of the envelope, its event row, the root and version ' +
      'upserts, one fsync per group with `synchronous=FULL`), WAL checkpoints that run inside some commit, and the relay’s ' +
      '`markPublished`, an UPDATE of `published_at` that writes every outbox row, whole envelope included, a second time ' +
      '(NULL → integer changes the record size, so SQLite rewrites the row and its overflow pages; the event loop serves no ' +
      'request meanwhile). Keeping the publish mark out of the ' +
      'big row — a one-row relay cursor (the relay publishes in `pos` order, so "published up to pos N" is enough; ' +
      '`published` in the timeline becomes `pos <= cursor`) or a narrow `outbox_published` table — removes that second write ' +
      'and the stall.',
  },
  {
    match: /kafkajs|FastBuffer|_copyActual|node:buffer|node:internal\/buffer/,
    topic: 'kafkajs encoding',
    fix:
      'kafkajs encodes record batches in JavaScript on the receiver’s one thread; its Encoder grows buffers by allocate-and-copy ' +
      'and copies each message again at every nesting level (record → batch → request), which is where most `FastBuffer` and ' +
      '`_copyActual` time comes from. Running the relay in a worker thread (it needs only the SQLite file and the broker) takes ' +
      'this off the ingest thread and uses the second core; batch compression reduces the bytes copied and sent.',
  },
  {
    match: /ajv|validate-webhook/,
    topic: 'schema validation (ajv)',
    fix:
      'The webhook schemas are compiled with `allErrors: true`, which keeps checking after the first failure. A validator compiled ' +
      'with `allErrors: false` for the accept path, and the all-errors one only to describe a body that already failed, keeps the ' +
      '400 details and is cheaper for valid bodies.',
  },
  {
    match: /\(garbage collector\)/,
    topic: 'garbage collection',
    fix:
      'Allocation per event: the body buffer, its string, the parsed object, the envelope built by object spreads (`normalize`, ' +
      'then `sequenceEvent` copies it again), two JSON strings of it, kafkajs’ intermediate buffers and the 500-row pages the ' +
      'relay reads back. One `JSON.stringify` less and a relay that does not re-read what it just committed lower it.',
  },
  {
    match: /changesBetween|isDeepStrictEqual|eventId|sha1|normalize/,
    topic: 'normalization',
    fix:
      '`changesBetween` sorts the snapshot keys and compares each field with `util.isDeepStrictEqual`; `eventId` hashes a UUIDv5 ' +
      '(SHA-1). Both are small per event; a plain JSON-value comparison would be cheaper than `isDeepStrictEqual`.',
  },
  {
    match: /Hmac|digest|node:internal\/crypto|timingSafeEqual|verify-signature/,
    topic: 'signature (HMAC-SHA512)',
    fix: 'Inherent to verifying NetBox’s signature over a ~4 KB body; one HMAC per configured secret.',
  },
  {
    match: /express|router|body-parser|raw-body|_http|node:net|node:internal\/streams|writev|writeHead|^end |^send |app\.js/,
    topic: 'HTTP and express',
    fix: 'The same work ceiling A does (socket writes, HTTP parsing, express routing, body reading); not specific to UNICOP.',
  },
  {
    match: /\(program\)|node:internal\/modules|wrapSafe|compileFunction/,
    topic: 'V8 and Node itself',
    fix: 'Time in V8/Node outside JavaScript functions (`(program)`); nothing to fix in the receiver.',
  },
];

function hintOf(h: Hotspot): (typeof FIX_HINTS)[number] | undefined {
  const text = `${h.name} ${h.where}`;
  return FIX_HINTS.find((x) => x.match.test(text));
}

function profileLines(p: ProfileSummary): string[] {
  return [
    `receiver CPU profile (busy ${(p.busyMs / 1000).toFixed(1)} s of ${(p.wallMs / 1000).toFixed(1)} s): top self time`,
    ...p.topSelf.slice(0, 10).map((h) => `  ${h.pct.toFixed(1).padStart(5)} %  ${h.name}  ${h.where}`),
  ];
}

function profileMarkdown(p: ProfileSummary, seconds: number, targetsMet: boolean): string[] {
  const row = (h: Hotspot, area = true): string =>
    `| ${h.pct.toFixed(1)} % | ${h.ms.toFixed(0)} ms | \`${h.name}\` | ${h.where ? `\`${h.where}\`` : ''} | ${area ? (hintOf(h)?.topic ?? '') : ''} |`;
  const topics = new Map<string, string>();
  for (const h of [...p.topSelf, ...p.byPackage]) {
    const hint = hintOf(h);
    if (hint && !topics.has(hint.topic)) topics.set(hint.topic, hint.fix);
  }
  const file = p.file.replace(/^.*\/var\//, 'var/');
  return [
    '## Profile of the receiver',
    '',
    `${targetsMet ? 'Profiled on request (--profile): the' : 'A target was missed, so the'} receiver ran once more under \`node --cpu-prof\` for a ${seconds} s load at the best concurrency (the profiler slows it ` +
      `a little). Only the samples of the load phase count${p.window ? ` (monotonic µs ${p.window.fromUs}–${p.window.toUs})` : ''}: ` +
      `busy ${(p.busyMs / 1000).toFixed(1)} s of ${(p.wallMs / 1000).toFixed(1)} s wall; shares below are of the busy time. ` +
      `The whole profile is kept as \`${file}\` (Chrome DevTools → Performance, or ` +
      '`node --import tsx bench/load/profile.ts <file> [top] [fromUs toUs]`).',
    '',
    '### Top self time',
    '',
    '| share | self | function | where | area |',
    '|---:|---:|---|---|---|',
    ...p.topSelf.map((h) => row(h)),
    '',
    '### Self time by package or file',
    '',
    '| share | self | package / file | | area |',
    '|---:|---:|---|---|---|',
    ...p.byPackage.map((h) => row(h)),
    '',
    '### Inclusive time of the receiver’s own functions',
    '',
    '| share | total | function | where | |',
    '|---:|---:|---|---|---|',
    ...p.topInclusive.map((h) => row(h, false)),
    '',
    '### What fixing the hotspots would take',
    '',
    ...[...topics].map(([topic, fix]) => `- **${topic}.** ${fix}`),
    '',
  ];
}

// ------------------------------------------------------------------------------------------ hand-written part

const DEFAULT_HOW_TO_READ = `${HAND_WRITTEN}

*(Hand-written; scripts/bench keeps this section and everything after it.)*

- **What is measured.** Three systems get the same load from the same load generator: ceiling A, a bare express app (the
  receiver's 1 MiB \`express.raw\` limit, \`JSON.parse\`, answer 202) — the most any express service can do here; ceiling B, a
  bare kafkajs idempotent producer (acks -1, one request in flight, batches of 500 like the relay) sending the receiver's
  own envelopes keyed by the same 1,000 roots — the most the Kafka half can do; and the compiled receiver (built like
  \`npm run build\` into a private copy, run as \`node dist/main.js\` with a fresh SQLite outbox per run) doing everything: HMAC check, schema validation,
  normalization, per-root sequencing, a durable group commit (\`synchronous=FULL\`) and the relay to Kafka.
- **Bodies.** Real NetBox 4.7 interface-update webhooks from the test fixtures (\`interfaceUpdate\`), spread round-robin over
  1,000 devices (roots), every request a new event, all signed before the clock starts.
- **accepted/s** counts 202 answers only, divided by the load's duration. **events/s reaching Kafka** divides the same
  count by the time from the start of the load until the topic's high watermarks (summed over partitions) had grown by
  that many messages — acknowledged by the broker and readable. When the relay keeps up, it is a little below accepted/s;
  when it falls behind, the gap shows, and so does "last event on Kafka after load end".
- **Latencies.** Accept latency is the HTTP round trip of a webhook (until the 202, i.e. until the event is on disk),
  recorded per request at microsecond resolution. At half the max rate autocannon sends at a fixed rate (\`overallRate\`,
  32 connections); the p99 there is the larger of the exact one and autocannon's own, which corrects for coordinated
  omission. End-to-end latency is from the start of the POST until a Kafka consumer sees the event, for events posted at a
  modest steady rate on an otherwise idle receiver.
- **Medians.** Each figure is the median over the runs; the "each run" column shows the spread. The ratio is the median
  UNICOP rate over the smaller of the two median ceilings.
- **Caveats.** Two cores are shared by the broker, the server under test, the load generator and the consumers, and on a
  shared development machine by other people's work too (the "other processes" row). Absolute numbers are therefore low
  and noisy; the ratio to the ceilings, measured the same way in the same run, is the figure to watch. \`scripts/bench
  --quick\` is a smoke test of the script, not a measurement.
`;

function handWritten(existingPath: string): string {
  if (existsSync(existingPath)) {
    const text = readFileSync(existingPath, 'utf8');
    const at = text.indexOf(`\n${HAND_WRITTEN}`);
    if (at >= 0) return text.slice(at + 1).replace(/\s*$/, '\n');
  }
  return DEFAULT_HOW_TO_READ;
}
