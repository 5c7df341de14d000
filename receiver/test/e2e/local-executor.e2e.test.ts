/**
 * The local executor (no AWX): signed NetBox webhook → receiver → Kafka → reconciler → reconcile command →
 * REAL ansible-rulebook (scripts/eda up without AWX_URL: eda/rulebooks/unicop-local.yml) → run_playbook →
 * eda/executor/unicop_local_run.py → ansible-runner → the command's playbook → POST /v1/awx/notifications
 * (AWX's body + the `unicop` extension) → outcome on the outcomes topic and GET /v1/roots/{root}.
 *
 * NetBox is a small fake HTTP server here (the sample playbook only reads /api/dcim/interfaces/); the real
 * NetBox with this executor is driven by the browser test. Needs KAFKA_BROKERS; FAILS, never skips,
 * without Kafka or ansible-rulebook.
 */
import { strict as assert } from 'node:assert';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { localEdaEnvironment, runEda } from '../helpers/eda.js';
import { fixture, interfaceUpdate, signed } from '../helpers/fixtures.js';
import { listen, postWebhook } from '../helpers/http.js';
import { consume, kafka } from '../helpers/kafka.js';
import { policyFile } from '../helpers/policy.js';
import { startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';
import type { JsonObject } from '../../src/model/netbox-webhook.js';

const REPO = new URL('../../../', import.meta.url).pathname;
const NOTIFY = 'unicop-e2e-local-notify-0123456789';
const API = 'unicop-e2e-local-api-0123456789';
const NETBOX_TOKEN = 'unicop-e2e-fake-netbox-token-0123';
const HANG_MARKER = `3599.${Math.floor(Math.random() * 1e6)}`;
const org = 'local';

/** A NetBox 4.7 `updated` webhook of `objectType` (its own root) with id `id`, version `n`. */
function objectUpdate(objectType: string, id: number, n: number): JsonObject {
  const body = structuredClone(fixture('4.7', objectType, 'updated').body) as JsonObject & { data: JsonObject; request?: JsonObject };
  body.data = { ...body.data, id, last_updated: new Date(Date.UTC(2026, 1, 1) + n * 1000).toISOString().replace('Z', '000+00:00') };
  body.request = { ...(body.request ?? {}), id: randomUUID() };
  return body;
}

/** Just enough of NetBox's REST API for render-interfaces: interfaces of device 701, token checked. */
function fakeNetbox(): Promise<{ url: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.headers.authorization !== `Token ${NETBOX_TOKEN}`) return void res.writeHead(403).end('{"detail":"Invalid token"}');
    if (url.pathname !== '/api/dcim/interfaces/') return void res.writeHead(404).end('{}');
    const results =
      url.searchParams.get('device_id') === '701'
        ? [
            {
              id: 1,
              name: 'eth0',
              enabled: true,
              mtu: 9000,
              description: 'uplink',
              mode: null,
              untagged_vlan: null,
              primary_mac_address: { mac_address: '02:00:00:00:07:01' },
            },
            {
              id: 2,
              name: 'eth1',
              enabled: false,
              mtu: null,
              description: '',
              mode: { value: 'access' },
              untagged_vlan: { vid: 42 },
              primary_mac_address: null,
            },
          ]
        : [];
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: results.length, next: null, previous: null, results }));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server })),
  );
}

