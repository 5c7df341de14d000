import { strict as assert } from 'node:assert';
import { compileAccessPolicy } from '../../../src/iam/access-policy.js';
import type { IamPolicy } from '../../../src/iam/iam-policy.js';
import type { Principal } from '../../../src/iam/principal.js';
import { scopeMatches } from '../../../src/iam/root-scope.js';
import { CONTRACT_EXAMPLE } from '../../helpers/iam.js';

const policy = compileAccessPolicy(CONTRACT_EXAMPLE as unknown as IamPolicy);
const emeaOps: Principal = { kind: 'user', name: 'eve', groups: ['netops-emea'] };
const ams = { tenant: 'acme', site: 'ams1', regions: ['nl', 'benelux', 'emea'] };
const nyc = { tenant: 'acme', site: 'nyc1', regions: ['us-east', 'amer'] };

describe('access policy (role × scope)', () => {
  it('lets a region binding cover a root in a child region, through the ancestry the root carries', () => {
    assert.equal(policy.decide(emeaOps, 'roots:reconcile', ams, []), 'allow');
  });

  it('hides a root outside every scope of the caller (404) and forbids a missing permission in scope (403)', () => {
    assert.equal(policy.decide(emeaOps, 'roots:read', nyc, []), 'hidden');
    assert.equal(policy.decide(emeaOps, 'snapshots:run', ams, []), 'forbidden');
    assert.equal(policy.decide({ kind: 'token', name: 'dashboards' }, 'roots:reconcile', nyc, []), 'forbidden');
  });

  it('lets only "*" bindings see a root without a recorded scope', () => {
    assert.equal(policy.decide(emeaOps, 'roots:read', null, []), 'hidden');
    assert.equal(policy.decide({ kind: 'token', name: 'dashboards' }, 'roots:read', null, []), 'allow');
  });

  it('gives the admin role every permission through "*", to users named in the binding only', () => {
    assert.equal(policy.decide({ kind: 'user', name: 'alice', groups: [] }, 'access:grant', nyc, []), 'allow');
    assert.equal(policy.decide({ kind: 'user', name: 'alicia', groups: ['alice'] }, 'roots:read', nyc, []), 'hidden');
  });

  it('never matches a group binding for a service token of the same name, nor anything for UNICOP_API_TOKENS callers', () => {
    assert.equal(policy.decide({ kind: 'token', name: 'netops-emea' }, 'roots:read', ams, []), 'hidden');
    assert.equal(policy.decide({ kind: 'static', fingerprint: 'token:abc' }, 'roots:read', ams, []), 'hidden');
  });

  it('honours extra bindings (temporary grants) while given, and ignores one naming a role the policy lacks', () => {
    const bob: Principal = { kind: 'user', name: 'bob', groups: [] };
    assert.equal(policy.decide(bob, 'roots:read', nyc, []), 'hidden');
    assert.equal(policy.decide(bob, 'roots:read', nyc, [{ subjects: { users: ['bob'] }, role: 'viewer', scope: { sites: ['nyc1'] } }]), 'allow');
    assert.equal(policy.decide(bob, 'roots:read', nyc, [{ subjects: { users: ['bob'] }, role: 'god', scope: '*' }]), 'hidden');
  });

  it('finds a service token by the SHA-256 of the bearer, and nothing for another bearer', () => {
    assert.equal(policy.tokenName('plugin-token-0123456789'), 'netbox-plugin');
    assert.equal(policy.tokenName('plugin-token-012345678'), null);
  });

  it('matches a scope by any listed tenant, site or region', () => {
    assert.equal(scopeMatches({ tenants: ['acme'] }, nyc), true);
    assert.equal(scopeMatches({ sites: ['ams1'] }, nyc), false);
    assert.equal(scopeMatches({ sites: ['ams1'], regions: ['amer'] }, nyc), true);
    assert.equal(scopeMatches({ regions: ['benelux'] }, { tenant: null, site: null, regions: [] }), false);
  });
});
