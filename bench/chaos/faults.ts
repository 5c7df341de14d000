/**
 * Faults: SIGKILL / SIGSTOP / SIGCONT of the private broker (its pid is in `$KAFKA_DATA_DIR/kafka.pid`,
 * written by `scripts/kafka up`), `scripts/kafka up` to bring it back, and SIGKILL of a receiver child.
 * A broker stopped here is always continued again, even when this process dies on an error.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { alive, listening } from '../load/procs.js';
import { REPO, sleep } from './procs.js';

export { killHard as killReceiver } from './procs.js';

const stopped = new Set<number>();

function dataDir(): string {
  const dir = process.env.KAFKA_DATA_DIR;
  if (!dir) throw new Error('KAFKA_DATA_DIR is not set: scripts/chaos runs its own broker and sets it');
  return dir;
}

export function brokerPid(): number {
  const pid = Number(readFileSync(join(dataDir(), 'kafka.pid'), 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`no broker pid in ${join(dataDir(), 'kafka.pid')}`);
  return pid;
}

/**
 * SIGKILL the broker and wait until the process is gone and its port refuses connections (the
 * leader thread of a JVM turns zombie before the other threads have closed the sockets).
 */
export async function killBroker(): Promise<number> {
  const pid = brokerPid();
  const port = Number(process.env.KAFKA_PORT);
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 30_000;
  while (alive(pid) || (port > 0 && (await listening(port)))) {
    if (Date.now() > deadline) throw new Error(`broker ${pid} still alive (or its port open) 30 s after SIGKILL`);
    await sleep(20);
  }
  return pid;
}

/** SIGSTOP the broker: the process stays, its sockets stay open, nothing answers. */
export function pauseBroker(): number {
  const pid = brokerPid();
  stopped.add(pid);
  process.kill(pid, 'SIGSTOP');
  return pid;
}

export function resumeBroker(): number {
  const pid = brokerPid();
  process.kill(pid, 'SIGCONT');
  stopped.delete(pid);
  return pid;
}

/** `scripts/kafka up` with this environment (same port and data dir); 3 tries. Resolves with the time it took. */
export async function startBroker(): Promise<number> {
  const t0 = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await promisify(execFile)(join(REPO, 'scripts/kafka'), ['up'], { env: process.env, timeout: 240_000 });
      return Date.now() - t0;
    } catch (error) {
      if (attempt >= 3) throw error;
      process.stderr.write(`chaos: scripts/kafka up failed (try ${attempt}): ${String((error as { stderr?: string }).stderr ?? error).trim()}\n`);
      await sleep(2000);
    }
  }
}

process.on('exit', () => {
  for (const pid of stopped) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      /* gone */
    }
  }
});
