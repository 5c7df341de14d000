/** What the figures were measured on: CPU, memory, versions, and how busy the machine was otherwise. */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { createRequire } from 'node:module';
import { REPO } from './procs.js';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memTotalGiB: number;
  kernel: string;
  loadAvgAtStart: number[];
  versions: Record<string, string>;
}

const require = createRequire(`${REPO}package.json`);

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(kafkaVersion: string): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const memKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? 0);
  return {
    cpuModel: model,
    cores: cpus().length,
    memTotalGiB: memKb / 1024 / 1024,
    kernel: release(),
    loadAvgAtStart: loadavg(),
    versions: {
      node: process.version,
      kafka: kafkaVersion,
      kafkajs: packageVersion('kafkajs'),
      express: packageVersion('express'),
      'better-sqlite3': packageVersion('better-sqlite3'),
      autocannon: packageVersion('autocannon'),
    },
  };
}

/** Busy and total jiffies of the whole machine (/proc/stat first line). */
function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function processJiffies(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/**
 * CPU use over a phase: the whole machine, and the part of it used by processes that are not the
 * benchmark's (other users of a shared machine). Cores = jiffies / (elapsed jiffies per core).
 */
export class CpuMeter {
  private readonly m0 = machineJiffies();
  private readonly p0: Map<number, number>;

  constructor(private readonly pids: () => number[]) {
    this.p0 = new Map(pids().map((p) => [p, processJiffies(p)]));
  }

  stop(): { machineCores: number; othersCores: number } {
    const m1 = machineJiffies();
    const cores = cpus().length;
    const elapsedPerCore = (m1.total - this.m0.total) / cores;
    if (elapsedPerCore <= 0) return { machineCores: NaN, othersCores: NaN };
    let ours = 0;
    for (const pid of this.pids()) ours += processJiffies(pid) - (this.p0.get(pid) ?? 0);
    const busy = m1.busy - this.m0.busy;
    return { machineCores: busy / elapsedPerCore, othersCores: Math.max(0, busy - ours) / elapsedPerCore };
  }
}
