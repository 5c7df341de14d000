/**
 * `init`: creates what is missing in the data directory (keys, users, clients, cookie keys) and rewrites the env
 * file, whose issuer follows the port. `rotate`: a new signing key in front of the old ones.
 */
import { DEFAULT_USERS, EMAIL_DOMAIN, generatePassword, hashPassword, type User } from './accounts.js';
import { newSigningKey, rotate, type PrivateJwks } from './keys.js';
import type { Settings } from './settings.js';
import { ensureDir, FILES, has, readJson, writeJson, writeSecret } from './store.js';
import { randomBytes } from 'node:crypto';

export interface Clients {
  netbox: { clientId: string; clientSecret: string };
  cli: { clientId: string };
  machine: { clientId: string; clientSecret: string };
}

const secret = (): string => randomBytes(32).toString('base64url');

export async function init(settings: Settings): Promise<void> {
  const dir = settings.dataDir;
  ensureDir(dir);
  if (!has(dir, FILES.keys)) writeJson(dir, FILES.keys, { keys: [await newSigningKey()] } satisfies PrivateJwks);
  if (!has(dir, FILES.cookieKeys)) writeJson(dir, FILES.cookieKeys, [secret(), secret()]);
  if (!has(dir, FILES.clients)) {
    writeJson(dir, FILES.clients, {
      netbox: { clientId: 'netbox', clientSecret: secret() },
      cli: { clientId: 'unicop-cli' },
      machine: { clientId: 'unicop-machine', clientSecret: secret() },
    } satisfies Clients);
  }
  if (!has(dir, FILES.users) || !has(dir, FILES.passwords)) {
    const passwords: Record<string, string> = {};
    const users: User[] = DEFAULT_USERS.map((u) => {
      const password = generatePassword();
      passwords[u.username] = password;
      return { username: u.username, name: u.name, email: `${u.username}@${EMAIL_DOMAIN}`, groups: [...u.groups], passwordHash: hashPassword(password) };
    });
    writeJson(dir, FILES.passwords, passwords);
    writeJson(dir, FILES.users, users);
  }
  writeEnv(settings);
}

function writeEnv(settings: Settings): void {
  const dir = settings.dataDir;
  const clients = readJson<Clients>(dir, FILES.clients);
  const passwords = readJson<Record<string, string>>(dir, FILES.passwords);
  const lines = [
    `UNICOP_OIDC_ISSUER=${settings.issuer}`,
    `UNICOP_OIDC_AUDIENCE=${settings.audience}`,
    `IDP_NETBOX_CLIENT_ID=${clients.netbox.clientId}`,
    `IDP_NETBOX_CLIENT_SECRET=${clients.netbox.clientSecret}`,
    `IDP_CLI_CLIENT_ID=${clients.cli.clientId}`,
    `IDP_MACHINE_CLIENT_ID=${clients.machine.clientId}`,
    `IDP_MACHINE_CLIENT_SECRET=${clients.machine.clientSecret}`,
    `IDP_USERS=${Object.keys(passwords).join(',')}`,
    ...Object.entries(passwords).map(([user, password]) => `IDP_PASSWORD_${user.toUpperCase()}=${password}`),
  ];
  writeSecret(dir, FILES.env, `${lines.join('\n')}\n`);
}

export async function rotateKeys(settings: Settings): Promise<string> {
  const next = await rotate(readJson<PrivateJwks>(settings.dataDir, FILES.keys));
  writeJson(settings.dataDir, FILES.keys, next);
  return next.keys[0]?.kid ?? '';
}
