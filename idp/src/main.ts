/**
 * The local OpenID provider (tests and local SSO; never part of a deployment). Verbs, as scripts/idp calls them:
 *   init    create the missing data files and rewrite the env file
 *   rotate  put a new signing key in front (the old ones stay published)
 *   serve   listen on IDP_HOST:IDP_PORT until SIGTERM
 */
import { createServer } from 'node:http';
import type { User } from './accounts.js';
import type { PrivateJwks } from './keys.js';
import { loginMiddleware } from './login.js';
import { buildProvider } from './provider.js';
import { loadSettings, type Settings } from './settings.js';
import { init, rotateKeys, type Clients } from './setup.js';
import { FILES, readJson } from './store.js';

async function serve(settings: Settings): Promise<void> {
  const dir = settings.dataDir;
  const users = readJson<User[]>(dir, FILES.users);
  const provider = buildProvider({
    settings,
    users,
    keys: readJson<PrivateJwks>(dir, FILES.keys),
    clients: readJson<Clients>(dir, FILES.clients),
    cookieKeys: readJson<string[]>(dir, FILES.cookieKeys),
  });
  provider.use(loginMiddleware(provider, users, settings.audience));
  provider.on('server_error', (_ctx, err) => console.error('server_error', err));
  const server = createServer(provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, resolve);
  });
  console.log(`listening ${settings.issuer}`);
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function run(): Promise<void> {
  const settings = loadSettings(process.env);
  const verb = process.argv[2];
  if (verb === 'init') return init(settings);
  if (verb === 'rotate') {
    console.log(`new signing key ${await rotateKeys(settings)}`);
    return;
  }
  if (verb === 'serve') return serve(settings);
  throw new Error('usage: main.ts init|rotate|serve');
}

run().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
