import { strict as assert } from 'node:assert';
import { DEFAULT_ROOT_POLICY } from '../../../src/pipeline/normalize/default-root-policy.js';
import { createNormalizer } from '../../../src/pipeline/normalize/normalize.js';
import { createRootResolver } from '../../../src/pipeline/normalize/root-policy.js';
import { createWebhookValidator } from '../../../src/pipeline/validate/validate-webhook.js';
import { formatSequence, type ObjectEvent } from '../../../src/model/event.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { allFixtures, captureWorld, fixture } from '../../helpers/fixtures.js';

const registry = new SchemaRegistry();
const validate = createWebhookValidator(registry);
const normalize = createNormalizer({ source: 'netbox://test', resolveRoot: createRootResolver(DEFAULT_ROOT_POLICY) });
const isEnvelope = registry.validator<ObjectEvent>('event-envelope.v1.schema.json');

/** The hand-built 4.4/4.6 world (receiver/test/fixtures/README.md): which root each object belongs to. */
const HAND_BUILT_ROOT: Record<string, string> = {
  'dcim.device': 'dcim.device:42',
  'dcim.interface': 'dcim.device:42',
  'ipam.ipaddress-device': 'dcim.device:42',
  'ipam.ipaddress-vm': 'virtualization.virtualmachine:7',
  'ipam.prefix': 'ipam.prefix:5',
  'ipam.vlan': 'ipam.vlan:3',
  'dcim.site': 'dcim.site:1',
  'dcim.cable': 'dcim.cable:9',
  'virtualization.virtualmachine': 'virtualization.virtualmachine:7',
  'virtualization.vminterface': 'virtualization.virtualmachine:7',
};

/** 4.7 is captured from a real NetBox: the capture tool wrote down the roots of the objects it built (world.json). */
const WORLD_47 = captureWorld('4.7');
const EXPECTED_ROOT: Record<string, Record<string, string>> = { '4.4': HAND_BUILT_ROOT, '4.6': HAND_BUILT_ROOT, '4.7': WORLD_47.roots };

function normalized(f: ReturnType<typeof fixture>) {
  const draft = normalize(validate(JSON.parse(f.raw.toString('utf8')), f.raw.length));
  return { ...draft.envelope, sequence: formatSequence(1) } as ObjectEvent;
}

describe('normalize every fixture', () => {
  const fixtures = allFixtures();
  it('finds fixtures for 3 NetBox versions, 10 object kinds and 3 actions', () => {
    assert.ok(fixtures.length >= 90, `only ${fixtures.length} fixtures`);
    assert.deepEqual([...new Set(fixtures.map((f) => f.version))].sort(), ['4.4', '4.6', '4.7']);
  });

  for (const f of allFixtures()) {
    it(`${f.file}: valid envelope, right root, scope, changes`, () => {
      const event = normalized(f);
      assert.ok(isEnvelope(event), JSON.stringify(registry.lastErrors('event-envelope.v1.schema.json')));
      assert.equal(event.partitionkey, EXPECTED_ROOT[f.version]?.[f.objectType], 'root');
      assert.equal(event.data.root.key, event.partitionkey);
      assert.equal(event.subject, `${String(f.body.object_type)}:${String((f.body.data as { id: number }).id)}`);
      assert.equal(event.type, `unicop.object.${String(f.body.event)}`);
      assert.equal(event.data.netbox.version === '4.5' ? '4.6' : event.data.netbox.version, f.version);
      if (!['dcim.cable', 'dcim.interface', 'ipam.ipaddress-device', 'ipam.ipaddress-vm', 'virtualization.vminterface'].includes(f.objectType)) {
        assert.equal(event.data.scope.tenant, 'acme', 'tenant slug from the nested tenant');
      }
      if (f.action === 'updated') {
        assert.ok(Object.keys(event.data.changes).length >= 2, 'an update lists what changed');
        for (const change of Object.values(event.data.changes)) assert.notDeepEqual(change.before, change.after);
      }
      if (f.action === 'created') assert.equal(event.data.snapshots.before, null);
      if (f.action === 'deleted') assert.equal(event.data.snapshots.after, null);
      assert.equal(event.data.changes.last_updated, undefined);
    });
  }

  it('lists both devices of a cable as related roots', () => {
    const event = normalized(fixture('4.7', 'dcim.cable', 'created'));
    assert.deepEqual(event.data.related.map((r) => r.key).sort(), [...WORLD_47.cable_devices].sort());
    assert.equal(WORLD_47.cable_devices.length, 2);
  });

  it('gives the same id to the same body, and different ids to different versions', () => {
    const a = normalized(fixture('4.7', 'dcim.device', 'updated'));
    const b = normalized(fixture('4.7', 'dcim.device', 'updated'));
    const c = normalized(fixture('4.7', 'dcim.device', 'created'));
    assert.equal(a.id, b.id);
    assert.notEqual(a.id, c.id);
  });

  it('takes scope and changelog id from the plugin context; its root agrees with the receiver policy (which decides it)', () => {
    const f = fixture('4.7', 'dcim.interface', 'updated-with-context');
    const event = normalized(f);
    assert.equal(event.partitionkey, WORLD_47.roots['dcim.interface']);
    // an interface body names no tenant, site or region: all three come from the context
    assert.deepEqual(normalized(fixture('4.7', 'dcim.interface', 'updated')).data.scope, { tenant: null, site: null, region: null, regions: [] });
    assert.deepEqual(event.data.scope, { tenant: 'acme', site: 'dc1', region: 'eu-west', regions: ['eu-west'] });
    // the ObjectChange id the capture looked up through NetBox's API for this update
    assert.equal(event.data.netbox.changelogId, WORLD_47.with_context.changelog_id);
    assert.equal((f.body.request as { path: string }).path, WORLD_47.with_context.request);
  });

  it('4.7: only updated-with-context carries the plugin context (the others were captured without the plugin)', () => {
    const captured = fixtures.filter((f) => f.version === '4.7');
    assert.equal(captured.length, 31);
    for (const f of captured) assert.equal('context' in f.body, f.action === 'updated-with-context', f.file);
  });

  it('takes the actor from username/request_id (4.4) and from request (4.7)', () => {
    const old = normalized(fixture('4.4', 'dcim.device', 'updated'));
    const now = normalized(fixture('4.7', 'dcim.device', 'updated'));
    const body44 = fixture('4.4', 'dcim.device', 'updated').body;
    const body47 = fixture('4.7', 'dcim.device', 'updated').body as { request: { id: string; user: string } };
    assert.deepEqual(old.data.actor, { user: body44.username, requestId: body44.request_id });
    assert.deepEqual(now.data.actor, { user: body47.request.user, requestId: body47.request.id });
  });
});
