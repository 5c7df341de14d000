/**
 * The provider's data directory: every file written once with mode 0600 and read back on each start, so users,
 * client secrets and signing keys survive restarts (a NetBox configured with the client secret keeps working).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FILES = {
  keys: 'keys.json', // private JWKS, newest key first (it signs); older keys stay published for verifiers
  users: 'users.json', // users with scrypt password hashes and groups
  clients: 'clients.json', // client ids and secrets
  cookieKeys: 'cookie-keys.json', // keys the provider signs its cookies with
  passwords: 'passwords.json', // the users' generated passwords in clear, for tests and local logins
  env: 'env', // KEY=value lines for `set -a; . env; set +a`
} as const;

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

export function readJson<T>(dir: string, file: string): T {
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as T;
}

export function has(dir: string, file: string): boolean {
  return existsSync(join(dir, file));
}

/** Write-then-rename, mode 0600: a reader never sees half a file, nobody else can read a secret. */
export function writeSecret(dir: string, file: string, content: string): void {
  const path = join(dir, file);
  const tmp = `${path}.tmp.${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export const writeJson = (dir: string, file: string, value: unknown): void => writeSecret(dir, file, `${JSON.stringify(value, null, 2)}\n`);
