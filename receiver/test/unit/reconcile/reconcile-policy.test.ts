import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { loadReconcilePolicy } from '../../../src/reconcile/reconcile-policy.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { policyFile } from '../../helpers/policy.js';

const schema = JSON.parse(readFileSync(new URL('../../../../schemas/reconcile-policy.schema.json', import.meta.url), 'utf8')) as {
  properties: { rules: { items: { properties: Record<string, { default?: unknown }> } } };
};

describe('reconcile policy', () => {
  it('fills what a rule leaves out with the defaults written in its schema, and nowhere else', () => {
    const registry = new SchemaRegistry();
    const file = policyFile([{ match: { rootType: 'dcim.device' }, jobTemplate: { name: 't', organization: 'o' } }]);
    const [rule] = loadReconcilePolicy(file, registry).rules;
    const defaults = schema.properties.rules.items.properties;
    assert.ok(rule);
    assert.equal(rule.debounceMs, defaults.debounceMs?.default);
    assert.equal(rule.deadlineMs, defaults.deadlineMs?.default);
    assert.deepEqual(rule.retry, defaults.retry?.default);
    assert.deepEqual([rule.debounceMs, rule.deadlineMs, rule.retry], [2000, 600_000, {}]);
  });

  it('keeps what a rule sets and refuses a rule the schema refuses, naming where', () => {
    const registry = new SchemaRegistry();
    const kept = loadReconcilePolicy(
      policyFile([{ match: { rootType: 'dcim.device' }, jobTemplate: { name: 't', organization: 'o' }, debounceMs: 5, retry: { transient: 1 } }]),
      registry,
    );
    assert.deepEqual([kept.rules[0]?.debounceMs, kept.rules[0]?.retry], [5, { transient: 1 }]);
    assert.throws(
      () => loadReconcilePolicy(policyFile([{ match: { rootType: 'dcim.device' }, jobTemplate: { name: 't', organization: 'o' }, debounceMs: -1 }]), registry),
      (e: { code: string; details: Array<{ pointer: string }> }) =>
        e.code === 'UNICOP_POLICY_INVALID' && e.details.some((detail) => detail.pointer === '/rules/0/debounceMs'),
    );
  });
});
