/** The federation benchmark's tables, for the terminal and for its block of docs/benchmarks.md. */
import { loadavg } from 'node:os';
import { median } from '../load/stats.js';
import { machine } from '../snapshot/report.js';
import type { IsolationFigures } from './isolation.js';
import type { RoutingSettings, RoutingVariant } from './routing.js';

export interface FederationBench {
  command: string;
  codeVersion: string;
  kafkaVersion: string;
  startedAt: string;
  routing: RoutingSettings;
  variants: RoutingVariant[];
  isolation: IsolationFigures;
}

const us = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(0)} µs` : 'n/a');
const ms = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : 'n/a');
const s = (x: number): string => (Number.isFinite(x) ? `${(x / 1000).toFixed(1)} s` : 'n/a');
const n = (x: number): string => x.toLocaleString('en-US');
const signed = (x: number, unit: string): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(0)} ${unit}` : 'n/a');

export function routingTable(r: FederationBench): string[] {
  const base = r.variants[0]!;
  const baseWall = median(base.usPerEvent);
  const baseCpu = median(base.cpuUsPerEvent);
  return [
    '| variant | routes (relays) | wall per accepted event | difference | CPU per accepted event | difference | each round, wall | relays done after (each round) | non-202 | `routeOf` alone |',
    '|---|---:|---:|---:|---:|---:|---|---|---:|---:|',
    ...r.variants.map((v, i) => {
      const wall = median(v.usPerEvent);
      const cpu = median(v.cpuUsPerEvent);
      return (
        `| ${v.name} | ${v.routes} | ${us(wall)} | ${i === 0 ? '—' : signed(wall - baseWall, 'µs')} | ${us(cpu)} | ${i === 0 ? '—' : signed(cpu - baseCpu, 'µs')} | ` +
        `${v.usPerEvent.map(us).join(' · ')} | ${v.drainMs.map(s).join(' · ')} | ${n(v.non202)} | ${v.routeOfNs.toFixed(0)} ns |`
      );
    }),
  ];
}

export function isolationTable(r: FederationBench): string[] {
  const i = r.isolation;
  return [
    '| phase | length | route A accepted | A on broker A | A POST → on A, p50 / p90 / p99 / max | A accept p99 | route B accepted | non-202 | `/readyz` status seen | route B depth, max / at the end |',
    '|---|---:|---:|---:|---|---:|---:|---:|---|---:|',
    ...i.phases.map(
      (p) =>
        `| ${p.phase} | ${p.seconds.toFixed(1)} s | ${n(p.aAccepted)} | ${n(p.aSeen)} | ${ms(p.aMs.p50)} / ${ms(p.aMs.p90)} / ${ms(p.aMs.p99)} / ${ms(p.aMs.max)} | ` +
        `${ms(p.aAcceptP99Ms)} | ${n(p.bAccepted)} | ${n(p.non202)} | ${
          Object.entries(p.readyz)
            .map(([status, count]) => `${status} ×${count}`)
            .join(', ') || '—'
        } | ${n(p.bDepthMax)} / ${Number.isFinite(p.bDepthEnd) ? n(p.bDepthEnd) : 'n/a'} |`,
    ),
  ];
}

export function isolationSummary(r: FederationBench): string {
  const i = r.isolation;
  return (
    `Route B: ${n(i.bAccepted)} events accepted, ${n(i.bOnTopic)} on broker B's events topic after the restart, ` +
    `**${n(i.bLost)} lost**, ${n(i.bDuplicates)} duplicate(s); its outbox was empty ${s(i.bDrainedAfterRestartMs)} after \`scripts/kafka up\` ` +
    `returned (which took ${s(i.restartMs)}). Route A: ${n(i.aLost)} accepted event(s) not found on broker A.`
  );
}

export function markdown(r: FederationBench): string {
  const rt = r.routing;
  return [
    '## Federation (`scripts/bench federation`)',
    '',
    `Last run ${r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}; code measured: ${r.codeVersion}.  `,
    `Machine: ${machine()}; load average (1 min) at the end ${loadavg()[0]?.toFixed(2)}.  `,
    `Kafka ${r.kafkaVersion}: two single-node brokers (scripts/kafka), same machine.`,
    '',
    '```sh',
    r.command,
    '```',
    '',
    '### Routing cost per event',
    '',
    `Three receivers in one process (real SQLite, relays publishing to broker A, ${rt.partitions} partitions per topic), ` +
      `${n(rt.events)} fresh signed NetBox 4.7 device updates per round over ${n(rt.roots)} devices spread evenly over ` +
      `${rt.manyRoutes} regions (the region in the plugin's \`context.unicop.scope\`), ${rt.concurrency} keep-alive callers, ` +
      `${rt.rounds} rounds per variant, interleaved. The ${rt.manyRoutes}-route file has one entry per region for ${rt.manyRoutes - 1} ` +
      'of them and `"*"` last, each with its own topic prefix (so as many relays); the 1-route file has `"*"` only. ' +
      'Per event: elapsed time, and CPU of the whole process (HTTP client, receiver, relays) over accepted webhooks; medians ' +
      'over the rounds. "Relays done after": from the last 202 until every route’s outbox was empty. `routeOf` alone: the ' +
      'first-match function over the same scopes, 1,000,000 calls.',
    '',
    ...routingTable(r),
    '',
    '### Route A while route B is down',
    '',
    `One receiver process with a 2-route file (region \`emea\` → broker A, \`"*"\` → broker B, the same topic prefix), ` +
      `${r.isolation.rate} webhooks/s open loop, every other one for each route; phases of ${r.isolation.phaseS} s ` +
      '(the two after B comes back: half). "A POST → on A": from the start of the POST until a consumer of broker A’s events ' +
      'topic read the event (matched by request id), same process and clock.',
    '',
    ...isolationTable(r),
    '',
    isolationSummary(r),
    '',
  ].join('\n');
}
