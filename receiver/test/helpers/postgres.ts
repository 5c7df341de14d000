/**
 * `scripts/postgres` for tests: a private cluster (own data dir, free port) or the one `scripts/test` started
 * (PGPORT, PG_DATA_DIR, UNICOP_TEST_DATABASE_URL in the environment).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process.js';

const SCRIPT = new URL('../../../scripts/postgres', import.meta.url).pathname;

export interface ScriptRun {
  /** Exit code (0 on success). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `scripts/postgres <verb>` with `env` on top of this process's environment; never rejects on an exit code. */
export function postgresScript(verb: string, env: Record<string, string> = {}): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    execFile(SCRIPT, [verb], { env: { ...process.env, ...env }, timeout: 180_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

export interface PrivatePostgres {
  env: { PGPORT: string; PG_DATA_DIR: string };
  script(verb: string): Promise<ScriptRun>;
  /** `down`, then the data dir is removed. */
  remove(): Promise<void>;
}

/** A data dir and a free port of its own; nothing runs until `script('up')`. */
export async function privatePostgres(): Promise<PrivatePostgres> {
  const dataDir = mkdtempSync(join(tmpdir(), 'unicop-test-postgres-'));
  const env = { PGPORT: String(await freePort()), PG_DATA_DIR: dataDir };
  return {
    env,
    script: (verb) => postgresScript(verb, env),
    remove: async () => {
      await postgresScript('down', env);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The cluster `scripts/test` started for this run; fails (never skips) when it is missing. */
export function testDatabaseUrl(): string {
  const url = process.env.UNICOP_TEST_DATABASE_URL;
  if (!url) throw new Error('UNICOP_TEST_DATABASE_URL is not set (scripts/postgres up prints it; scripts/test exports it)');
  return url;
}

/** Stops or starts the cluster of `testDatabaseUrl()` (PGPORT and PG_DATA_DIR as `scripts/test` exported them). */
export async function postgresControl(command: 'up' | 'down'): Promise<void> {
  const run = await postgresScript(command);
  if (run.code !== 0) throw new Error(`scripts/postgres ${command} exited ${run.code}: ${run.stderr}`);
}

/** The value of the `UNICOP_DATABASE_URL=…` line `up` and `url` print last. */
export function databaseUrlOf(stdout: string): string {
  const last = stdout.trimEnd().split('\n').at(-1) ?? '';
  if (!last.startsWith('UNICOP_DATABASE_URL=')) throw new Error(`no UNICOP_DATABASE_URL=… as the last line of: ${stdout}`);
  return last.slice('UNICOP_DATABASE_URL='.length);
}
