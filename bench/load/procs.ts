/**
 * Every child process the benchmark starts goes through here: its output goes to a log file, its pid
 * to `$BENCH_TMP/pids` (scripts/bench kills what is left there on exit), and it is killed when this
 * process exits for any reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, openSync, closeSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

const children = new Set<ChildProcess>();
export const TMP = process.env.BENCH_TMP ?? '/tmp';
export const REPO = new URL('../../', import.meta.url).pathname;

export interface Started {
  child: ChildProcess;
  pid: number;
  log: string;
}

export function startChild(name: string, args: string[], env: Record<string, string>, options: { ipc?: boolean } = {}): Started {
  const log = join(TMP, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: options.ipc ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  children.add(child);
  child.once('exit', () => children.delete(child));
  appendFileSync(join(TMP, 'pids'), `${child.pid}\n`);
  return { child, pid: child.pid, log };
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Sends `signal`, waits up to `graceMs` for the exit, then SIGKILL. Resolves with the exit code. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<number | null> {
  if (exited(child)) return child.exitCode;
  const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await done;
  clearTimeout(timer);
  return code;
}

export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, 'SIGTERM', graceMs)));
}

process.on('exit', () => {
  for (const c of children) if (!exited(c)) c.kill('SIGKILL');
});

/** Reads `VmHWM` (peak resident set) and `VmRSS` of a process, in MiB. */
export async function memoryOf(pid: number): Promise<{ hwmMiB: number; rssMiB: number } | null> {
  const { readFile } = await import('node:fs/promises');
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { hwmMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime field 15
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Whether `pid` runs (not gone, not a zombie): a SIGKILLed broker is gone only once its process is. */
export function alive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== undefined && state !== 'Z';
  } catch {
    return false;
  }
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
