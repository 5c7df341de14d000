import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Kafka, logLevel } from 'kafkajs';
import supertest from 'supertest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createReceiver } from '../../src/receiver.js';
import { federationFile } from '../helpers/federation.js';
import { FIXTURE_REPLAY_ENV, interfaceUpdate, signed } from '../helpers/fixtures.js';
import { randomPrefix } from '../helpers/kafka.js';
import { DEVICE_RULE, policyFile } from '../helpers/policy.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { secureBroker, type SecureBroker } from '../helpers/secure-broker.js';
import { dropStore, storeEnv } from '../helpers/store.js';
import { waitFor } from '../helpers/wait-for.js';

type Readiness = { status: string; checks: { kafka: { reachable: boolean; code?: string }; routes: Record<string, { code?: string }> } };

async function readiness(t: TestReceiver): Promise<Readiness> {
  return (await t.http.get('/readyz')).body as Readiness;
}

/** The first readiness answer that names why Kafka is unreachable. */
function notReadyReason(t: TestReceiver): Promise<Readiness> {
  return waitFor(
    async () => {
      const r = await readiness(t);
      return r.checks.kafka.code ? r : null;
    },
    30_000,
    'readiness naming a reason',
  );
}

/** A log destination that keeps what the receiver writes, as text. */
function textSink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

/** Posts one signed webhook (202) and waits until the broker acknowledged it: the event's id. */
async function publishOne(t: Pick<TestReceiver, 'http' | 'receiver'>, device: number, secret?: string, regions?: string[]): Promise<string> {
  const body = interfaceUpdate(device, device + 1, 1);
  if (regions) body.context = { unicop: { scope: { tenant: null, site: null, region: regions[0]!, regions } } };
  const { raw, signature } = signed(body, secret);
  const res = await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature });
  assert.equal(res.status, 202);
  await waitFor(() => t.receiver.store.depth() === 0, 30_000, 'the outbox drained to Kafka (acks -1)');
  return (res.body as { id: string }).id;
}

