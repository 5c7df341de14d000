/**
 * Tables for the terminal and for `docs/chaos.md`. Each command owns one block of that file between
 * `<!-- scripts/chaos <name>: begin -->` and `<!-- ... end -->` and replaces it (or appends it at the
 * end when the file has none); everything else in the file is left as it is.
 */
import { cpus, loadavg, release, totalmem } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { BurstReport } from './burst.js';
import type { ScenarioReport } from './scenarios.js';

export const RSS_TARGET_BYTES = 300 * 1024 * 1024;

const n = (x: number): string => x.toLocaleString('en-US');
const s = (ms: number): string => (Math.abs(ms) < 10_000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const mb = (bytes: number | null): string => (bytes === null ? 'n/a' : `${(bytes / 1024 / 1024).toFixed(0)} MB`);

export function machine(): string {
  const cpu = cpus();
  const kafka = process.env.KAFKA_VERSION ?? '4.4.0';
  return `${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Linux ${release()}, Node ${process.version}, Kafka ${kafka} (single node, scripts/kafka)`;
}

function header(command: string): string {
  return `Command: \`${command}\` · date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} · machine: ${machine()} · load average (1 min) at the end: ${loadavg()[0]?.toFixed(1)}`;
}

/** What Kafka held against what the receiver accepted: nothing lost, out of order, or duplicated differently. */
function spineIntact(c: BurstReport['check']): boolean {
  return c.lost === 0 && c.orderViolations === 0 && c.duplicatesDiffer === 0 && c.sequenceMismatches === 0;
}

export function burstPassed(r: BurstReport): boolean {
  return (
    spineIntact(r.check) &&
    r.client.stored.size === r.options.events &&
    r.client.unexpected === 0 &&
    r.client.backpressureWithoutRetryAfter === 0 &&
    r.peakRssBytes !== null &&
    r.peakRssBytes <= RSS_TARGET_BYTES
  );
}

export function burstTable(r: BurstReport, command: string): string {
  const c = r.check;
  const options = r.options;
  const rate = r.postMs > 0 ? Math.round((r.client.stored.size * 1000) / r.postMs) : 0;
  const rows: [string, string, string][] = [
    ['events posted / stored (202 + 200)', `${n(options.events)} / ${n(r.client.stored.size)} (${n(r.client.accepted)} + ${n(r.client.duplicates)})`, 'all'],
    ['roots, client concurrency', `${n(options.roots)}, ${options.concurrency}`, ''],
    ['503 answers (without Retry-After)', `${n(r.client.backpressure)} (${r.client.backpressureWithoutRetryAfter})`, '(0)'],
    ['other non-2xx answers, connection errors', `${n(r.client.unexpected)}, ${n(r.client.connectionErrors)}`, '0, 0'],
    ['post time (first post → last 2xx), accepted/s', `${s(r.postMs)}, ${n(rate)}/s`, ''],
    ['drain time (last 2xx → outbox empty; /readyz polled every 50 ms)', s(r.drainMs), ''],
    ['drain time (last 2xx → CreateTime of the last message)', s(r.drainKafkaMs), ''],
    ['total time (first post → outbox empty)', s(r.totalMs), ''],
    ['messages on Kafka / distinct ids / roots', `${n(c.messages)} / ${n(c.distinct)} / ${n(c.roots)}`, ''],
    ['lost (stored, never published)', n(c.lost), '0'],
    ['duplicated ids (extra copies; copies differing)', `${n(c.duplicatedIds)} (${n(c.extraCopies)}; ${c.duplicatesDiffer})`, 'same id only'],
    ['per-root order violations', n(c.orderViolations), '0'],
    ['published sequence ≠ answered sequence', n(c.sequenceMismatches), '0'],
    ['receiver peak RSS (VmHWM)', mb(r.peakRssBytes), `≤ ${mb(RSS_TARGET_BYTES)}`],
  ];
  const lines = [
    header(command),
    '',
    '| figure | value | target |',
    '|---|---|---|',
    ...rows.map(([a, b, t]) => `| ${a} | ${b} | ${t} |`),
    '',
    `Result: **${burstPassed(r) ? 'all targets met' : 'TARGET MISSED'}**.`,
  ];
  if (c.lostSample.length) lines.push('', `Lost ids (first ${c.lostSample.length}): ${c.lostSample.join(', ')}`);
  if (c.violationSample.length) lines.push('', 'Order violations (first ones):', ...c.violationSample.map((v) => `- ${v}`));
  if (r.client.unexpectedSample.length) lines.push('', 'Unexpected answers (first ones):', ...r.client.unexpectedSample.map((v) => `- \`${v}\``));
  return lines.join('\n');
}

export function scenarioPassed(r: ScenarioReport): boolean {
  return (
    spineIntact(r.check) &&
    r.client.gaveUp === 0 &&
    r.client.unexpected === 0 &&
    r.client.backpressureWithoutRetryAfter === 0 &&
    r.check.extraCopies === 0 &&
    (r.scenario !== 'kafka-stop' || r.client.backpressure > 0)
  );
}

export function faultsTable(reports: ScenarioReport[], command: string, settings: string): string {
  const lines = [
    header(command),
    '',
    settings,
    '',
    '| scenario | fault | stored (202 + 200 dup) | 503 (without Retry-After) | connection errors | messages on Kafka | lost | duplicated ids (extra copies; differing) | order violations | result |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of reports) {
    const c = r.check;
    lines.push(
      `| ${r.scenario} | ${r.what} | ${n(r.client.stored.size)} (${n(r.client.accepted)} + ${n(r.client.duplicates)}) | ${n(r.client.backpressure)} (${r.client.backpressureWithoutRetryAfter}) | ${n(r.client.connectionErrors)} | ${n(c.messages)} | **${n(c.lost)}** | ${n(c.duplicatedIds)} (${n(c.extraCopies)}; ${c.duplicatesDiffer}) | **${n(c.orderViolations)}** | ${scenarioPassed(r) ? 'pass' : 'FAIL'} |`,
    );
  }
  lines.push(
    '',
    'Targets: lost 0; duplicated ids 0 on a read_committed consumer (exactly-once publication); order violations 0; every 503 carries Retry-After.',
  );
  for (const r of reports) {
    lines.push('', `${r.scenario} timeline (seconds since the first post):`, '', ...r.timeline.map((t) => `    ${t}`));
    const c = r.check;
    if (c.lostSample.length) lines.push('', `    lost ids (first ${c.lostSample.length}): ${c.lostSample.join(', ')}`);
    if (c.violationSample.length) lines.push('', '    order violations (first ones):', ...c.violationSample.map((v) => `    - ${v}`));
    if (r.client.unexpectedSample.length) lines.push('', '    unexpected answers:', ...r.client.unexpectedSample.map((v) => `    - ${v}`));
    if (r.client.gaveUp) lines.push('', `    the client gave up on ${r.client.gaveUp} events`);
    if (c.unexpected || c.sequenceMismatches)
      lines.push('', `    ids published but never answered 2xx: ${c.unexpected}; sequence mismatches: ${c.sequenceMismatches}`);
  }
  return lines.join('\n');
}

/** Replaces the block `name` of `file` (or appends it). */
export function writeBlock(file: string, name: string, title: string, body: string): void {
  const begin = `<!-- scripts/chaos ${name}: begin (written by the command; edits are lost) -->`;
  const end = `<!-- scripts/chaos ${name}: end -->`;
  const block = `${begin}\n${title}\n\n${body}\n${end}`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Chaos, burst and fuzz runs\n';
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  const next = from >= 0 && to > from ? text.slice(0, from) + block + text.slice(to + end.length) : `${text.replace(/\n*$/, '\n\n')}${block}\n`;
  writeFileSync(file, next);
}
