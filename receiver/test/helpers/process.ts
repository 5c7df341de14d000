import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { waitFor } from './wait-for.js';

const REPO = new URL('../../../', import.meta.url).pathname;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * The receiver as its own process (`receiver/src/main.ts`), for kill -9 tests, on `port` or a free
 * one. Resolves once it answers /healthz (asked with `healthy` when given: an HTTPS receiver needs
 * a client that trusts its CA).
 */
export async function spawnReceiver(
  env: Record<string, string>,
  port?: number,
  options: { scheme?: 'http' | 'https'; healthy?: (url: string) => Promise<boolean> } = {},
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  port ??= await freePort();
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'receiver/src/main.ts'], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `${options.scheme ?? 'http'}://127.0.0.1:${port}`;
  const healthy =
    options.healthy ??
    ((u: string) =>
      fetch(`${u}/healthz`).then(
        (r) => r.ok,
        () => false,
      ));
  await waitFor(async () => child.exitCode !== null || (await healthy(url).catch(() => false)), 30_000, 'receiver process to answer /healthz');
  if (child.exitCode !== null) throw new Error(`receiver exited ${child.exitCode}: ${output}`);
  return { child, url, output: () => output };
}

async function signalAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

export const killHard = (child: ChildProcess): Promise<void> => signalAndWait(child, 'SIGKILL');

/** SIGTERM, as an operator's `systemctl stop` sends it: the receiver drains and exits by itself. */
export const stopGracefully = (child: ChildProcess): Promise<void> => signalAndWait(child, 'SIGTERM');