describe('Kafka over TLS and SASL (a real broker with SASL_SSL and mutual-TLS listeners)', function () {
  this.timeout(120_000);
  let broker: SecureBroker;
  /** What the receivers below published: read back at the end by one consumer (one group join, not one per test). */
  const published: { topic: string; id: string; key: string }[] = [];
  before(async () => {
    broker = await secureBroker();
  });
  after(async () => {
    await broker?.close();
  });

  /** The receiver's settings for the SASL_SSL listener (without KAFKA_BROKERS: saslEnv adds it). */
  const saslSecurity = (mechanism: string, password = broker.user.password): Record<string, string> => ({
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: broker.user.name,
    KAFKA_SASL_PASSWORD: password,
    KAFKA_SSL_CA_FILE: broker.certificates.ca,
  });
  const saslEnv = (mechanism: string, password?: string) => ({ KAFKA_BROKERS: broker.saslSsl, ...saslSecurity(mechanism, password) });

  // SCRAM-SHA-256 is the read-back client's mechanism (last test): all three reach the broker.
  it('publishes a signed webhook over SASL_SSL with SCRAM-SHA-512, and its reconciler consumes it over the same', async () => {
    const API = 'kafka-security-api-token-0001';
    const t = startTestReceiver({
      ...saslEnv('SCRAM-SHA-512'),
      UNICOP_RECONCILE_POLICY: policyFile([{ ...DEVICE_RULE, debounceMs: 0 }]),
      UNICOP_API_TOKENS: API,
    });
    try {
      // The state rebuild reads <prefix>.roots.state.v1 with a client of its own before the reconciler starts.
      await waitFor(() => t.receiver.reconciler?.rebuilding === false, 30_000, 'the state rebuild over SASL_SSL');
      published.push({ topic: t.topics.events, id: await publishOne(t, 101), key: 'dcim.device:101' });
      // The reconciler's consumer read the event back from Kafka and queued its command.
      const root = await waitFor(
        async () => {
          const res = await t.http.get('/v1/roots/dcim.device:101').set('authorization', `Bearer ${API}`);
          return res.status === 200 && (res.body as { inFlight: { reconcileId: string } | null }).inFlight ? res.body : null;
        },
        30_000,
        'a reconcile command for dcim.device:101',
      );
      await waitFor(() => t.receiver.store.depth() === 0, 30_000, 'the command published');
      const commands = t.topics.events.replace(/events\.v1$/, 'reconcile.requests.v1');
      published.push({ topic: commands, id: (root as { inFlight: { reconcileId: string } }).inFlight.reconcileId, key: 'dcim.device:101' });
      assert.equal((await readiness(t)).status, 'ready');
    } finally {
      await t.close();
    }
  });

  it('publishes a signed webhook over SASL_SSL with PLAIN', async () => {
    const t = startTestReceiver(saslEnv('PLAIN'));
    try {
      published.push({ topic: t.topics.events, id: await publishOne(t, 102), key: 'dcim.device:102' });
      assert.equal((await readiness(t)).status, 'ready');
    } finally {
      await t.close();
    }
  });

  it("applies the same settings to every route's cluster of a federation file", async () => {
    const secret = 'nb-secure-webhook-secret-0001';
    const [prefixA, prefixB] = [randomPrefix(), randomPrefix()];
    const file = federationFile({
      cell: 'eu',
      sources: [{ name: 'nb', secrets: [secret] }],
      owners: [{ scope: '*', cell: 'eu' }],
      routes: [
        { scope: { regions: ['emea'] }, brokers: broker.saslSsl, topicPrefix: prefixA, name: 'a' },
        { scope: '*', brokers: broker.saslSsl, topicPrefix: prefixB, name: 'b' },
      ],
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'unicop-kafka-federation-'));
    const config = loadConfig({
      UNICOP_FEDERATION: file,
      ...saslSecurity('SCRAM-SHA-512'),
      ...storeEnv(dataDir),
      UNICOP_TOPIC_PARTITIONS: '3',
      UNICOP_LOG_LEVEL: 'silent',
      ...FIXTURE_REPLAY_ENV,
    });
    const receiver = createReceiver(config, createLogger(config.logLevel));
    try {
      const t = { http: supertest(receiver.app), receiver };
      published.push({ topic: `${prefixA}.events.v1`, id: await publishOne(t, 104, secret, ['de', 'emea']), key: 'dcim.device:104' });
      published.push({ topic: `${prefixB}.events.v1`, id: await publishOne(t, 105, secret, ['us-east', 'amer']), key: 'dcim.device:105' });
      assert.ok(
        [...receiver.relays.values()].every((r) => r.reachable),
        'both routes reach their cluster',
      );
    } finally {
      await receiver.stop(2000);
      rmSync(dataDir, { recursive: true, force: true });
      dropStore(dataDir);
    }
  });

  it('publishes over SSL with a client certificate to a listener that requires one', async () => {
    const t = startTestReceiver({
      KAFKA_BROKERS: broker.ssl,
      KAFKA_SECURITY_PROTOCOL: 'SSL',
      KAFKA_SSL_CA_FILE: broker.certificates.ca,
      KAFKA_SSL_CERT_FILE: broker.certificates.clientCert,
      KAFKA_SSL_KEY_FILE: broker.certificates.clientKey,
    });
    try {
      published.push({ topic: t.topics.events, id: await publishOne(t, 103), key: 'dcim.device:103' });
    } finally {
      await t.close();
    }
  });

  it('is not ready, with a TLS error, when the configured CA did not sign the broker certificate', async () => {
    const log = textSink();
    const t = startTestReceiver({ ...saslEnv('SCRAM-SHA-512'), KAFKA_SSL_CA_FILE: broker.certificates.otherCa, UNICOP_LOG_LEVEL: 'warn' }, { log: log.stream });
    try {
      const ready = await notReadyReason(t);
      assert.equal(ready.status, 'not_ready');
      assert.equal(ready.checks.kafka.code, 'UNICOP_PUBLISH_KAFKA_TLS_FAILED');
      assert.equal(ready.checks.routes.default?.code, 'UNICOP_PUBLISH_KAFKA_TLS_FAILED');
    } finally {
      await t.close();
    }
    // which check failed, for the operator: the broker's chain does not lead to the configured CA
    assert.match(log.text(), /"code":"UNICOP_PUBLISH_KAFKA_TLS_FAILED","socket":"UNABLE_TO_VERIFY_LEAF_SIGNATURE"/);
  });

  it('is not ready, with an authentication error, for a wrong password, and never logs the password', async () => {
    const password = `LEAKMARKER-${randomUUID()}`;
    const log = textSink();
    // Debug level: everything the receiver and kafkajs (through it) would write, from both threads.
    const t = startTestReceiver({ ...saslEnv('SCRAM-SHA-512', password), UNICOP_LOG_LEVEL: 'debug' }, { log: log.stream });
    try {
      const ready = await notReadyReason(t);
      assert.equal(ready.status, 'not_ready');
      assert.equal(ready.checks.kafka.code, 'UNICOP_PUBLISH_KAFKA_AUTHENTICATION_FAILED');
    } finally {
      await t.close();
    }
    const output = log.text();
    assert.match(output, /"code":"UNICOP_PUBLISH_KAFKA_AUTHENTICATION_FAILED"/, 'the log names the failure by its code');
    assert.match(output, /authentication failed/i, "the log keeps kafkajs' reason");
    const leaks = output.split('\n').filter((line) => line.includes('LEAKMARKER'));
    assert.deepEqual(leaks, [], 'the password reached the log');
  });

  it('every event published above reads back over SASL_SSL (SCRAM-SHA-256), with its key', async () => {
    assert.equal(published.length, 6, 'the publishing tests above ran');
    const kafka = new Kafka({
      clientId: 'unicop-test',
      brokers: [broker.saslSsl],
      logLevel: logLevel.NOTHING,
      ssl: { ca: [readFileSync(broker.certificates.ca, 'utf8')] },
      sasl: { mechanism: 'scram-sha-256', username: broker.user.name, password: broker.user.password },
    });
    const consumer = kafka.consumer({ groupId: `unicop-test-${randomUUID()}` });
    const keys = new Map<string, string>();
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: published.map((p) => p.topic), fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => void keys.set(message.headers?.message_uuid?.toString() ?? '', message.key?.toString() ?? ''),
      });
      await waitFor(() => published.every((p) => keys.has(p.id)), 30_000, 'the published events');
    } finally {
      await consumer.disconnect();
    }
    for (const p of published) assert.equal(keys.get(p.id), p.key, p.topic);
  });
});
