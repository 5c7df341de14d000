/**
 * Changes that do not come from the REST API: a person posting a NetBox form, and a custom script run (as a
 * custom-link button starts one). Both end as events like any other change.
 * Run with the others: `npm run test:e2e:netbox`.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { authorization, eventsUntil, makeDevice, netbox, netboxAll, NETBOX_URL, NetboxSession, runTag, type NetboxObject } from '../../helpers/netbox.js';
import { waitFor } from '../../helpers/wait-for.js';
import { EVENTS_TOPIC } from './receiver-under-test.js';

const SCRIPT_MODULE = 'unicop_e2e_describe';
const SCRIPT_CLASS = 'DescribeInterfaces';
const SCRIPT_FILE = `${SCRIPT_MODULE}.py`;
const USER = String(process.env.NETBOX_ADMIN_USER ?? 'admin');

/** Uploads (or replaces) the test script module through `/api/extras/scripts/upload/`. */
async function uploadScriptModule(): Promise<void> {
  const code = readFileSync(new URL(`scripts/${SCRIPT_FILE}`, import.meta.url));
  // The upload endpoint cannot be listed; the scripts list names each script's module id.
  const scripts = await netboxAll<{ module: number; name: string; display: string }>('extras/scripts/');
  const existing = scripts.find((s) => s.name === SCRIPT_CLASS && s.display.endsWith(`(${SCRIPT_MODULE})`));
  const form = new FormData();
  form.append('file', new Blob([code], { type: 'text/x-python' }), SCRIPT_FILE);
  const res = await fetch(`${NETBOX_URL}/api/extras/scripts/upload/${existing ? `${existing.module}/` : ''}`, {
    method: existing ? 'PUT' : 'POST',
    headers: { authorization: authorization(), accept: 'application/json' },
    body: form,
  });
  assert.ok(res.ok, `script module upload → ${res.status}: ${(await res.text()).slice(0, 400)}`);
}

describe('UI form posts and script runs in NetBox → events', function () {
  this.timeout(240_000);
  const tag = runTag();

  it('a site added through the NetBox form is a created event by the person who posted it', async () => {
    const session = await NetboxSession.login(USER, String(process.env.NETBOX_ADMIN_PASSWORD));
    const res = await session.submit('/dcim/sites/add/', { name: `e2e-ui-${tag}`, slug: `e2e-ui-${tag}`, status: 'active' });
    assert.equal(res.status, 302, `the form was accepted (status ${res.status})`);
    const [site] = await netboxAll(`dcim/sites/?slug=e2e-ui-${tag}`);
    assert.ok(site, 'NetBox has the site');
    const event = await eventsUntil(EVENTS_TOPIC, (events) => events.find((e) => e.subject === `dcim.site:${site.id}`), 90_000, 'the site created event');
    assert.deepEqual(
      [event.type, event.partitionkey, event.data.netbox.via, event.data.actor.user],
      ['unicop.object.created', `dcim.site:${site.id}`, 'webhook', USER],
    );
    assert.equal(event.data.scope.site, `e2e-ui-${tag}`);
    const changelog = await netbox('GET', `core/object-changes/${event.data.netbox.changelogId}/`);
    assert.equal(changelog.request_id, event.data.actor.requestId, 'the form request is the changelog request');
  });

  it('a custom script run changes interfaces and each change is an event on the device root', async () => {
    await uploadScriptModule();
    const { device } = await makeDevice(`script-${tag}`);
    const interfaces = await netbox<NetboxObject[]>(
      'POST',
      'dcim/interfaces/',
      [0, 1, 2].map((i) => ({ device: device.id, name: `eth${i}`, type: '1000base-t' })),
    );
    const run = await netbox<{ result: { id: number } }>('POST', `extras/scripts/${SCRIPT_MODULE}.${SCRIPT_CLASS}/`, {
      data: { device_id: device.id, text: `scripted ${tag}` },
      commit: true,
    });
    const job = await waitFor(
      async () => {
        const j = await netbox<{ status: { value: string }; data: unknown }>('GET', `core/jobs/${run.result.id}/`);
        return ['completed', 'errored', 'failed'].includes(j.status.value) ? j : undefined;
      },
      90_000,
      'the script job to finish',
    );
    assert.equal(job.status.value, 'completed', `script job: ${JSON.stringify(job.data).slice(0, 400)}`);
    const subjects = interfaces.map((i) => `dcim.interface:${i.id}`);
    const updated = await eventsUntil(
      EVENTS_TOPIC,
      (events) => {
        const hits = events.filter((e) => e.type === 'unicop.object.updated' && subjects.includes(e.subject));
        return hits.length >= subjects.length ? hits : undefined;
      },
      90_000,
      'the script changes as events',
    );
    assert.equal(updated.length, subjects.length, 'one event per changed interface');
    for (const e of updated) {
      assert.equal(e.partitionkey, `dcim.device:${device.id}`);
      assert.equal(e.data.actor.user, USER, 'the script runs as the user who started it');
      assert.equal(typeof e.data.netbox.changelogId, 'number');
    }
    assert.equal(new Set(updated.map((e) => e.data.actor.requestId)).size, 1, 'one script run, one request');
  });
});