/** Processes whose command line contains one of `markers` (the hanging playbook's ansible-playbook and its sleep). */
function processesWith(...markers: string[]): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (markers.some((m) => cmd.includes(m)) && Number(pid) !== process.pid) found.push(`${pid}: ${cmd.slice(0, 160)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe('local executor: webhook → reconciler → ansible-rulebook run_playbook → outcome (no AWX)', function () {
  this.timeout(900_000);
  const work = mkdtempSync(join(tmpdir(), 'unicop-local-e2e-'));
  const playbooks = join(work, 'playbooks');
  const rendered = join(work, 'rendered');
  const edaData = join(work, 'eda');
  let t: TestReceiver;
  let server: Awaited<ReturnType<typeof listen>>;
  let netbox: Awaited<ReturnType<typeof fakeNetbox>>;
  let edaEnv: NodeJS.ProcessEnv;
  let prefix: string;

  async function post(body: JsonObject): Promise<void> {
    const { raw, signature } = signed(body);
    const res = await postWebhook(server.url, raw, signature);
    assert.equal(res.status, 202);
  }

  type Root = {
    state: string;
    attempt: number;
    inFlight: { reconcileId: string } | null;
    lastOutcome: { reconcileId: string; result: string; class: string | null; message: string; awxJobId: number | null } | null;
  };
  async function root(key: string): Promise<Root> {
    const res = await t.http.get(`/v1/roots/${encodeURIComponent(key)}`).set('authorization', `Bearer ${API}`);
    return res.body as Root;
  }
  /** Waits for `state`; a root that ends in another state fails at once, with its outcome. */
  async function ended(key: string, state: string, ms: number): Promise<Root> {
    const r = await waitFor(
      async () => {
        const now = await root(key);
        return ['succeeded', 'failed', 'timed_out'].includes(now.state) ? now : null;
      },
      ms,
      `${key} to end`,
    );
    assert.equal(r.state, state, JSON.stringify(r.lastOutcome));
    return r;
  }

  before(async function () {
    const started = Date.now();
    mkdirSync(playbooks);
    copyFileSync(join(REPO, 'eda/playbooks/render-interfaces.yml'), join(playbooks, 'render-interfaces.yml'));
    writeFileSync(
      join(playbooks, 'fails.yml'),
      [
        '- hosts: localhost',
        '  gather_facts: false',
        '  tasks:',
        '    - name: a task that works',
        '      ansible.builtin.debug: {msg: ok}',
        '    - name: push the config',
        '      ansible.builtin.fail: {msg: "switch refused the config for {{ unicop_root }}"}',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(playbooks, 'hangs.yml'),
      ['- hosts: localhost', '  gather_facts: false', '  tasks:', '    - name: hang', `      ansible.builtin.command: sleep ${HANG_MARKER}`, ''].join('\n'),
    );
    netbox = await fakeNetbox();
    t = startTestReceiver({
      UNICOP_RECONCILE_POLICY: policyFile([
        { match: { rootType: 'dcim.device' }, jobTemplate: { name: 'render-interfaces', organization: org }, debounceMs: 200, deadlineMs: 90_000 },
        { match: { rootType: 'dcim.site' }, jobTemplate: { name: 'fails', organization: org }, debounceMs: 200, deadlineMs: 90_000 },
        { match: { rootType: 'ipam.prefix' }, jobTemplate: { name: 'hangs', organization: org }, debounceMs: 200, deadlineMs: 20_000 },
        { match: { rootType: 'ipam.vlan' }, jobTemplate: { name: 'no-such-playbook', organization: org }, debounceMs: 200, deadlineMs: 90_000 },
      ]),
      UNICOP_AWX_NOTIFY_TOKEN: NOTIFY,
      UNICOP_API_TOKENS: API,
    });
    server = await listen(t.receiver.app);
    prefix = t.topics.events.replace(/\.events\.v1$/, '');
    const admin = kafka.admin();
    await admin.connect();
    await waitFor(async () => (await admin.listTopics()).includes(`${prefix}.reconcile.requests.v1`), 60_000, 'topics created by the receiver');
    await admin.disconnect();
    const tokenFile = join(work, 'notify-token');
    writeFileSync(tokenFile, NOTIFY, { mode: 0o600 });
    edaEnv = localEdaEnvironment({
      prefix,
      dataDir: edaData,
      receiverUrl: server.url,
      notifyTokenFile: tokenFile,
      playbookDir: playbooks,
      renderDir: rendered,
      netboxUrl: netbox.url,
      netboxToken: NETBOX_TOKEN,
      shutdownDelay: '5',
    });
    await runEda('install', edaEnv);
    const up = await runEda('up', edaEnv);
    assert.match(up, /local executor/);
    console.log(`      set-up (receiver, ansible-rulebook with the local executor): ${Date.now() - started} ms`);
  });

  after(async () => {
    await runEda('down', edaEnv).catch(() => undefined);
    await server?.close();
    await t?.close();
    await new Promise((resolve) => netbox?.server.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  it('runs the sample playbook: the device’s interfaces from NetBox rendered into <root>.conf, succeeded, outcome on Kafka', async () => {
    const posted = Date.now();
    await post(interfaceUpdate(701, 7001, 1));
    const state = await ended('dcim.device:701', 'succeeded', 120_000);
    console.log(`      change → succeeded: ${Date.now() - posted} ms`);
    assert.equal(state.lastOutcome?.awxJobId, null);
    assert.match(state.lastOutcome?.message ?? '', /^local run successful/);
    const conf = readFileSync(join(rendered, 'dcim.device-701.conf'), 'utf8');
    assert.match(conf, /^interface eth0\n {2}no shutdown\n {2}description uplink\n {2}mtu 9000\n {2}mac-address 02:00:00:00:07:01$/m);
    assert.match(conf, /^interface eth1\n {2}shutdown\n {2}switchport mode access\n {2}switchport access vlan 42$/m);
    assert.ok(
      netbox.requests.some((r) => r.startsWith('/api/dcim/interfaces/?device_id=701')),
      'read from NetBox',
    );
    const outcomes = await consume(`${prefix}.reconcile.outcomes.v1`, 1, { settleMs: 200 });
    const mine = outcomes.find((outcome) => (outcome.value.data as { reconcileId?: string }).reconcileId === state.lastOutcome?.reconcileId);
    assert.equal(mine?.key, 'dcim.device:701');
    assert.equal((mine?.value.data as { result?: string }).result, 'succeeded');
  });

  it('reports a failing playbook as failed/execution naming the failed task and its message', async () => {
    await post(objectUpdate('dcim.site', 702, 2));
    const state = await ended('dcim.site:702', 'failed', 120_000);
    assert.equal(state.lastOutcome?.class, 'execution', state.lastOutcome?.message);
    assert.match(state.lastOutcome?.message ?? '', /task 'push the config' failed on localhost: switch refused the config for dcim\.site:702/);
  });

  it('reports a missing playbook as failed/config', async () => {
    await post(objectUpdate('ipam.vlan', 704, 4));
    const state = await ended('ipam.vlan:704', 'failed', 120_000);
    assert.equal(state.lastOutcome?.class, 'config');
    assert.match(state.lastOutcome?.message ?? '', /no-such-playbook\.yml not found/);
  });

  it('stops a hanging playbook at the deadline: timed_out, and no ansible-playbook of it is left', async () => {
    const posted = Date.now();
    await post(objectUpdate('ipam.prefix', 703, 3));
    const hang = [HANG_MARKER, join(playbooks, 'hangs.yml')];
    await waitFor(() => processesWith(HANG_MARKER).length > 0 && processesWith(join(playbooks, 'hangs.yml')).length > 0, 60_000, 'the hanging playbook to run');
    const state = await ended('ipam.prefix:703', 'timed_out', 60_000);
    console.log(`      change → timed_out: ${Date.now() - posted} ms (deadline 20 s after the command)`);
    assert.equal(state.lastOutcome?.class, 'timeout');
    await waitFor(() => processesWith(...hang).length === 0, 30_000, 'the hanging run to be stopped').catch((e: Error) => {
      throw new Error(`${e.message}; left: ${processesWith(...hang).join('; ')}`);
    });
    console.log(`      change → run stopped: ${Date.now() - posted} ms`);
    assert.ok(!existsSync(join(rendered, 'ipam.prefix-703.conf')));
  });
});
