import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { loadConfig, secretValues, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createReceiver, type Receiver, type ReceiverOptions } from '../../src/receiver.js';
import { BROKERS, randomPrefix } from './kafka.js';
import { FIXTURE_REPLAY_ENV, NEXT_SECRET, TEST_SECRET } from './fixtures.js';
import { assertDataDirMessagesValid, assertOutboxMessagesValid } from './message-schemas.js';
import { dropStore, storeEnv, TEST_STORE } from './store.js';

export interface TestReceiver {
  receiver: Receiver;
  config: Config;
  http: ReturnType<typeof supertest>;
  topics: { events: string; rejected: string; audit: string };
  close(): Promise<void>;
}

/**
 * The settings of a receiver process (`spawnReceiver`) in tests: real Kafka, the test secret, the data dir
 * and topic prefix given, 3 partitions, warn logs, the fixtures' replay window; `overrides` on top.
 */
export function processEnv(dataDir: string, prefix: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: BROKERS.join(','),
    UNICOP_WEBHOOK_SECRETS: TEST_SECRET,
    ...(overrides.UNICOP_DATABASE_URL ? { UNICOP_DATA_DIR: dataDir } : storeEnv(dataDir)),
    UNICOP_TOPIC_PREFIX: prefix,
    UNICOP_TOPIC_PARTITIONS: '3',
    UNICOP_LOG_LEVEL: 'warn',
    ...FIXTURE_REPLAY_ENV,
    ...overrides,
  };
}

/**
 * A whole receiver (real SQLite in a temp dir or its own PostgreSQL database: helpers/store.ts, real Kafka, random topic prefix) without a port.
 * `options.log` receives its log lines (at debug level unless the environment sets another).
 */
export function startTestReceiver(env: Record<string, string> = {}, options: ReceiverOptions & { log?: NodeJS.WritableStream } = {}): TestReceiver {
  const dataDir = mkdtempSync(join(tmpdir(), 'unicop-test-'));
  const prefix = randomPrefix();
  const config = loadConfig({
    KAFKA_BROKERS: BROKERS.join(','),
    UNICOP_WEBHOOK_SECRETS: `${TEST_SECRET},${NEXT_SECRET}`,
    ...storeEnv(dataDir),
    UNICOP_TOPIC_PREFIX: prefix,
    UNICOP_TOPIC_PARTITIONS: '3',
    UNICOP_LOG_LEVEL: process.env.UNICOP_TEST_LOG_LEVEL ?? (options.log ? 'debug' : 'silent'),
    ...FIXTURE_REPLAY_ENV,
    ...env,
  });
  const receiver = createReceiver(config, createLogger(config.logLevel, options.log, secretValues(config)), options);
  return {
    receiver,
    config,
    http: supertest(receiver.app),
    topics: { events: `${prefix}.events.v1`, rejected: `${prefix}.rejected.v1`, audit: `${prefix}.audit.v1` },
    /** Stops the receiver and checks every message it queued for Kafka against its schema (`dataschema`). */
    async close() {
      if (TEST_STORE === 'postgres') assertOutboxMessagesValid(receiver.db);
      await receiver.stop(2000);
      try {
        if (TEST_STORE === 'sqlite') assertDataDirMessagesValid(dataDir);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
        dropStore(dataDir);
      }
    },
  };
}

/**
 * POSTs the exact bytes (superagent would re-serialize a Buffer sent as application/json, which
 * breaks the signature): the identity serializer keeps them as they are. To the webhook endpoint
 * unless `path` names another.
 */
export function postRaw(t: Pick<TestReceiver, 'http'>, raw: Buffer, headers: Record<string, string | undefined>, path = '/v1/netbox/webhooks') {
  let req = t.http.post(path).serialize((body: unknown) => body as string);
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) req = req.set(name, value);
  return req.send(raw as unknown as string);
}
