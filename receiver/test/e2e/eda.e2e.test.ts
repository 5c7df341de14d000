/**
 * End to end for the EDA leg: reconcile command on Kafka → real ansible-rulebook (scripts/eda: PyPI venv,
 * Java 17, eda/rulebooks/unicop.yml + the source unicop.eda.unicop_kafka from the built and installed collection
 * eda/collection/) → run_job_template → AWX API double
 * (receiver/test/helpers/awx-double.ts) → AWX's default webhook notification to a local collector.
 *
 * Needs a running Kafka at KAFKA_BROKERS (scripts/kafka up). It FAILS, never skips, when Kafka is
 * unreachable or ansible-rulebook cannot be installed/started (`scripts/eda install` runs first; it is a
 * no-op once var/eda/venv exists, ~1-2 min from PyPI on a fresh machine).
 * Run: KAFKA_BROKERS=127.0.0.1:9092 npx mocha --timeout 900000 receiver/test/e2e/eda.e2e.test.ts
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { AwxDouble, type LaunchRecord } from '../helpers/awx-double.js';
import { edaEnvironment, rulebookLog, runEda } from '../helpers/eda.js';
import { BROKERS, kafka, randomPrefix, sleep } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait-for.js';

const REPO = new URL('../../../', import.meta.url).pathname;
const SCHEMA = JSON.parse(readFileSync(new URL('schemas/reconcile-command.v1.schema.json', `file://${REPO}`), 'utf8')) as object;
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormatsPlugin as unknown as (a: Ajv2020) => void)(ajv);
const validateCommand = ajv.compile(SCHEMA);

const TEMPLATE = { name: 'unicop-reconcile-device', organization: 'UNICOP' };
const AWX_TOKEN = `awx-${randomUUID()}`;
const NOTIFY_TOKEN = `notify-${randomUUID()}`;
const JOB_MS = 2000;

interface Notification {
  authorization: string | undefined;
  userAgent: string | undefined;
  body: Record<string, unknown>;
}

/** Stands in for the receiver's POST /v1/awx/notifications: records what AWX's webhook sends. */
async function startCollector(): Promise<{ url: string; received: Notification[]; close: () => Promise<void> }> {
  const received: Notification[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      received.push({ authorization: req.headers.authorization, userAgent: req.headers['user-agent'], body: JSON.parse(raw) as Record<string, unknown> });
      res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/awx/notifications`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function command(root: string, attempt = 1): { id: string; value: Record<string, unknown> } {
  const id = randomUUID();
  const [rootType = '', rootId = '0'] = root.split(':');
  const value = {
    specversion: '1.0',
    id,
    source: 'unicop://e2e',
    type: 'unicop.reconcile.command',
    subject: root,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    dataschema: 'https://unicop.dev/schemas/reconcile-command.v1.schema.json',
    data: {
      reconcileId: id,
      root,
      attempt,
      jobTemplate: TEMPLATE,
      triggeringEvents: [randomUUID()],
      deadline: new Date(Date.now() + 600_000).toISOString(),
      extraVars: {
        unicop_reconcile_id: id,
        unicop_root: root,
        unicop_attempt: attempt,
        unicop_root_type: rootType,
        unicop_root_id: Number(rootId),
        unicop_events: [randomUUID()],
      },
    },
  };
  assert.ok(validateCommand(value), `command is schema-valid: ${ajv.errorsText(validateCommand.errors)}`);
  return { id, value };
}

describe('reconcile command → ansible-rulebook (real) → AWX double (real Kafka)', function () {
  this.timeout(900_000);
  const prefix = randomPrefix();
  const topic = `${prefix}.reconcile.requests.v1`;
  const dataDir = mkdtempSync(join(tmpdir(), 'unicop-eda-e2e-'));
  const awx = new AwxDouble({
    token: AWX_TOKEN,
    templates: [TEMPLATE, { name: 'some-other-template', organization: 'UNICOP' }],
    pendingMs: 100,
    runMs: JOB_MS,
  });
  const producer = kafka.producer();
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let edaEnv: NodeJS.ProcessEnv;
  let failed = false;

  const eda = (action: 'install' | 'up' | 'down') => runEda(action, edaEnv);

  async function produce(...commands: Array<{ id: string; value: Record<string, unknown> }>): Promise<void> {
    await producer.send({
      topic,
      acks: -1,
      messages: commands.map((c) => {
        const root = String(c.value.subject);
        return {
          key: root,
          value: JSON.stringify(c.value),
          headers: { 'content-type': 'application/cloudevents+json; charset=UTF-8', message_uuid: c.id },
        };
      }),
    });
  }

  function launchesOf(ids: string[]): LaunchRecord[] {
    return awx.launches().filter((l) => ids.includes(String(l.extraVars.unicop_reconcile_id)));
  }

  before(async function () {
    this.timeout(900_000);
    // Kafka: fail with a clear message when it is not there
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    } catch (error) {
      throw new Error(`Kafka at ${BROKERS.join(',')} is not reachable (scripts/kafka up; export KAFKA_BROKERS): ${String(error)}`, { cause: error });
    } finally {
      await admin.disconnect();
    }
    await producer.connect();

    collector = await startCollector();
    awx.setNotification({ url: collector.url, headers: { Authorization: `Bearer ${NOTIFY_TOKEN}` } });
    const awxUrl = await awx.start();
    edaEnv = edaEnvironment({ awxUrl, awxToken: AWX_TOKEN, prefix, dataDir, templateRefreshDelay: '0.2', shutdownDelay: '15' });
    await eda('install');
    await eda('up');
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    this.timeout(120_000);
    if (failed) console.error(`--- ansible-rulebook log (${dataDir}/rulebook.log) ---\n${rulebookLog(dataDir)}`);
    if (edaEnv) await eda('down').catch((error: unknown) => console.error(String(error)));
    await producer.disconnect().catch(() => undefined);
    await awx.stop();
    await collector?.close();
    if (!failed) rmSync(dataDir, { recursive: true, force: true });
  });

  it('launches the named template once, with every extra var, the event uuid label, and AWX notifies', async () => {
    const root = 'dcim.device:4242';
    const c = command(root);
    const t0 = Date.now();
    await produce(c);

    await waitFor(() => launchesOf([c.id]).length === 1, 60_000, 'the launch on the AWX double');
    const launchLatencyMs = (launchesOf([c.id])[0]?.launchedAt ?? 0) - t0;
    await waitFor(() => collector.received.some((n) => n.body.id === launchesOf([c.id])[0]?.jobId), 30_000, 'the AWX notification');
    await sleep(1500); // a duplicate launch would show up here
    const launches = launchesOf([c.id]);
    assert.equal(launches.length, 1, 'exactly one launch');
    const launch = launches[0]!;
    assert.equal(launch.templateName, TEMPLATE.name);
    assert.equal(launch.organization, TEMPLATE.organization);
    assert.equal(awx.launches().filter((l) => l.templateName === 'some-other-template').length, 0);

    // every key of data.extraVars, with its JSON type (the dict is passed natively, not as a string)
    const extraVars = (c.value.data as { extraVars: Record<string, unknown> }).extraVars;
    for (const [k, v] of Object.entries(extraVars)) assert.deepEqual(launch.extraVars[k], v, `extra var ${k}`);
    assert.equal(typeof launch.extraVars.unicop_attempt, 'number');
    // ansible-rulebook adds ansible_eda with the event; meta.uuid = message_uuid = reconcile id; meta.kafka = key etc.
    const eda = launch.extraVars.ansible_eda as { rule: string; event: { meta: { uuid: string; kafka: Record<string, unknown> } } };
    assert.equal(eda.rule, 'reconcile command');
    assert.equal(eda.event.meta.uuid, c.id);
    assert.equal(eda.event.meta.kafka.key, root);
    assert.equal(eda.event.meta.kafka.topic, topic);
    assert.equal(typeof eda.event.meta.kafka.offset, 'number');
    assert.ok(launch.labels.includes(`eda-event-uuid-${c.id}`), `label eda-event-uuid-<id> in ${JSON.stringify(launch.labels)}`);

    // AWX's default webhook body: extra_vars is a JSON string carrying the reconcile id
    const note = collector.received.find((n) => n.body.id === launch.jobId)!;
    assert.equal(note.authorization, `Bearer ${NOTIFY_TOKEN}`);
    assert.match(note.userAgent ?? '', /^AWX /);
    assert.equal(note.body.status, 'successful');
    assert.equal(typeof note.body.extra_vars, 'string');
    assert.equal((JSON.parse(note.body.extra_vars as string) as Record<string, unknown>).unicop_reconcile_id, c.id);
    for (const k of [
      'id',
      'name',
      'url',
      'created_by',
      'started',
      'finished',
      'status',
      'traceback',
      'inventory',
      'project',
      'playbook',
      'credential',
      'limit',
      'extra_vars',
      'hosts',
    ]) {
      assert.ok(k in note.body, `notification has ${k}`);
    }
    console.log(`      command produced → AWX launch: ${launchLatencyMs} ms`);
  });

  it('two roots run at the same time; one root never twice at once (lock per root)', async () => {
    const a = 'dcim.device:101';
    const b = 'dcim.device:202';
    const a1 = command(a, 1);
    const a2 = command(a, 2);
    const b1 = command(b, 1);
    await produce(a1, b1, a2);
    const ids = [a1.id, a2.id, b1.id];
    await waitFor(() => launchesOf(ids).filter((l) => l.finishedAt !== null).length === 3, 90_000, 'three finished jobs');
    await sleep(1500);
    const launches = launchesOf(ids);
    assert.equal(launches.length, 3, 'exactly three launches');
    const byId = (id: string): LaunchRecord => launches.find((l) => l.extraVars.unicop_reconcile_id === id)!;
    const [la1, la2, lb1] = [byId(a1.id), byId(a2.id), byId(b1.id)];

    // root a: the second command waits until ansible-rulebook saw the first job finish
    assert.ok(la1.launchedAt < la2.launchedAt, 'root a launched in command order');
    assert.ok(la2.launchedAt >= la1.finishedAt!, `root a never overlaps: a2 launched ${la2.launchedAt - la1.finishedAt!} ms after a1 finished`);
    // roots a and b: overlapping jobs
    const overlap = Math.min(la1.finishedAt!, lb1.finishedAt!) - Math.max(la1.launchedAt, lb1.launchedAt);
    assert.ok(overlap > JOB_MS / 2, `a1 and b1 ran concurrently (overlap ${overlap} ms)`);
    console.log(`      a1 ‖ b1 overlap ${overlap} ms; a2 started ${la2.launchedAt - la1.finishedAt!} ms after a1 finished`);
  });

  it('after a restart with the same group id, committed commands are not launched again', async () => {
    const before = awx.launches().length;
    await eda('down');
    await eda('up');
    await sleep(5000); // the restarted consumer has joined its group; anything redelivered is launched by now
    assert.equal(
      awx.launches().length,
      before,
      `no relaunch after the restart: ${JSON.stringify(
        awx
          .launches()
          .slice(before)
          .map((l) => l.extraVars.unicop_reconcile_id),
      )}`,
    );

    // and the restarted consumer is live: a new command is launched exactly once
    const c = command('dcim.device:303');
    await produce(c);
    await waitFor(() => launchesOf([c.id]).length === 1, 60_000, 'the launch after the restart');
    await sleep(1500);
    assert.equal(awx.launches().length, before + 1, 'only the new command was launched');
  });
});
