/** The scale-out benchmark's tables, for the terminal and for its block of docs/benchmarks.md. */
import { loadavg } from 'node:os';
import { machine } from '../snapshot/report.js';
import { median } from '../load/stats.js';
import type { TakeoverRun } from './takeover.js';
import type { ThroughputFigures } from './throughput.js';

export interface ScaleoutBench {
  command: string;
  codeVersion: string;
  kafkaVersion: string;
  pgVersion: string;
  startedAt: string;
  durationS: number;
  rounds: number;
  connections: number;
  roots: number;
  takeoverRate: number;
  throughput: ThroughputFigures[];
  takeovers: TakeoverRun[];
}

const n = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const ms = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : 'n/a');
const s = (x: number): string => (Number.isFinite(x) ? `${(x / 1000).toFixed(1)} s` : 'n/a');
const each = (xs: number[], f: (x: number) => string): string => xs.map(f).join(' · ');

export function throughputTable(r: ScaleoutBench): string[] {
  const base = median(r.throughput[0]?.acceptedPerSecond ?? []);
  return [
    '| variant | accepted/s (median) | each round | vs SQLite | p50 accept | p99 accept | non-2xx | outbox depth at the end | drained after | receivers’ CPU, cores | machine busy, cores |',
    '|---|---:|---|---:|---:|---:|---:|---|---|---:|---:|',
    ...r.throughput.map((t) => {
      const rate = median(t.acceptedPerSecond);
      return (
        `| ${t.name} | ${n(rate)} | ${each(t.acceptedPerSecond, n)} | ${(rate / base).toFixed(2)} | ${ms(t.p50Ms)} | ${ms(t.p99Ms)} | ` +
        `${n(t.non2xx + t.errors)} | ${each(t.depthAtEnd, n)} | ${each(t.drainMs, s)} | ${t.receiversCores.toFixed(2)} | ${t.machineCores.toFixed(2)} |`
      );
    }),
  ];
}

export function takeoverTable(r: ScaleoutBench): string[] {
  const leases = [...new Set(r.takeovers.map((t) => t.leaseS))];
  const stat = (xs: number[]): string => `${s(Math.min(...xs))} / ${s(median(xs))} / ${s(Math.max(...xs))}`;
  return [
    '| lease (UNICOP_LANE_LEASE_S) | kills | lanes per killed receiver | kill → every lane taken over, min / median / max | kill → its roots’ events on Kafka, min / median / max | lease expired for, when taken (median) | steady-load non-2xx / failed |',
    '|---|---:|---:|---|---|---:|---|',
    ...leases.map((lease) => {
      const runs = r.takeovers.filter((t) => t.leaseS === lease);
      return (
        `| ${lease} s | ${runs.length} | ${runs.map((t) => t.lanesKilled).join(' · ')} | ${stat(runs.map((t) => t.takenOverMs))} | ` +
        `${stat(runs.map((t) => t.onKafkaMs))} | ${s(median(runs.map((t) => t.expiredForMs)))} | ` +
        `${runs.reduce((a, t) => a + t.non2xx, 0)} / ${runs.reduce((a, t) => a + t.failed, 0)} |`
      );
    }),
  ];
}

export function markdown(r: ScaleoutBench): string {
  return [
    '## Scale-out (`scripts/bench scaleout`)',
    '',
    `Last run ${r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}; code measured: ${r.codeVersion}.  `,
    `Machine: ${machine()}; load average (1 min) at the end ${loadavg()[0]?.toFixed(2)}.  `,
    `PostgreSQL ${r.pgVersion} (scripts/postgres, same machine, fsync on); Kafka ${r.kafkaVersion} (single node, scripts/kafka). ` +
      'Every receiver is its own process (`node receiver/dist/main.js` after `npm run build`); broker, PostgreSQL, receivers and load generator share the 2 cores.',
    '',
    '```sh',
    r.command,
    '```',
    '',
    `### Accepted webhooks/s: the cost of the shared store`,
    '',
    `${r.connections} connections in all, spread round-robin over the variant's receivers (one autocannon client); fresh signed ` +
      `NetBox interface updates over ${r.roots} roots; ${r.rounds} rounds of ${r.durationS} s per variant, interleaved. ` +
      'Latencies: medians over the rounds of each round’s percentile. Outbox depth: rows not yet on Kafka when the load ended ' +
      '(`/readyz` `checks.outbox.depth`; a shared store re-reads it every second); drained after: until every receiver reported 0.',
    '',
    ...throughputTable(r),
    '',
    '### Lane takeover after SIGKILL',
    '',
    `3 receivers on PostgreSQL, 12 lanes (4 each), ${r.takeoverRate} webhooks/s round-robin over them; one SIGKILLed; right after, one webhook ` +
      'about a root of each lane it held is posted to a survivor. "Every lane taken over": the last of the survivors’ `relay lane taken over` ' +
      'log lines about it; "on Kafka": the last of those webhooks read from the events topic.',
    '',
    ...takeoverTable(r),
    '',
  ].join('\n');
}
