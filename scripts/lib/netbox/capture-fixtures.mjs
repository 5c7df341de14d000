#!/usr/bin/env node
// Captures the NetBox 4.7 webhook fixtures (receiver/test/fixtures/netbox-4.7/) from a real NetBox started by
// `scripts/netbox up`. Run it with the same environment as that `up` (NETBOX_DATA_DIR at least):
//
//   NETBOX_DATA_DIR=/tmp/nb-capture node scripts/lib/netbox/capture-fixtures.mjs
//
// What it does, in order:
//   1. starts a loopback HTTP server that records every request (raw body bytes + headers) and checks that
//      X-Hook-Signature is the HMAC-SHA512 of those bytes;
//   2. disables every enabled webhook event rule (e.g. the plugin's bootstrap rule `unicop`, so nothing depends on
//      a receiver running) and creates its own Webhook (JSON, empty body_template, a secret) + EventRule
//      `unicop-fixture-capture` (created/updated/deleted of the nine object types of the fixture folders);
//   3. stops the instance's rqworker and runs its own, with PLUGINS = [] (a configuration module that loads
//      <root>/conf/configuration.py and empties PLUGINS): NetBox's default body, no `context`. Webhook callbacks run
//      in the worker, so this is the clean switch: the web process (which serializes `data`) keeps the plugin;
//   4. deletes leftovers of the world, sets the id sequences so the world gets the hand-built ids (FIRST_IDS);
//   5. through the REST API, in the order of the hand-built timeline: builds the world (tenant, region, site,
//      VLAN, prefix, devices, interfaces, cable, IPs, cluster, VM, VM interface; tags and custom fields) and
//      updates each fixture object; then — with a worker that has the unicop_netbox plugin loaded — updates the
//      interface once more (`updated-with-context.json`); then deletes it all with the plugin-less worker again;
//   6. picks for every fixture the one delivery caused by the API call that made the change (method + path +
//      object id, after the call started and before the next phase), checks its signature, content type and
//      `context` (only in the with-context file), writes it re-indented (2 spaces; only the whitespace between
//      tokens changes: key order and every literal, e.g. the float `2.0`, stay as sent), and writes world.json
//      (ids, each folder's root, the cable's devices, the ObjectChange id the plugin should report, headers);
//   7. always: removes its Webhook/EventRule and the world's supporting objects, re-enables the rules it disabled,
//      stops its worker and restarts the instance's rqworker (as scripts/netbox does) if one was running.
//
// The world uses fixed names (tenant `acme`, site `dc1`, devices `leaf-01`/`leaf-02`, ...): objects with these
// names are deleted first, so run it against a private instance, never a shared one. On such an instance every
// run gives the same ids (only timestamps, request ids and the changelog id change).
//
// Environment: NETBOX_DATA_DIR (default <repo>/var/netbox), NETBOX_URL / NETBOX_TOKEN (default: <data>/env),
// CAPTURE_OUT (default receiver/test/fixtures/netbox-4.7), CAPTURE_TIMEOUT_S (per phase, default 180).
import { spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const DATA_DIR = resolve(process.env.NETBOX_DATA_DIR || join(REPO, 'var/netbox'));
const OUT = resolve(process.env.CAPTURE_OUT || join(REPO, 'receiver/test/fixtures/netbox-4.7'));
const PHASE_TIMEOUT_MS = Number(process.env.CAPTURE_TIMEOUT_S || 180) * 1000;
const NETBOX_ROOT = join(DATA_DIR, 'root');
const NETBOX_BIN = join(DATA_DIR, 'venv/bin/netbox');
const INSTANCE_RQ_PID = join(DATA_DIR, 'run/rqworker.pid');
const NAME = 'unicop-fixture-capture';
const SECRET = 'unicop-fixture-capture-secret';
const OBJECT_TYPES = [
  'dcim.site', 'dcim.device', 'dcim.interface', 'dcim.cable', 'ipam.ipaddress', 'ipam.prefix', 'ipam.vlan',
  'virtualization.virtualmachine', 'virtualization.vminterface',
];

const log = (msg) => console.error(`capture: ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function envFile() {
  const file = join(DATA_DIR, 'env');
  if (!existsSync(file)) return {};
  return Object.fromEntries(
    readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}
const fromEnvFile = envFile();
const NETBOX_URL = (process.env.NETBOX_URL || fromEnvFile.NETBOX_URL || '').replace(/\/$/, '');
const NETBOX_TOKEN = process.env.NETBOX_TOKEN || fromEnvFile.NETBOX_TOKEN || '';

// ------------------------------------------------------------------------------------------------ REST API

async function api(method, path, body) {
  const res = await globalThis.fetch(`${NETBOX_URL}/api/${path}`, {
    method,
    headers: { authorization: `Bearer ${NETBOX_TOKEN}`, accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} /api/${path} → ${res.status}: ${text.slice(0, 2000)}`);
  return text ? JSON.parse(text) : null;
}
const list = async (path) => (await api('GET', `${path}${path.includes('?') ? '&' : '?'}limit=1000`)).results;

