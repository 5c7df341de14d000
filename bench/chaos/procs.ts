/**
 * The receiver as its own process (`node --import tsx receiver/src/main.ts`), the way it runs in
 * production: its output goes to a log file, its pid to `$CHAOS_TMP/pids` (scripts/chaos kills what
 * is left there on exit), and it is killed when this process exits for any reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Re-exported: the test helpers own it. */
export { freePort } from '../../receiver/test/helpers/process.js';

export const REPO = new URL('../../', import.meta.url).pathname;
export const TMP = process.env.CHAOS_TMP ?? '/tmp';
const children = new Set<ChildProcess>();

export interface ReceiverProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  log: string;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Starts a receiver on `port` with exactly `env` (plus PATH); resolves once /healthz answers. */
export async function startReceiver(name: string, port: number, env: Record<string, string>): Promise<ReceiverProcess> {
  const log = join(TMP, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'receiver/src/main.ts'], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start the receiver ${name}`);
  children.add(child);
  child.once('exit', () => children.delete(child));
  appendFileSync(join(TMP, 'pids'), `${child.pid}\n`);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited(child)) throw new Error(`receiver ${name} exited during start-up; see ${log}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`receiver ${name} did not answer /healthz within 60 s; see ${log}`);
    await sleep(50);
  }
  return { child, pid: child.pid, url, log };
}

/** SIGKILL, and wait for the exit. */
export async function killHard(p: ReceiverProcess): Promise<void> {
  if (exited(p.child)) return;
  const gone = new Promise((resolve) => p.child.once('exit', resolve));
  p.child.kill('SIGKILL');
  await gone;
}

/** SIGTERM (the receiver drains its relay for up to 10 s), SIGKILL after `graceMs`. */
export async function stopReceiver(p: ReceiverProcess, graceMs = 20_000): Promise<void> {
  if (exited(p.child)) return;
  const gone = new Promise((resolve) => p.child.once('exit', resolve));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** Peak resident set size of a live process (VmHWM of /proc/<pid>/status), in bytes. */
export function peakRss(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export interface Readiness {
  ready: boolean;
  reachable: boolean;
  depth: number;
  limit: number;
}

export async function readyz(url: string): Promise<Readiness | null> {
  try {
    const res = await fetch(`${url}/readyz`);
    const body = (await res.json()) as { checks: { kafka: { reachable: boolean }; outbox: { depth: number; limit: number } } };
    return { ready: res.ok, reachable: body.checks.kafka.reachable, depth: body.checks.outbox.depth, limit: body.checks.outbox.limit };
  } catch {
    return null;
  }
}

/** Polls /readyz every `pollMs` until the outbox is empty; resolves with the time that was first seen. */
export async function waitDrained(url: string, timeoutMs: number, pollMs = 50): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await readyz(url);
    if (r && r.depth === 0) return Date.now();
    if (Date.now() > deadline) throw new Error(`outbox not drained within ${timeoutMs / 1000} s (depth ${r?.depth ?? '?'})`);
    await sleep(pollMs);
  }
}

process.on('exit', () => {
  for (const c of children) if (!exited(c)) c.kill('SIGKILL');
});
