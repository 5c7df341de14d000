import { strict as assert } from 'node:assert';
import { rmSync } from 'node:fs';
import { UnicopError } from '../../../src/errors.js';
import { loadIamPolicy } from '../../../src/iam/iam-policy.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { CONTRACT_EXAMPLE, iamPolicyFile, sha256hex } from '../../helpers/iam.js';

const registry = new SchemaRegistry();

function problemsOf(policy: unknown): { pointer?: string; message: string }[] {
  const path = iamPolicyFile(policy);
  try {
    loadIamPolicy(path, registry);
    return [];
  } catch (error) {
    assert.ok(error instanceof UnicopError);
    assert.equal(error.code, 'UNICOP_POLICY_INVALID');
    return [...error.details];
  } finally {
    rmSync(path, { force: true });
  }
}

describe('IAM policy loader (UNICOP_IAM_POLICY)', () => {
  it("takes the contract's example as it is", () => {
    assert.deepEqual(problemsOf(CONTRACT_EXAMPLE), []);
  });

  it('lists every problem at once: an unknown role, a malformed scope, an unknown token, duplicate names and hashes', () => {
    const policy = structuredClone(CONTRACT_EXAMPLE) as unknown as { tokens: object[]; bindings: object[] };
    policy.bindings.push({ subjects: { users: ['bob'] }, role: 'superuser', scope: '*' });
    policy.bindings.push({ subjects: { users: ['carol'] }, role: 'viewer', scope: { countries: ['nl'] } });
    policy.bindings.push({ subjects: { tokens: ['ci'] }, role: 'viewer', scope: '*' });
    policy.tokens.push({ name: 'dashboards', sha256: sha256hex('another-token-0123456789') });
    policy.tokens.push({ name: 'copy', sha256: sha256hex('plugin-token-0123456789') });
    const problems = problemsOf(policy);
    const at = (pointer: string) => problems.filter((p) => p.pointer === pointer).map((p) => p.message);
    assert.deepEqual(at('/bindings/4/role'), ['unknown role "superuser"']);
    assert.ok(at('/bindings/5/scope').length > 0, JSON.stringify(problems));
    assert.deepEqual(at('/bindings/6/subjects/tokens/0'), ['token "ci" is not in tokens']);
    assert.deepEqual(at('/tokens/2/name'), ['duplicate token name "dashboards"']);
    assert.deepEqual(at('/tokens/3/sha256'), ['duplicate token hash (two names for one token)']);
  });

  it('refuses a file that is not JSON, and never quotes a token hash in a problem', () => {
    assert.equal(problemsOf('{"version": 1,').length, 1);
    const policy = structuredClone(CONTRACT_EXAMPLE);
    policy.tokens.push({ name: 'again', sha256: policy.tokens[0]!.sha256 });
    assert.ok(!JSON.stringify(problemsOf(policy)).includes(policy.tokens[0]!.sha256));
  });

  it('refuses a wrong version, a permission it does not know and an upper-case hash', () => {
    const problems = problemsOf({
      version: 2,
      roles: { viewer: ['roots:write'] },
      tokens: [{ name: 'x', sha256: sha256hex('t').toUpperCase() }],
      bindings: [],
    });
    const pointers = problems.map((p) => p.pointer);
    for (const p of ['/version', '/roles/viewer/0', '/tokens/0/sha256']) assert.ok(pointers.includes(p), `${p} in ${JSON.stringify(pointers)}`);
  });
});
