/**
 * The two private brokers (`scripts/kafka` with their own port and data dir, started by ./run): SIGSTOP,
 * SIGCONT, SIGKILL and `scripts/kafka up` again for one of them. Its pid is in `<data dir>/kafka.pid`.
 * A broker stopped here is continued again when this process exits, whatever the reason.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { alive, listening } from '../load/procs.js';
import { sleep } from '../load/stats.js';

const REPO = new URL('../../', import.meta.url).pathname;
const paused = new Set<number>();

export class Broker {
  constructor(
    readonly name: string,
    readonly port: number,
    private readonly controllerPort: number,
    private readonly dataDir: string,
  ) {}

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  pid(): number {
    const pid = Number(readFileSync(join(this.dataDir, 'kafka.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) throw new Error(`no pid of broker ${this.name} in ${this.dataDir}/kafka.pid`);
    return pid;
  }

  /** The process stays, its sockets stay open, nothing answers. */
  pause(): void {
    const pid = this.pid();
    paused.add(pid);
    process.kill(pid, 'SIGSTOP');
  }

  resume(): void {
    const pid = this.pid();
    process.kill(pid, 'SIGCONT');
    paused.delete(pid);
  }

  /** SIGKILL; resolves once the process is gone and its port refuses connections. */
  async kill(): Promise<void> {
    const pid = this.pid();
    process.kill(pid, 'SIGKILL');
    paused.delete(pid);
    const deadline = Date.now() + 30_000;
    while (alive(pid) || (await listening(this.port))) {
      if (Date.now() > deadline) throw new Error(`broker ${this.name} (${pid}) still alive or listening 30 s after SIGKILL`);
      await sleep(20);
    }
  }

  /** `scripts/kafka up` on the same port and data dir (the data written before the kill is kept). */
  async up(): Promise<void> {
    const env = { ...process.env, KAFKA_PORT: String(this.port), KAFKA_CONTROLLER_PORT: String(this.controllerPort), KAFKA_DATA_DIR: this.dataDir };
    await promisify(execFile)(join(REPO, 'scripts/kafka'), ['up'], { env, timeout: 240_000 });
  }
}

process.on('exit', () => {
  for (const pid of paused) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      /* gone */
    }
  }
});
