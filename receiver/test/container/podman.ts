import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** podman as this machine allows it: runc (crun is refused) and explicit limits on every container. */
export const PODMAN = ['--runtime', 'runc'] as const;

/** A limit no higher than this shell's hard limit (runc may not raise it) and no higher than `cap`. */
function limit(flag: '-Hn' | '-Hu', cap: number): number {
  const hard = execFileSync('bash', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).trim();
  return hard === 'unlimited' ? cap : Math.min(cap, Number(hard));
}
const NOFILE = limit('-Hn', 65536);
const NPROC = limit('-Hu', 8192);
export const ULIMITS = ['--ulimit', `nofile=${NOFILE}:${NOFILE}`, '--ulimit', `nproc=${NPROC}:${NPROC}`] as const;

/** Runs `podman <args>`; resolves with stdout and the exit code (never rejects on a non-zero exit). */
export async function podman(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('podman', [...PODMAN, ...args], { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Like podman() but a non-zero exit is an error carrying podman's stderr. */
export async function podmanOk(...args: string[]): Promise<string> {
  const r = await podman(...args);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}
