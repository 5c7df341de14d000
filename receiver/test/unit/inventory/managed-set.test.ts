import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UnicopError } from '../../../src/errors.js';
import { loadInventoryPolicy, type InventoryPolicy } from '../../../src/inventory/inventory-policy.js';
import { compileManagedSet, type MembershipInput } from '../../../src/inventory/managed-set.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';

function object(type: string, scope: Partial<MembershipInput['scope']> = {}, tags: unknown[] = []): MembershipInput {
  return {
    object: { type, id: 1, display: null },
    scope: { tenant: null, site: null, region: null, ...scope },
    current: { id: 1, tags },
  };
}

describe('inventory managed set', () => {
  const policy = (managed: InventoryPolicy['managed']): InventoryPolicy => ({ version: 1, managed });

  it('manages exactly the listed object types', () => {
    const managed = compileManagedSet(policy({ objectTypes: ['dcim.device', 'dcim.interface'] }));
    assert.equal(managed(object('dcim.device')), true);
    assert.equal(managed(object('dcim.interface')), true);
    assert.equal(managed(object('ipam.ipaddress')), false);
  });

  it('matches a scope by tenant, site or region, a region covering its descendants through data.scope.regions', () => {
    const managed = compileManagedSet(policy({ objectTypes: ['dcim.device'], scope: { tenants: ['acme'], regions: ['emea'] } }));
    assert.equal(managed(object('dcim.device', { tenant: 'acme' })), true);
    assert.equal(managed(object('dcim.device', { region: 'ams', regions: ['ams', 'nl', 'emea'] })), true, 'a child region of emea');
    assert.equal(managed(object('dcim.device', { region: 'emea' })), true, 'no ancestry listed: the region alone');
    assert.equal(managed(object('dcim.device', { region: 'nyc', regions: ['nyc', 'us'] })), false);
    assert.equal(managed(object('dcim.device', { site: 'dc1' })), false, 'a site the scope does not name');
    assert.equal(managed(object('dcim.device')), false, 'no scope known: outside a scoped set');
  });

  it('needs one of the listed tags: REST tags by slug, changelog snapshot tags by name', () => {
    const managed = compileManagedSet(policy({ objectTypes: ['dcim.device'], tags: ['production'] }));
    assert.equal(managed(object('dcim.device', {}, [{ id: 2, name: 'Production', slug: 'production' }])), true);
    assert.equal(managed(object('dcim.device', {}, ['production'])), true);
    assert.equal(managed(object('dcim.device', {}, [{ id: 3, name: 'lab', slug: 'lab' }])), false);
    assert.equal(managed(object('dcim.device')), false, 'untagged');
  });
});

describe('inventory policy file', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'unicop-inventory-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function load(content: unknown): InventoryPolicy {
    const path = join(dir, 'inventory.json');
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return loadInventoryPolicy(path, new SchemaRegistry());
  }

  it('loads a good policy', () => {
    const good = { version: 1, managed: { objectTypes: ['dcim.device'], tags: ['prod'] }, caps: [{ scope: { sites: ['dc1'] }, maxRoots: 5 }] };
    assert.deepEqual(load(good), good);
  });

  it('refuses a bad file listing every problem, schema and duplicate caps alike', () => {
    assert.throws(
      () =>
        load({
          version: 2,
          managed: { objectTypes: ['Device'] },
          caps: [
            { scope: { sites: ['dc1', 'dc2'] }, maxRoots: 5 },
            { scope: { sites: ['dc2', 'dc1'] }, maxRoots: 3 },
            { scope: '*', maxRoots: -1 },
          ],
        }),
      (e: UnicopError) => {
        assert.equal(e.code, 'UNICOP_POLICY_INVALID');
        const pointers = e.details.map((d) => d.pointer);
        assert.ok(pointers.includes('/version'), JSON.stringify(e.details));
        assert.ok(pointers.includes('/managed/objectTypes/0'), JSON.stringify(e.details));
        assert.ok(pointers.includes('/caps/2/maxRoots'), JSON.stringify(e.details));
        assert.ok(pointers.includes('/caps/1/scope'), 'the same scope as cap 0, in another order');
        return true;
      },
    );
  });

  it('refuses a file that is not JSON', () => {
    assert.throws(
      () => load('{'),
      (e: UnicopError) => e.code === 'UNICOP_POLICY_INVALID',
    );
  });
});
