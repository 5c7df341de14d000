import { strict as assert } from 'node:assert';
import { DEFAULT_ROOT_POLICY } from '../../../src/pipeline/normalize/default-root-policy.js';
import { createRootResolver } from '../../../src/pipeline/normalize/root-policy.js';
import { managedObjectTypes } from '../../../src/snapshot/managed-types.js';
import { repairEvent } from '../../../src/snapshot/repair-event.js';

describe('what a snapshot reads (snapshot/managed-types.ts) and how it marks repairs', () => {
  it('reads the root policy’s root types first, then the object types its rules name', () => {
    const types = managedObjectTypes(DEFAULT_ROOT_POLICY);
    assert.ok(types.indexOf('dcim.device') < types.indexOf('dcim.interface'));
    assert.equal(new Set(types).size, types.length);
  });

  it('with an inventory policy reads exactly its object types, root types first', () => {
    assert.deepEqual(managedObjectTypes(DEFAULT_ROOT_POLICY, ['dcim.interface', 'extras.tag', 'dcim.device']), ['dcim.device', 'dcim.interface', 'extras.tag']);
  });

  it('marks a repair of an object outside the managed set managed: false, as its webhook would be', () => {
    const deps = { source: 'netbox://test', resolveRoot: createRootResolver(DEFAULT_ROOT_POLICY), managed: () => false };
    const context = { snapshotId: 's1', objectType: 'ipam.prefix', netboxVersion: '4.7.3', now: () => 0 };
    const object = { id: 7, display: '10.0.0.0/24', last_updated: '2026-12-01T00:00:00Z' };
    const repair = { action: 'created', id: 7, object } as unknown as Parameters<typeof repairEvent>[2];
    assert.equal((repairEvent(deps, context, repair).envelope.data as { managed?: boolean }).managed, false);
    assert.equal((repairEvent({ ...deps, managed: () => true }, context, repair).envelope.data as { managed?: boolean }).managed, undefined);
  });
});
