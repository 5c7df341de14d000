import { once } from 'node:events';
import type { Server } from 'node:http';
import { loadConfig, secretValues } from './config.js';
import { isUnicopError } from './errors.js';
import { createLogger } from './log.js';
import { loadFederation } from './federation/federation.js';
import { createReceiver } from './receiver.js';
import { SchemaRegistry } from './schema-registry.js';

/** Seconds the relay may keep publishing after SIGTERM before the process exits. */
const DRAIN_MS = 10_000;

async function run(): Promise<void> {
  const config = loadConfig(process.env);
  // Read before the logger exists: the file's secrets and tokens are scrubbed from every line too.
  const federation = loadFederation(config, new SchemaRegistry());
  const log = createLogger(config.logLevel, undefined, [...secretValues(config), ...federation.secrets]);
  const receiver = createReceiver(config, log, { federation });
  const server: Server = receiver.app.listen(config.port, config.host);
  await once(server, 'listening');
  const address = server.address();
  const routes = federation.routes.map((r) => ({ route: r.name, brokers: r.brokers, topicPrefix: r.topicPrefix }));
  log.info({ address, routes, dataDir: config.dataDir }, 'receiver listening');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: new webhooks get 503, draining the relay');
    const { unpublished } = await receiver.stop(DRAIN_MS);
    server.close();
    server.closeAllConnections();
    log.info(
      { unpublished },
      unpublished === 0
        ? 'stopped; outbox empty'
        : unpublished === null
          ? 'stopped; the store could not say what is unpublished'
          : 'stopped; unpublished events stay in the outbox',
    );
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // The IAM policy is reread in place; a bad file keeps the policy in force (logged, counted, audited).
  process.on('SIGHUP', () => {
    if (receiver.reloadIamPolicy() === null) log.warn({ signal: 'SIGHUP' }, 'SIGHUP ignored: no UNICOP_IAM_POLICY to reload');
  });
}

run().catch((error: unknown) => {
  const detail = isUnicopError(error) ? { code: error.code, details: error.details } : { err: error };
  // The logger may not exist yet (bad config), so the failure goes to stderr as one JSON line.
  process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: (error as Error).message, ...detail })}\n`);
  process.exit(1);
});