// ------------------------------------------------------------------------------------------- the recorder

function startRecorder() {
  const deliveries = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const expected = createHmac('sha512', SECRET).update(raw).digest();
      const given = Buffer.from(String(req.headers['x-hook-signature'] ?? ''), 'hex');
      const signatureOk = given.length === expected.length && timingSafeEqual(given, expected);
      let body = null;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        /* kept as null: reported below */
      }
      deliveries.push({ method: req.method, url: req.url, headers: req.headers, raw, body, signatureOk });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, deliveries, port: server.address().port })));
}

// --------------------------------------------------------------------------------------------- rq workers

function livePid(file, needle) {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2];
    return cmd.includes(needle) && state !== 'Z' ? pid : null;
  } catch {
    return null;
  }
}

async function stopGroup(pid, what) {
  log(`stopping ${what} (pid ${pid})`);
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
  }
  for (let i = 0; i < 300; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  log(`${what} did not stop in 30 s: SIGKILL`);
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** A configuration module that is the instance's configuration.py without plugins. */
function pluginFreeConfiguration() {
  const dir = mkdtempSync(join(tmpdir(), 'unicop-capture-conf-'));
  writeFileSync(
    join(dir, 'unicop_capture_configuration.py'),
    [
      '# NetBox configuration for the capture worker: the instance\'s configuration.py without any plugin.',
      'import importlib.util, os',
      "_spec = importlib.util.spec_from_file_location('unicop_capture_base', os.path.join(os.environ['NETBOX_ROOT'], 'conf', 'configuration.py'))",
      '_base = importlib.util.module_from_spec(_spec)',
      '_spec.loader.exec_module(_base)',
      'globals().update({k: v for k, v in vars(_base).items() if k.isupper()})',
      'PLUGINS = []',
      'PLUGINS_CONFIG = {}',
      '',
    ].join('\n'),
  );
  return dir;
}

async function defaultQueue() {
  return (await list('core/background-queues/')).find((q) => q.name === 'default');
}

class Worker {
  constructor(withPlugin, confDir) {
    this.withPlugin = withPlugin;
    const env = { ...process.env, NETBOX_ROOT };
    if (!withPlugin) Object.assign(env, { NETBOX_CONFIGURATION: 'unicop_capture_configuration', PYTHONPATH: confDir });
    mkdirSync(join(DATA_DIR, 'log'), { recursive: true });
    const out = openSync(join(DATA_DIR, 'log/capture-rqworker.log'), 'a');
    this.child = spawn(NETBOX_BIN, ['rqworker'], { cwd: NETBOX_ROOT, env, detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    this.exited = false;
    this.child.on('exit', () => (this.exited = true));
  }
  get label() {
    return `capture rqworker (${this.withPlugin ? 'with the unicop_netbox plugin' : 'PLUGINS = []'})`;
  }
  async ready() {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`${this.label} exited; see ${DATA_DIR}/log/capture-rqworker.log`);
      if (((await defaultQueue())?.workers ?? 0) >= 1) return log(`${this.label} is listening (pid ${this.child.pid})`);
      await sleep(500);
    }
    throw new Error(`${this.label} did not register within 120 s`);
  }
  async stop() {
    if (!this.exited) await stopGroup(this.child.pid, this.label);
  }
}

/** Restart the instance's worker the way scripts/netbox does (own session, pid file written by the process). */
function restartInstanceWorker() {
  log('restarting the instance rqworker');
  const logFile = openSync(join(DATA_DIR, 'log/rqworker.log'), 'a');
  const child = spawn('setsid', ['bash', '-c', 'echo $$ >"$0"; exec "$@"', INSTANCE_RQ_PID, NETBOX_BIN, 'rqworker'], {
    cwd: NETBOX_ROOT,
    env: { ...process.env, NETBOX_ROOT },
    detached: true,
    stdio: ['ignore', logFile, logFile],
  });
  child.unref();
  closeSync(logFile);
}

// ---------------------------------------------------------------------------------------------- the world

/** Objects the tool creates, most dependent first; `purge` deletes whatever of them exists. */
const PURGE = [
  ['ipam/ip-addresses/?tenant=acme'],
  ['ipam/prefixes/?tenant=acme'],
  ['ipam/vlans/?tenant=acme'],
  ['dcim/cables/?tenant=acme'],
  ['virtualization/interfaces/?virtual_machine=vm-app-01'],
  ['virtualization/virtual-machines/?name=vm-app-01'],
  ['virtualization/clusters/?name=dc1-cluster'],
  ['dcim/devices/?name=leaf-01&name=leaf-02'],
  ['dcim/sites/?slug=dc1'],
  ['virtualization/cluster-types/?slug=vmware'],
  ['dcim/regions/?slug=eu-west'],
  ['tenancy/tenants/?slug=acme'],
  ['dcim/device-types/?slug=dcs-7050sx3-48yc8'],
  ['dcim/device-roles/?slug=leaf'],
  ['dcim/manufacturers/?slug=arista'],
  ['extras/tags/?slug=fabric&slug=production&slug=app'],
  ['extras/custom-fields/?name=tier&name=owner_team'],
  ['extras/custom-field-choice-sets/?name=unicop-tier'],
];

async function purge() {
  for (const [query] of PURGE) {
    const path = query.slice(0, query.indexOf('?'));
    // a filter naming an object that does not exist (e.g. ?tenant=acme without the tenant) answers 400: nothing to do
    const found = await list(query).catch((err) => (/→ 400:/.test(err.message) ? [] : Promise.reject(err)));
    for (const obj of found) {
      await api('DELETE', `${path}${obj.id}/`);
      log(`removed ${path}${obj.id}/ (${obj.display})`);
    }
  }
}

/**
 * The ids of the hand-built world (receiver/test/fixtures/README.md): each table's id sequence is set so that the
 * next row gets this id, unless a row with that id or a higher one exists (then ids simply continue). Distinct ids
 * per kind keep the tests meaningful (an interface's root must be its device 42, not 11), and a re-run on the same
 * instance gives the same ids, since the world is purged first.
 */
const FIRST_IDS = {
  tenancy_tenant: 1, dcim_region: 1, dcim_site: 1, dcim_manufacturer: 1, dcim_devicetype: 1, dcim_devicerole: 1, extras_tag: 1,
  extras_customfieldchoiceset: 1, extras_customfield: 1, dcim_device: 42, dcim_interface: 11, dcim_cable: 9, dcim_cabletermination: 17,
  dcim_cablepath: 31, virtualization_clustertype: 1, virtualization_cluster: 1, virtualization_virtualmachine: 7,
  virtualization_vminterface: 21, ipam_ipaddress: 101, ipam_prefix: 5, ipam_vlan: 3,
};

function positionIds() {
  const code = [
    'from django.db import connection',
    `first_ids = ${JSON.stringify(FIRST_IDS)}`,
    'with connection.cursor() as c:',
    '    for table, first in first_ids.items():',
    '        c.execute(f"SELECT GREATEST(%s, COALESCE(MAX(id), 0)) FROM {table}", [first - 1])',
    '        last = c.fetchone()[0]',
    "        c.execute('SELECT setval(pg_get_serial_sequence(%s, %s), %s, %s)', [table, 'id', max(last, 1), last >= 1])",
  ].join('\n');
  return new Promise((ok, fail) => {
    const child = spawn(NETBOX_BIN, ['shell', '--no-imports', '-c', code], { cwd: NETBOX_ROOT, env: { ...process.env, NETBOX_ROOT }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (rc) => (rc === 0 ? ok() : fail(new Error(`positioning the id sequences failed (exit ${rc}): ${err.slice(-2000)}`))));
  });
}

/** The fixtures: folder → the API call of each action ({method, path, objectType, id}), filled in as we go. */
const plan = {};
/** Every delivery received, in order; a fixture's delivery comes after its API call and within its phase. */
let deliveries = [];
function expect(folder, action, objectType, method, path, id, from) {
  (plan[folder] ??= {})[action] = { folder, action, objectType, method, path, id, from, until: Infinity };
}

// `from` is taken before the API call: the worker may deliver before the call returns
async function create(folder, endpoint, objectType, body) {
  const from = deliveries.length;
  const obj = await api('POST', endpoint, body);
  if (folder) expect(folder, 'created', objectType, 'POST', `/api/${endpoint}`, obj.id, from);
  return obj;
}
async function update(folder, action, endpoint, objectType, id, body) {
  const from = deliveries.length;
  const obj = await api('PATCH', `${endpoint}${id}/`, body);
  expect(folder, action, objectType, 'PATCH', `/api/${endpoint}${id}/`, id, from);
  return obj;
}
async function remove(folder, endpoint, objectType, id) {
  const from = deliveries.length;
  await api('DELETE', `${endpoint}${id}/`);
  if (folder) expect(folder, 'deleted', objectType, 'DELETE', `/api/${endpoint}${id}/`, id, from);
}

async function buildWorld() {
  const w = {};
  w.tenant = await api('POST', 'tenancy/tenants/', { name: 'Acme', slug: 'acme' });
  w.region = await api('POST', 'dcim/regions/', { name: 'EU West', slug: 'eu-west' });
  for (const [name, color] of [['fabric', '2196f3'], ['production', 'f44336'], ['app', '4caf50']]) {
    w[`tag_${name}`] = await api('POST', 'extras/tags/', { name, slug: name, color });
  }
  w.choiceSet = await api('POST', 'extras/custom-field-choice-sets/', { name: 'unicop-tier', extra_choices: [['gold', 'Gold'], ['silver', 'Silver']] });
  w.cfTier = await api('POST', 'extras/custom-fields/', {
    name: 'tier', label: 'Tier', type: 'select', choice_set: w.choiceSet.id, object_types: ['dcim.device', 'virtualization.virtualmachine'],
  });
  w.cfOwner = await api('POST', 'extras/custom-fields/', { name: 'owner_team', label: 'Owner team', type: 'text', object_types: ['dcim.device', 'dcim.site', 'ipam.prefix'] });

  w.site = await create('dcim.site', 'dcim/sites/', 'dcim.site', {
    name: 'DC1', slug: 'dc1', status: 'planned', region: w.region.id, tenant: w.tenant.id, time_zone: 'Europe/Amsterdam',
    tags: [{ slug: 'production' }], custom_fields: { owner_team: 'dc-ops' },
  });
  await update('dcim.site', 'updated', 'dcim/sites/', 'dcim.site', w.site.id, { status: 'active', description: 'Primary data centre, Amsterdam' });
  w.vlan = await create('ipam.vlan', 'ipam/vlans/', 'ipam.vlan', {
    vid: 100, name: 'servers', site: w.site.id, tenant: w.tenant.id, status: 'active', tags: [{ slug: 'fabric' }],
  });
  w.prefix = await create('ipam.prefix', 'ipam/prefixes/', 'ipam.prefix', {
    prefix: '10.0.0.0/24', scope_type: 'dcim.site', scope_id: w.site.id, tenant: w.tenant.id, vlan: w.vlan.id, status: 'reserved',
    tags: [{ slug: 'fabric' }], custom_fields: { owner_team: 'netops' },
  });
  w.manufacturer = await api('POST', 'dcim/manufacturers/', { name: 'Arista', slug: 'arista' });
  w.deviceType = await api('POST', 'dcim/device-types/', { manufacturer: w.manufacturer.id, model: 'DCS-7050SX3-48YC8', slug: 'dcs-7050sx3-48yc8' });
  w.role = await api('POST', 'dcim/device-roles/', { name: 'Leaf', slug: 'leaf', color: '2196f3' });
  w.device = await create('dcim.device', 'dcim/devices/', 'dcim.device', {
    name: 'leaf-01', device_type: w.deviceType.id, role: w.role.id, site: w.site.id, tenant: w.tenant.id, status: 'planned',
    tags: [{ slug: 'production' }, { slug: 'fabric' }], custom_fields: { tier: 'gold', owner_team: 'netops' },
  });
  w.device2 = await api('POST', 'dcim/devices/', {
    name: 'leaf-02', device_type: w.deviceType.id, role: w.role.id, site: w.site.id, tenant: w.tenant.id, status: 'active',
  });
  w.interface = await create('dcim.interface', 'dcim/interfaces/', 'dcim.interface', {
    device: w.device.id, name: 'Ethernet1', type: '1000base-t', tags: [{ slug: 'fabric' }],
  });
  w.interface2 = await api('POST', 'dcim/interfaces/', { device: w.device.id, name: 'Ethernet2', type: '1000base-t' });
  w.peerInterface = await api('POST', 'dcim/interfaces/', { device: w.device2.id, name: 'Ethernet1', type: '1000base-t' });
  w.cable = await create('dcim.cable', 'dcim/cables/', 'dcim.cable', {
    a_terminations: [{ object_type: 'dcim.interface', object_id: w.interface.id }],
    b_terminations: [{ object_type: 'dcim.interface', object_id: w.peerInterface.id }],
    type: 'cat6', status: 'connected', tenant: w.tenant.id, tags: [{ slug: 'fabric' }],
  });
  w.ipDevice = await create('ipam.ipaddress-device', 'ipam/ip-addresses/', 'ipam.ipaddress', {
    address: '10.0.0.1/24', tenant: w.tenant.id, status: 'active', assigned_object_type: 'dcim.interface', assigned_object_id: w.interface.id,
    tags: [{ slug: 'fabric' }],
  });
  w.clusterType = await api('POST', 'virtualization/cluster-types/', { name: 'VMware', slug: 'vmware' });
  w.cluster = await api('POST', 'virtualization/clusters/', { name: 'dc1-cluster', type: w.clusterType.id, scope_type: 'dcim.site', scope_id: w.site.id });
  w.vm = await create('virtualization.virtualmachine', 'virtualization/virtual-machines/', 'virtualization.virtualmachine', {
    name: 'vm-app-01', site: w.site.id, cluster: w.cluster.id, tenant: w.tenant.id, status: 'planned', vcpus: 2, memory: 4096,
    tags: [{ slug: 'app' }], custom_fields: { tier: 'silver' },
  });
  w.vminterface = await create('virtualization.vminterface', 'virtualization/interfaces/', 'virtualization.vminterface', {
    virtual_machine: w.vm.id, name: 'eth0', tags: [{ slug: 'app' }],
  });
  w.ipVm = await create('ipam.ipaddress-vm', 'ipam/ip-addresses/', 'ipam.ipaddress', {
    address: '10.0.1.1/24', tenant: w.tenant.id, status: 'active', assigned_object_type: 'virtualization.vminterface', assigned_object_id: w.vminterface.id,
    tags: [{ slug: 'app' }],
  });
  return w;
}

/** The order of the hand-built fixtures' timeline (site updated right after it was created, see buildWorld). */
async function updateWorld(w) {
  await update('dcim.device', 'updated', 'dcim/devices/', 'dcim.device', w.device.id, { status: 'active', description: 'Leaf switch, row A' });
  await update('dcim.interface', 'updated', 'dcim/interfaces/', 'dcim.interface', w.interface.id, { description: 'uplink to leaf-02', mtu: 9216 });
  await update('dcim.cable', 'updated', 'dcim/cables/', 'dcim.cable', w.cable.id, { description: 'leaf-01 Ethernet1 to leaf-02 Ethernet1', color: '2196f3' });
  await update('ipam.ipaddress-device', 'updated', 'ipam/ip-addresses/', 'ipam.ipaddress', w.ipDevice.id, { description: 'p2p leaf-01 Ethernet1', dns_name: 'leaf-01-eth1.dc1.acme.example' });
  await update('virtualization.virtualmachine', 'updated', 'virtualization/virtual-machines/', 'virtualization.virtualmachine', w.vm.id, { status: 'active', description: 'Application server' });
  await update('virtualization.vminterface', 'updated', 'virtualization/interfaces/', 'virtualization.vminterface', w.vminterface.id, { description: 'application network', mtu: 1500 });
  await update('ipam.ipaddress-vm', 'updated', 'ipam/ip-addresses/', 'ipam.ipaddress', w.ipVm.id, { description: 'vm-app-01 primary', dns_name: 'vm-app-01.dc1.acme.example' });
  await update('ipam.prefix', 'updated', 'ipam/prefixes/', 'ipam.prefix', w.prefix.id, { status: 'active', description: 'DC1 server network' });
  await update('ipam.vlan', 'updated', 'ipam/vlans/', 'ipam.vlan', w.vlan.id, { name: 'servers-prod', description: 'Production servers' });
}

/** A second interface update, sent by a worker with the plugin: fields no brief nested interface shows (mtu, label). */
async function updateWithContext(w) {
  await update('dcim.interface', 'updated-with-context', 'dcim/interfaces/', 'dcim.interface', w.interface.id, { mtu: 9100, label: 'uplink' });
}

async function deleteWorld(w) {
  await remove('ipam.ipaddress-device', 'ipam/ip-addresses/', 'ipam.ipaddress', w.ipDevice.id);
  await remove('ipam.ipaddress-vm', 'ipam/ip-addresses/', 'ipam.ipaddress', w.ipVm.id);
  await remove('virtualization.vminterface', 'virtualization/interfaces/', 'virtualization.vminterface', w.vminterface.id);
  await remove('virtualization.virtualmachine', 'virtualization/virtual-machines/', 'virtualization.virtualmachine', w.vm.id);
  await remove('dcim.cable', 'dcim/cables/', 'dcim.cable', w.cable.id);
  await remove('dcim.interface', 'dcim/interfaces/', 'dcim.interface', w.interface.id);
  await remove('dcim.device', 'dcim/devices/', 'dcim.device', w.device.id);
  await remove('ipam.prefix', 'ipam/prefixes/', 'ipam.prefix', w.prefix.id);
  await remove('ipam.vlan', 'ipam/vlans/', 'ipam.vlan', w.vlan.id);
  await remove(null, 'dcim/devices/', 'dcim.device', w.device2.id);
  await remove(null, 'virtualization/clusters/', 'virtualization.cluster', w.cluster.id);
  await remove('dcim.site', 'dcim/sites/', 'dcim.site', w.site.id);
}

// ------------------------------------------------------------------------------------------------ capture

const key = (e) => `${e.folder}/${e.action}`;

function matches(d, e) {
  const b = d.body;
  const i = deliveries.indexOf(d);
  return b && i >= e.from && i < e.until && b.object_type === e.objectType && b.event === e.action.replace(/-with-context$/, '') && b.data?.id === e.id
    && b.request?.method === e.method && b.request?.path === e.path;
}

/** Waits until every expected delivery arrived and NetBox's default queue is empty. */
async function drain(recorder, expected, phase) {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const missing = expected.filter((e) => !recorder.deliveries.some((d) => matches(d, e)));
    const q = await defaultQueue();
    if (missing.length === 0 && q && q.jobs === 0 && q.started_jobs === 0) {
      log(`${phase}: ${expected.length} fixture deliveries in (${recorder.deliveries.length} deliveries so far)`);
      return;
    }
    await sleep(500);
  }
  const missing = expected.filter((e) => !recorder.deliveries.some((d) => matches(d, e))).map(key);
  throw new Error(`${phase}: still missing after ${PHASE_TIMEOUT_MS / 1000} s: ${missing.join(', ') || '(queue not empty)'}`);
}

/**
 * The received JSON text re-indented (2 spaces, one value a line, `key: value`), token by token: every string and
 * number literal stays exactly as NetBox wrote it (a Python float such as `2.0` would become `2` through
 * JSON.parse/JSON.stringify) and key order is kept. Only whitespace between tokens changes.
 */
function reindent(raw) {
  let out = '';
  let depth = 0;
  const nl = () => `\n${'  '.repeat(depth)}`;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '"') {
      let j = i + 1;
      while (raw[j] !== '"') j += raw[j] === '\\' ? 2 : 1;
      out += raw.slice(i, j + 1);
      i = j;
    } else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      let j = i + 1;
      while (/\s/.test(raw[j])) j++;
      if (raw[j] === close) {
        out += c + close;
        i = j;
      } else {
        depth++;
        out += c + nl();
      }
    } else if (c === '}' || c === ']') {
      depth--;
      out += nl() + c;
    } else if (c === ',') {
      out += `,${nl()}`;
    } else if (c === ':') {
      out += ': ';
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return `${out}\n`;
}

