/**
 * The snapshot benchmark's table, for the terminal and for its block of docs/benchmarks.md. The block
 * sits between `<!-- scripts/bench snapshot: begin -->` and `<!-- ... end -->` below the hand-written
 * "How to read this" section, which `scripts/bench` keeps as it is, so neither command overwrites the other.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import type { Snapshot } from './receiver.js';

export interface SnapshotBench {
  command: string;
  codeVersion: string;
  kafkaVersion: string;
  netboxVersion: string;
  startedAt: string;
  objects: number;
  devices: number;
  makeMs: number;
  removeMs: number | null;
  first: Snapshot;
  /** From the first snapshot's completion until the relay had published all its repairs. */
  firstOnKafkaMs: number;
  second: Snapshot;
}

const n = (x: number): string => x.toLocaleString('en-US');
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const repairs = (s: Snapshot): string => `${n(s.repairs.created)} / ${n(s.repairs.updated)} / ${n(s.repairs.deleted)}`;
const rate = (s: Snapshot): string => n(Math.round(s.counts.read / Math.max(s.durationMs / 1000, 0.001)));

export function machine(): string {
  const cpu = cpus();
  return `${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Linux ${release()}, Node ${process.version}`;
}

export function table(r: SnapshotBench): string[] {
  const { first, second } = r;
  return [
    '| | first snapshot (spine empty) | second snapshot (nothing to repair) |',
    '|---|---:|---:|',
    `| state | ${first.state} | ${second.state} |`,
    `| duration (the snapshot's own) | ${secs(first.durationMs)} | ${secs(second.durationMs)} |`,
    `| NetBox requests | ${n(first.counts.requests)} | ${n(second.counts.requests)} |`,
    `| objects read | ${n(first.counts.read)} | ${n(second.counts.read)} |`,
    `| repairs created / updated / deleted | ${repairs(first)} | ${repairs(second)} |`,
    `| objects read per second | ${rate(first)} | ${rate(second)} |`,
    `| repairs on Kafka after completion | ${secs(r.firstOnKafkaMs)} | |`,
  ];
}

export function summary(r: SnapshotBench): string[] {
  const types = r.first.objectTypes;
  return [
    `Objects made: ${n(r.objects)} interfaces on ${n(r.devices)} device(s), ${n(Math.round(r.objects / Math.max(r.makeMs / 1000, 0.001)))}/s ` +
      `with bulk POSTs (${secs(r.makeMs)}); removed with bulk DELETEs in ${r.removeMs === null ? 'n/a' : secs(r.removeMs)}.`,
    `Object types read (${types.length}): ${types.join(', ')}. "objects read" counts every object of these types in the NetBox, ` + "not only the benchmark's.",
    'NetBox requests: its version, one list page per type and per UNICOP_SNAPSHOT_PAGE_SIZE objects (at most UNICOP_SNAPSHOT_RATE ' +
      "per second) and, in a receiver's first snapshot only, one REST endpoint look-up per type (kept after).",
  ];
}

export function markdown(r: SnapshotBench): string {
  return [
    '## Snapshot with repair (`scripts/bench snapshot`)',
    '',
    `Last run ${r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}; code measured: ${r.codeVersion}.  `,
    `Machine: ${machine()}; load average (1 min) at the end ${loadavg()[0]?.toFixed(2)}.  `,
    `NetBox ${r.netboxVersion} (scripts/netbox, same machine); Kafka ${r.kafkaVersion} (single node, scripts/kafka).`,
    '',
    '```sh',
    r.command,
    '```',
    '',
    ...table(r),
    '',
    ...summary(r).map((line) => `${line}  `),
    '',
  ].join('\n');
}

/**
 * Replaces the block of `scripts/bench <command>` in `file`, or appends it at the end (below the kept,
 * hand-written part). Other commands with a block of their own (`scaleout`) use it too.
 */
export function writeBlock(file: string, body: string, command = 'snapshot'): void {
  const begin = `<!-- scripts/bench ${command}: begin (written by the command; edits are lost) -->`;
  const end = `<!-- scripts/bench ${command}: end -->`;
  const block = `${begin}\n${body}${end}`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\n## How to read this\n';
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  const next = from >= 0 && to > from ? text.slice(0, from) + block + text.slice(to + end.length) : `${text.replace(/\n*$/, '\n\n')}${block}\n`;
  writeFileSync(file, next);
}
