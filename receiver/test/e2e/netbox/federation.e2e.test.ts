/**
 * Federation against a real NetBox: the receiver runs under a federation file (docs/federation.md) in which this
 * NetBox is source `nb-main` (its webhook secret, its changelog catch-up) and a second source `nb-other` is
 * played by the test (bodies signed with its own secret); routes put region `fed-emea` (and its descendants) on
 * the suite's broker and everything else on a second broker. NetBox's own webhooks, with the plugin's context,
 * must land on the right cluster with source-qualified keys, and the same object id from the other source must
 * be another root.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { federationFile, readAll, secondBroker, type Message } from '../../helpers/federation.js';
import { interfaceUpdate, signed } from '../../helpers/fixtures.js';
import { BROKERS } from '../../helpers/kafka.js';
import { netbox, runTag } from '../../helpers/netbox.js';
import { waitFor } from '../../helpers/wait-for.js';
import { EVENTS_TOPIC, RECEIVER_URL, startFederatedReceiver, startReceiver, stopReceiver, TOPIC_PREFIX } from './receiver-under-test.js';

const OTHER_SECRET = 'nb-other-webhook-secret-0001';

describe('federation with a real NetBox: two sources, routes by region onto two brokers', function () {
  this.timeout(300_000);
  const tag = runTag();
  let broker: Awaited<ReturnType<typeof secondBroker>>;
  let file: string;
  let dataDir: string;
  /** REST paths to delete afterwards, newest first. */
  const made: string[] = [];

  before(async () => {
    broker = await secondBroker();
    const secret = (process.env.UNICOP_WEBHOOK_SECRETS ?? '').split(',')[0]!;
    file = federationFile({
      cell: 'e2e',
      sources: [
        { name: 'nb-main', secrets: [secret], netbox: { url: process.env.NETBOX_URL!, token: process.env.NETBOX_TOKEN! } },
        { name: 'nb-other', secrets: [OTHER_SECRET] },
      ],
      owners: [{ scope: '*', cell: 'e2e' }],
      routes: [
        { scope: { regions: [`fed-emea-${tag}`] }, brokers: BROKERS.join(','), topicPrefix: TOPIC_PREFIX, name: 'a' },
        { scope: '*', brokers: broker.brokers, topicPrefix: TOPIC_PREFIX, name: 'b' },
      ],
    });
    await stopReceiver();
    // the fixtures' bodies are dated in the past: a wide replay window for the test's own source
    // its own store: the suite's keeps its single-source keys and lanes
    dataDir = mkdtempSync(join(tmpdir(), 'unicop-federation-e2e-'));
    await startFederatedReceiver(file, { UNICOP_DATA_DIR: dataDir, UNICOP_REPLAY_WINDOW_S: '315360000', UNICOP_RETENTION_DAYS: '3650' });
  });

  after(async () => {
    try {
      await stopReceiver();
      await startReceiver(); // the suite's receiver as the other files expect it
      for (const path of made.reverse()) await netbox('DELETE', path);
    } finally {
      await broker?.close();
      if (file) rmSync(dirname(file), { recursive: true, force: true });
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("routes NetBox's own webhooks by region (a descendant region included) with source-qualified keys, and the other source's same id to another root", async () => {
    const parent = await netbox('POST', 'dcim/regions/', { name: `fed-emea-${tag}`, slug: `fed-emea-${tag}` });
    const child = await netbox('POST', 'dcim/regions/', { name: `fed-de-${tag}`, slug: `fed-de-${tag}`, parent: parent.id });
    made.push(`dcim/regions/${parent.id}/`, `dcim/regions/${child.id}/`);
    const inEmea = await netbox('POST', 'dcim/sites/', { name: `fed-a-${tag}`, slug: `fed-a-${tag}`, status: 'active', region: child.id });
    const elsewhere = await netbox('POST', 'dcim/sites/', { name: `fed-b-${tag}`, slug: `fed-b-${tag}`, status: 'active' });
    made.push(`dcim/sites/${inEmea.id}/`, `dcim/sites/${elsewhere.id}/`);

    // the other source: its own device 1 in the same region, signed with its own secret
    const other = interfaceUpdate(inEmea.id, 1, 1);
    other.context = { unicop: { scope: { tenant: null, site: null, region: child.slug as string, regions: [child.slug as string, parent.slug as string] } } };
    const { raw, signature } = signed(other, OTHER_SECRET);
    const posted = await fetch(`${RECEIVER_URL}/v1/netbox/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hook-signature': signature },
      body: raw,
    });
    assert.equal(posted.status, 202, await posted.text());

    const mainKey = (id: number) => `nb-main/dcim.site:${id}`;
    const find = (messages: Message[], key: string) => messages.find((m) => m.key === key);
    const onA = await waitFor(
      async () => {
        const all = await readAll(BROKERS.join(','), EVENTS_TOPIC, 0, 1);
        return find(all, mainKey(inEmea.id)) && find(all, `nb-other/dcim.device:${inEmea.id}`) ? all : undefined;
      },
      120_000,
      "NetBox's site in fed-de and the other source's device on cluster a",
    );
    const site = find(onA, mainKey(inEmea.id))!;
    assert.equal(site.value.source, 'netbox://nb-main');
    assert.equal(site.value.data.source, 'nb-main');
    assert.equal(site.value.data.route, 'a');
    assert.equal(site.value.data.root.key, mainKey(inEmea.id));
    assert.ok(!onA.some((m) => m.key === mainKey(elsewhere.id)), 'the region-less site is not on cluster a');
    assert.equal(find(onA, `nb-other/dcim.device:${inEmea.id}`)!.value.data.source, 'nb-other');

    const onB = await waitFor(
      async () => {
        const all = await readAll(broker.brokers, EVENTS_TOPIC, 0, 1);
        return find(all, mainKey(elsewhere.id)) ? all : undefined;
      },
      120_000,
      'the region-less site on cluster b',
    );
    assert.equal(find(onB, mainKey(elsewhere.id))!.value.data.route, 'b');
    assert.ok(!onB.some((m) => m.key === mainKey(inEmea.id)), 'the fed-de site is not on cluster b');
  });
});