/** The text without whitespace outside strings: equal for two texts that differ only in layout. */
function tokens(text) {
  return text.replace(/"(?:[^"\\]|\\.)*"|\s+/g, (m) => (m.startsWith('"') ? m : ''));
}

function writeFixture(file, delivery) {
  const raw = delivery.raw.toString('utf8');
  const pretty = reindent(raw);
  if (tokens(pretty) !== tokens(raw)) throw new Error(`${file}: re-indenting changed the JSON tokens`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, pretty);
}

async function main() {
  if (!NETBOX_URL || !NETBOX_TOKEN) throw new Error(`no NETBOX_URL / NETBOX_TOKEN (set them, or run scripts/netbox up with NETBOX_DATA_DIR=${DATA_DIR})`);
  if (!existsSync(NETBOX_BIN)) throw new Error(`${NETBOX_BIN} not found: is NETBOX_DATA_DIR the data directory of scripts/netbox up?`);
  const status = await api('GET', 'status/');
  const version = status['netbox-version'];
  if (!String(version).startsWith('4.7')) throw new Error(`NetBox ${version} is not 4.7: these are the 4.7 fixtures`);
  log(`NetBox ${version} at ${NETBOX_URL}; fixtures go to ${OUT}`);

  const recorder = await startRecorder();
  deliveries = recorder.deliveries;
  const confDir = pluginFreeConfiguration();
  const instanceWorker = livePid(INSTANCE_RQ_PID, 'rqworker');
  const disabledRules = [];
  let worker = null;
  const switchWorker = async (withPlugin) => {
    if (worker) await worker.stop();
    worker = new Worker(withPlugin, confDir);
    await worker.ready();
  };
  try {
    // leftovers of an earlier, interrupted run
    for (const r of await list(`extras/event-rules/?name=${NAME}`)) await api('DELETE', `extras/event-rules/${r.id}/`);
    for (const h of await list(`extras/webhooks/?name=${NAME}`)) await api('DELETE', `extras/webhooks/${h.id}/`);
    for (const rule of await list('extras/event-rules/?enabled=true&action_type=webhook')) {
      await api('PATCH', `extras/event-rules/${rule.id}/`, { enabled: false });
      disabledRules.push(rule);
      log(`disabled event rule "${rule.name}" for the capture`);
    }
    if (instanceWorker) await stopGroup(instanceWorker, 'the instance rqworker');
    await switchWorker(false);
    await purge();
    await positionIds();

    const webhook = await api('POST', 'extras/webhooks/', {
      name: NAME, payload_url: `http://127.0.0.1:${recorder.port}/hook`, http_method: 'POST', http_content_type: 'application/json',
      additional_headers: '', body_template: '', secret: SECRET, ssl_verification: false,
      description: 'scripts/lib/netbox/capture-fixtures.mjs (temporary)',
    });
    await api('POST', 'extras/event-rules/', {
      name: NAME, object_types: OBJECT_TYPES, event_types: ['object_created', 'object_updated', 'object_deleted'], enabled: true,
      action_type: 'webhook', action_object_type: 'extras.webhook', action_object_id: webhook.id,
      description: 'scripts/lib/netbox/capture-fixtures.mjs (temporary)',
    });

    const phase = async (name, fn) => {
      const before = new Set(Object.values(plan).flatMap((a) => Object.values(a)).map(key));
      const result = await fn();
      const expected = Object.values(plan).flatMap((a) => Object.values(a)).filter((e) => !before.has(key(e)));
      await drain(recorder, expected, name);
      for (const e of expected) e.until = recorder.deliveries.length;
      return result;
    };
    const world = await phase('create (PLUGINS = [])', buildWorld);
    await phase('update (PLUGINS = [])', () => updateWorld(world));

    await switchWorker(true);
    await phase('update with the plugin', () => updateWithContext(world));
    const withContext = plan['dcim.interface']['updated-with-context'];
    const changes = await list(`core/object-changes/?changed_object_type=dcim.interface&changed_object_id=${world.interface.id}&action=update`);
    const changelogId = Math.max(...changes.map((c) => c.id));

    await switchWorker(false);
    await phase('delete (PLUGINS = [])', () => deleteWorld(world));

    // ---- pick, check, write
    const picked = [];
    for (const e of Object.values(plan).flatMap((a) => Object.values(a))) {
      const found = recorder.deliveries.filter((d) => matches(d, e));
      if (found.length !== 1) throw new Error(`${key(e)}: ${found.length} matching deliveries, expected exactly one`);
      const [d] = found;
      if (!d.signatureOk) throw new Error(`${key(e)}: X-Hook-Signature is not the HMAC-SHA512 of the body`);
      if (d.headers['content-type'] !== 'application/json') throw new Error(`${key(e)}: content-type ${d.headers['content-type']}`);
      const hasContext = Object.hasOwn(d.body, 'context');
      if (hasContext !== (e.action === 'updated-with-context')) throw new Error(`${key(e)}: context ${hasContext ? 'present' : 'absent'}`);
      picked.push([e, d]);
    }
    for (const dir of readdirSync(OUT, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      for (const f of readdirSync(join(OUT, dir.name)).filter((f) => f.endsWith('.json'))) rmSync(join(OUT, dir.name, f));
    }
    for (const [e, d] of picked) writeFixture(join(OUT, e.folder, `${e.action}.json`), d);

    const ref = (o, extra = {}) => ({ id: o.id, display: o.display, ...extra });
    const sample = picked.find(([e]) => e.action === 'updated')[1];
    const worldFile = {
      netbox_version: version,
      written_by: 'scripts/lib/netbox/capture-fixtures.mjs',
      objects: {
        tenant: ref(world.tenant, { slug: 'acme' }), region: ref(world.region, { slug: 'eu-west' }), site: ref(world.site, { slug: 'dc1' }),
        device: ref(world.device), device2: ref(world.device2), interface: ref(world.interface), interface2: ref(world.interface2),
        peer_interface: ref(world.peerInterface), cable: ref(world.cable), cluster: ref(world.cluster), virtual_machine: ref(world.vm),
        vminterface: ref(world.vminterface), ip_device: ref(world.ipDevice), ip_vm: ref(world.ipVm), prefix: ref(world.prefix), vlan: ref(world.vlan),
      },
      roots: {
        'dcim.site': `dcim.site:${world.site.id}`,
        'dcim.device': `dcim.device:${world.device.id}`,
        'dcim.interface': `dcim.device:${world.device.id}`,
        'dcim.cable': `dcim.cable:${world.cable.id}`,
        'ipam.ipaddress-device': `dcim.device:${world.device.id}`,
        'ipam.ipaddress-vm': `virtualization.virtualmachine:${world.vm.id}`,
        'ipam.prefix': `ipam.prefix:${world.prefix.id}`,
        'ipam.vlan': `ipam.vlan:${world.vlan.id}`,
        'virtualization.virtualmachine': `virtualization.virtualmachine:${world.vm.id}`,
        'virtualization.vminterface': `virtualization.virtualmachine:${world.vm.id}`,
      },
      cable_devices: [`dcim.device:${world.device.id}`, `dcim.device:${world.device2.id}`],
      with_context: { file: `dcim.interface/updated-with-context.json`, request: withContext.path, changelog_id: changelogId },
      delivery: {
        method: sample.method,
        headers: Object.fromEntries(
          Object.entries(sample.headers).filter(([k]) => !['content-length', 'host'].includes(k)).map(([k, v]) => [k, k === 'x-hook-signature' ? '<hex HMAC-SHA512 of the body, 128 characters>' : v]),
        ),
      },
    };
    writeFileSync(join(OUT, 'world.json'), `${JSON.stringify(worldFile, null, 2)}\n`);
    log(`wrote ${picked.length} fixtures and world.json to ${OUT}`);
  } finally {
    const safely = async (what, fn) => {
      try {
        await fn();
      } catch (err) {
        log(`clean-up: ${what} failed: ${err.message}`);
      }
    };
    await safely('removing the capture event rule / webhook', async () => {
      for (const r of await list(`extras/event-rules/?name=${NAME}`)) await api('DELETE', `extras/event-rules/${r.id}/`);
      for (const h of await list(`extras/webhooks/?name=${NAME}`)) await api('DELETE', `extras/webhooks/${h.id}/`);
    });
    await safely('removing the world', purge);
    for (const rule of disabledRules) await safely(`re-enabling rule ${rule.name}`, () => api('PATCH', `extras/event-rules/${rule.id}/`, { enabled: true }));
    if (worker) await safely('stopping the capture worker', () => worker.stop());
    if (instanceWorker) restartInstanceWorker();
    rmSync(confDir, { recursive: true, force: true });
    recorder.server.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`capture: error: ${err.stack ?? err}`);
    process.exit(1);
  },
);
