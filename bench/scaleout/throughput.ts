/**
 * Part 1: accepted webhooks/s of one receiver on SQLite against 1, 2 and 3 receivers on one PostgreSQL.
 * Every variant runs all the time (its receivers idle while another is measured), each on a database of
 * its own; rounds go A B C D A B C D … so drift of the machine hits every variant alike. One autocannon
 * client spreads the same number of connections round-robin over the variant's receivers.
 */
import { randomUUID } from 'node:crypto';
import { CpuMeter } from '../load/machine.js';
import { runLoad, type LoadResult } from '../load/load.js';
import { Payloads, Pool } from '../load/payloads.js';
import { cpuSecondsOf, stopChild } from '../load/procs.js';
import { readiness, startReceiver, type RunningReceiver } from '../load/unicop.js';
import { median, say, sleep } from '../load/stats.js';
import { createDatabase } from '../../receiver/test/helpers/store.js';

export interface Variant {
  name: string;
  receivers: RunningReceiver[];
}

export interface Round {
  load: LoadResult;
  /** Outbox rows not yet on Kafka when the load ended (the most any receiver's /readyz reported). */
  depthAtEnd: number;
  /** From the end of the load until every receiver's /readyz reported an empty outbox. */
  drainMs: number;
  /** CPU the variant's receivers used, in cores, and the whole machine's busy cores. */
  receiversCores: number;
  machineCores: number;
}

export interface ThroughputSettings {
  brokers: string;
  adminUrl: string;
  connections: number;
  durationS: number;
  rounds: number;
  roots: number;
}

export async function startVariants(s: ThroughputSettings): Promise<Variant[]> {
  const variants: Variant[] = [];
  const sqlite = await startReceiver({ brokers: s.brokers, prefix: `bsq${randomUUID().slice(0, 6)}`, name: 'sqlite-1' });
  variants.push({ name: '1 receiver, SQLite', receivers: [sqlite] });
  for (const count of [1, 2, 3]) {
    const databaseUrl = createDatabase(s.adminUrl, `bench_load${count}`);
    const prefix = `bpg${count}${randomUUID().slice(0, 6)}`;
    const receivers: RunningReceiver[] = [];
    // one after the other: the first migrates the new database, the others find it current
    for (let i = 0; i < count; i++) {
      receivers.push(await startReceiver({ brokers: s.brokers, prefix, name: `pg${count}-${i + 1}`, env: { UNICOP_DATABASE_URL: databaseUrl } }));
    }
    variants.push({ name: `${count} receiver${count > 1 ? 's' : ''}, PostgreSQL`, receivers });
  }
  return variants;
}

export async function stopVariants(variants: Variant[]): Promise<void> {
  await Promise.all(variants.flatMap((v) => v.receivers.map((r) => stopChild(r.child, 'SIGTERM', 20_000))));
}

async function depth(v: Variant): Promise<number> {
  const depths = await Promise.all(v.receivers.map(async (r) => (await readiness(r.url))?.checks.outbox.depth ?? NaN));
  return Math.max(...depths);
}

async function drain(v: Variant, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while ((await depth(v)) !== 0) {
    if (Date.now() - started > timeoutMs) return NaN;
    await sleep(100);
  }
  return Date.now() - started;
}

/** `rounds[v][r]`: variant v's round r. */
export async function measureThroughput(s: ThroughputSettings, variants: Variant[]): Promise<Round[][]> {
  const payloads = new Payloads(s.roots);
  const results: Round[][] = variants.map(() => []);
  // pre-signed bodies per round: 1.5 × the best rate seen so far (2,000/s before the first round)
  let bestRate = 2000;
  for (const v of variants) {
    say(`warm-up: ${v.name}`);
    await runLoad({ url: v.receivers.map((r) => r.url), pool: new Pool(payloads.take(2000), payloads), connections: s.connections, durationS: 2 });
    await drain(v, 120_000);
  }
  for (let r = 0; r < s.rounds; r++) {
    for (const [i, v] of variants.entries()) {
      const pool = new Pool(payloads.take(Math.ceil(bestRate * 1.5 * s.durationS)), payloads);
      say(`round ${r + 1}/${s.rounds}: ${v.name}`);
      const pids = v.receivers.map((x) => x.pid);
      const cpu0 = await Promise.all(pids.map(cpuSecondsOf));
      const meter = new CpuMeter(() => pids);
      const load = await runLoad({ url: v.receivers.map((x) => x.url), pool, connections: s.connections, durationS: s.durationS });
      const machine = meter.stop();
      const cpu1 = await Promise.all(pids.map(cpuSecondsOf));
      const depthAtEnd = await depth(v);
      const drainMs = await drain(v, 120_000);
      const used = cpu1.reduce((a, b, k) => a + b - (cpu0[k] ?? 0), 0);
      results[i]!.push({ load, depthAtEnd, drainMs, receiversCores: used / load.seconds, machineCores: machine.machineCores });
      bestRate = Math.max(bestRate, load.acceptedPerSecond);
      if (load.late > 0) say(`  ${load.late} bodies signed during the round (pool too small)`);
    }
  }
  return results;
}

export interface ThroughputFigures {
  name: string;
  receivers: number;
  acceptedPerSecond: number[];
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  depthAtEnd: number[];
  drainMs: number[];
  receiversCores: number;
  machineCores: number;
}

/** Medians over the rounds (each round's figure kept for the "each round" column). */
export function throughputFigures(variants: Variant[], rounds: Round[][]): ThroughputFigures[] {
  return variants.map((v, i) => {
    const rs = rounds[i]!;
    return {
      name: v.name,
      receivers: v.receivers.length,
      acceptedPerSecond: rs.map((r) => r.load.acceptedPerSecond),
      p50Ms: median(rs.map((r) => r.load.latencyMs.p50)),
      p99Ms: median(rs.map((r) => r.load.latencyMs.p99)),
      non2xx: rs.reduce((n, r) => n + Object.entries(r.load.byStatus).reduce((m, [code, c]) => m + (code.startsWith('2') ? 0 : c), 0), 0),
      errors: rs.reduce((n, r) => n + r.load.errors + r.load.timeouts, 0),
      depthAtEnd: rs.map((r) => r.depthAtEnd),
      drainMs: rs.map((r) => r.drainMs),
      receiversCores: median(rs.map((r) => r.receiversCores)),
      machineCores: median(rs.map((r) => r.machineCores)),
    };
  });
}
