import { once } from 'node:events';
import { loadConfig, secretValues } from './config.js';
import { isUnicopError } from './errors.js';
import { createLogger } from './log.js';
import { loadFederation } from './federation/federation.js';
import { createListener } from './listener/listener.js';
import { readTlsMaterial, tlsFiles } from './listener/tls-material.js';
import { createReceiver } from './receiver.js';
import { SchemaRegistry } from './schema-registry.js';

/** Seconds the relay may keep publishing after SIGTERM before the process exits. */
const DRAIN_MS = 10_000;

async function run(): Promise<void> {
  const config = loadConfig(process.env);
  // Read before the logger exists: the file's secrets and tokens are scrubbed from every line too.
  const federation = loadFederation(config, new SchemaRegistry());
  const log = createLogger(config.logLevel, undefined, [...secretValues(config), ...federation.secrets]);
  // Read before the store opens: a bad certificate or key stops start-up, touching nothing.
  const files = tlsFiles(config);
  const tls = files && { files, material: readTlsMaterial(files) };
  const receiver = createReceiver(config, log, { federation });
  const listener = createListener({ handler: receiver.app, tls, metrics: receiver.metrics.tls, log: log.child({ stage: 'listener' }) });
  const server = listener.server.listen(config.port, config.host);
  await once(server, 'listening');
  const address = server.address();
  const routes = federation.routes.map((r) => ({ route: r.name, brokers: r.brokers, topicPrefix: r.topicPrefix }));
  log.info(
    { address, scheme: listener.scheme, clientCertificates: files !== null && files.clientCaFile !== null, routes, dataDir: config.dataDir },
    'receiver listening',
  );

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
  // SIGHUP rereads the IAM policy and the TLS files in place; a bad file keeps what is in force
  // (logged, counted) and never stops the process.
  process.on('SIGHUP', () => {
    const iam = receiver.reloadIamPolicy();
    const tlsReloaded = listener.reloadTls();
    if (iam === null && tlsReloaded === null) {
      log.warn({ signal: 'SIGHUP' }, 'SIGHUP ignored: no UNICOP_IAM_POLICY or UNICOP_TLS_CERT_FILE to reload');
    }
  });
}

run().catch((error: unknown) => {
  const detail = isUnicopError(error) ? { code: error.code, details: error.details } : { err: error };
  // The logger may not exist yet (bad config), so the failure goes to stderr as one JSON line.
  process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: (error as Error).message, ...detail })}\n`);
  process.exit(1);
});
