import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ROOT_POLICY } from '../../../src/pipeline/normalize/default-root-policy.js';
import { createRootResolver, loadRootPolicy, valuesAt, type RootPolicy } from '../../../src/pipeline/normalize/root-policy.js';
import { UnicopError } from '../../../src/errors.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';

const registry = new SchemaRegistry();
const resolve = createRootResolver(DEFAULT_ROOT_POLICY);

function policyFile(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'unicop-policy-')), 'policy.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('root policy', () => {
  it('the built-in policy matches schemas/root-policy.schema.json', () => {
    assert.ok(registry.validator<RootPolicy>('root-policy.schema.json')(DEFAULT_ROOT_POLICY));
  });
  it('roots device components at their device, and everything else at itself', () => {
    assert.equal(resolve('dcim.frontport', 8, { device: { id: 42 } }).root.key, 'dcim.device:42');
    assert.equal(resolve('dcim.rack', 3, { site: { id: 1 } }).root.key, 'dcim.rack:3');
  });
  it('roots an IP address at the device or VM of its interface, an unassigned one at itself', () => {
    assert.equal(resolve('ipam.ipaddress', 1, { assigned_object_type: 'dcim.interface', assigned_object: { device: { id: 5 } } }).root.key, 'dcim.device:5');
    assert.equal(
      resolve('ipam.ipaddress', 1, { assigned_object_type: 'virtualization.vminterface', assigned_object: { virtual_machine: { id: 6 } } }).root.key,
      'virtualization.virtualmachine:6',
    );
    assert.equal(resolve('ipam.ipaddress', 1, { assigned_object_type: null, assigned_object: null }).root.key, 'ipam.ipaddress:1');
    assert.equal(
      resolve('ipam.ipaddress', 1, { assigned_object_type: 'dcim.interface', assigned_object: { device: { id: '5' } } }).root.key,
      'ipam.ipaddress:1',
      'a non-integer id is not trusted',
    );
  });
  it('walks arrays with []', () => {
    assert.deepEqual(valuesAt({ a: [{ b: 1 }, { b: 2 }, { c: 3 }] }, 'a[].b'), [1, 2]);
    assert.deepEqual(valuesAt({ a: null }, 'a[].b'), []);
  });
  it('loads a policy file, and refuses an invalid one with UNICOP_POLICY_INVALID', () => {
    const custom = loadRootPolicy(policyFile({ version: 1, rules: [{ objectType: 'dcim.rack', root: { type: 'dcim.site', idPath: 'site.id' } }] }), registry);
    assert.equal(createRootResolver(custom)('dcim.rack', 3, { site: { id: 1 } }).root.key, 'dcim.site:1');
    for (const bad of [
      '{nope',
      { version: 2, rules: [] },
      { version: 1, rules: [{ objectType: 'dcim.rack' }] },
      { version: 1, rules: [{ objectType: 'rack', root: { type: 'dcim.site', idPath: 'site..id' } }] },
    ]) {
      assert.throws(
        () => loadRootPolicy(policyFile(bad), registry),
        (e) => e instanceof UnicopError && e.code === 'UNICOP_POLICY_INVALID',
      );
    }
  });
});
