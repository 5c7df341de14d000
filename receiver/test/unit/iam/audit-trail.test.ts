import { strict as assert } from 'node:assert';
import { createAuditTrail, DENY_WINDOW_MS } from '../../../src/iam/audit-trail.js';
import { createLogger } from '../../../src/log.js';

describe('audit trail', () => {
  function trail() {
    let now = Date.UTC(2026, 0, 1);
    const written: { key: string; value: Record<string, unknown> }[] = [];
    const counted: string[] = [];
    const audit = createAuditTrail({
      source: 'netbox://test',
      write: (key, _id, value) => written.push({ key, value: JSON.parse(value) as Record<string, unknown> }),
      metrics: { audit: (decision, result) => counted.push(`${decision}/${result}`) },
      log: createLogger('silent'),
      now: () => now,
    });
    return { audit, written, counted, advance: (ms: number) => (now += ms) };
  }
  const deny = { principal: 'anonymous', action: 'roots:read', target: null, scope: null, decision: 'deny', reason: 'no credential' } as const;

  it('keeps one deny per principal and code per second and counts the rest', () => {
    const t = trail();
    for (let i = 0; i < 5; i++) t.audit({ ...deny, code: 'UNICOP_API_TOKEN_MISSING' });
    t.audit({ ...deny, code: 'UNICOP_API_TOKEN_INVALID' });
    t.advance(DENY_WINDOW_MS);
    t.audit({ ...deny, code: 'UNICOP_API_TOKEN_MISSING' });
    assert.equal(t.written.length, 3);
    assert.equal(t.counted.filter((c) => c === 'deny/suppressed').length, 4);
  });

  it('never suppresses an allowed mutating call, and keys each message by its principal', () => {
    const t = trail();
    for (let i = 0; i < 3; i++) {
      t.audit({ principal: 'token:plugin', action: 'roots:reconcile', target: 'dcim.device:1', scope: null, decision: 'allow', reason: 'ok', code: null });
    }
    assert.deepEqual(
      t.written.map((w) => w.key),
      ['token:plugin', 'token:plugin', 'token:plugin'],
    );
    assert.equal((t.written[0]!.value.data as { principal: string }).principal, 'token:plugin');
  });

  it('counts a failed write instead of failing the call', () => {
    const counted: string[] = [];
    const audit = createAuditTrail({
      source: 'netbox://test',
      write: () => {
        throw new Error('SQLITE_FULL');
      },
      metrics: { audit: (decision, result) => counted.push(`${decision}/${result}`) },
      log: createLogger('silent'),
    });
    audit({ ...deny, code: 'UNICOP_API_TOKEN_MISSING' });
    assert.deepEqual(counted, ['deny/failed']);
  });
});
