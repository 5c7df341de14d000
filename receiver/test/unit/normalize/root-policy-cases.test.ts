import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { DEFAULT_ROOT_POLICY, DEFAULT_ROOT_POLICY_FILE } from '../../../src/pipeline/normalize/default-root-policy.js';
import { createRootResolver, loadRootPolicy } from '../../../src/pipeline/normalize/root-policy.js';
import { SCHEMAS_DIR, SchemaRegistry } from '../../../src/schema-registry.js';

/** `schemas/root-policy.cases.json`: the plugin's NetBox tests run the same table (tests/test_root_policy.py). */
interface RootPolicyCase {
  name: string;
  objectType: string;
  data: { id: number } & Record<string, unknown>;
  root: string;
  related?: string[];
}
const { cases } = JSON.parse(readFileSync(new URL('root-policy.cases.json', SCHEMAS_DIR), 'utf8')) as { cases: RootPolicyCase[] };

/** The plugin package's copies, which it reads when installed without this repository. */
const PLUGIN_POLICY_DIR = new URL('../netbox-plugin/unicop_netbox/policy/', SCHEMAS_DIR);

describe('shared root policy cases (schemas/root-policy.cases.json)', () => {
  const resolve = createRootResolver(DEFAULT_ROOT_POLICY);

  it('has a case for every object type the default policy names', () => {
    const covered = new Set(cases.map((c) => c.objectType));
    for (const rule of DEFAULT_ROOT_POLICY.rules) assert.ok(covered.has(rule.objectType), `no case for ${rule.objectType}`);
  });

  for (const c of cases) {
    it(c.name, () => {
      const { root, related } = resolve(c.objectType, c.data.id, c.data);
      assert.equal(root.key, c.root);
      if (c.related)
        assert.deepEqual(
          related.map((r) => r.key),
          c.related,
        );
    });
  }

  it('the plugin package ships byte-identical copies of the default policy, its schema and the IAM policy schema', () => {
    for (const file of ['root-policy.default.json', 'root-policy.schema.json', 'iam-policy.schema.json']) {
      const shipped = readFileSync(new URL(file, PLUGIN_POLICY_DIR));
      assert.ok(
        shipped.equals(readFileSync(new URL(file, SCHEMAS_DIR))),
        `netbox-plugin/unicop_netbox/policy/${file} differs from schemas/${file}: copy it over`,
      );
    }
  });

  it('DEFAULT_ROOT_POLICY is schemas/root-policy.default.json, which start-up loads and validates like any policy file', () => {
    assert.deepEqual(DEFAULT_ROOT_POLICY, JSON.parse(readFileSync(DEFAULT_ROOT_POLICY_FILE, 'utf8')));
    assert.deepEqual(loadRootPolicy(DEFAULT_ROOT_POLICY_FILE, new SchemaRegistry()), DEFAULT_ROOT_POLICY);
  });
});
