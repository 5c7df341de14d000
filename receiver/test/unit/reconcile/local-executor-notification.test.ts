/**
 * The local executor's notification: AWX's body with `id: null` and the additive `unicop` object
 * (schemas/awx-notification.schema.json), read by readNotification. AWX bodies stay read as before.
 */
import { strict as assert } from 'node:assert';
import { createNotificationCheck, readNotification, type AwxNotification } from '../../../src/reconcile/awx-notification.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { UnicopError } from '../../../src/errors.js';

const ID = '6f1d9a52-3c1e-4b8e-9d0a-1b2c3d4e5f60';
const vars = { unicop_reconcile_id: ID, unicop_root: 'dcim.device:7' };

function local(status: string, unicop: Record<string, unknown>, extra: Partial<AwxNotification> = {}): AwxNotification {
  return {
    id: null,
    name: 'render-interfaces',
    status,
    extra_vars: vars,
    hosts: { localhost: { dark: 0, failures: 0 } },
    unicop: { executor: 'local', ...unicop },
    ...extra,
  } as AwxNotification;
}

describe('local executor notification', () => {
  const check = createNotificationCheck(new SchemaRegistry());

  it('accepts AWX’s body with a null job id and the unicop extension', () => {
    const body = local('failed', { failureClass: 'execution', message: "task 'x' failed" });
    assert.deepEqual(check(body), body);
  });

  it('refuses an extension with an unknown executor, an unknown class, an unknown field or a message over 2000 characters', () => {
    for (const unicop of [
      { executor: 'awx' },
      { executor: 'local', failureClass: 'timeout' },
      { executor: 'local', extra: 1 },
      { executor: 'local', message: 'x'.repeat(2001) },
      {},
    ]) {
      assert.throws(
        () => check({ status: 'failed', extra_vars: vars, unicop }),
        (e: unknown) => e instanceof UnicopError && e.code === 'UNICOP_AWX_BODY_INVALID',
        JSON.stringify(unicop).slice(0, 80),
      );
    }
  });

  it('reads a successful local run as succeeded without a job id', () => {
    assert.deepEqual(readNotification(local('successful', {})), {
      kind: 'finished',
      reconcileId: ID,
      awxJobId: null,
      result: 'succeeded',
      class: null,
      message: 'local run successful',
    });
  });

  it('reads a running local run as started', () => {
    assert.deepEqual(readNotification(local('running', {})), { kind: 'started', reconcileId: ID, awxJobId: null });
  });

  it('takes the class and the failed task’s message the executor names', () => {
    const r = readNotification(local('failed', { failureClass: 'execution', message: "task 'apply config' failed on localhost: boom" }));
    assert.deepEqual(r, {
      kind: 'finished',
      reconcileId: ID,
      awxJobId: null,
      result: 'failed',
      class: 'execution',
      message: "local run failed: task 'apply config' failed on localhost: boom",
    });
  });

  it('reads a missing playbook as config even on status error, which AWX’s body alone makes transient', () => {
    const r = readNotification(local('error', { failureClass: 'config', message: 'playbook nope.yml not found' }));
    assert.equal(r.kind === 'finished' && r.class, 'config');
    const awx = readNotification({ ...local('error', {}), unicop: undefined });
    assert.equal(awx.kind === 'finished' && awx.class, 'transient');
  });

  it('names unreachable when the executor says so, although no host counts as dark', () => {
    const r = readNotification(local('failed', { failureClass: 'unreachable', message: 'host web1 unreachable' }));
    assert.equal(r.kind === 'finished' && r.class, 'unreachable');
  });

  it('without a class falls back to AWX’s reading of the hosts (dark → unreachable)', () => {
    const r = readNotification(local('failed', {}, { hosts: { web1: { dark: 1, failures: 0 } } }));
    assert.deepEqual(r, { kind: 'finished', reconcileId: ID, awxJobId: null, result: 'failed', class: 'unreachable', message: 'local run failed' });
  });

  it('bounds the message it keeps to 1000 characters', () => {
    const r = readNotification(local('failed', { failureClass: 'execution', message: 'y'.repeat(2000) }));
    assert.ok(r.kind === 'finished' && r.message.length === 'local run failed: '.length + 1000);
  });

  it('ignores a class on a successful run', () => {
    const r = readNotification(local('successful', { failureClass: 'execution' }));
    assert.equal(r.kind === 'finished' && r.result, 'succeeded');
  });

  it('reads an AWX body without the extension exactly as before', () => {
    const awx: AwxNotification = { id: 41, status: 'failed', extra_vars: JSON.stringify(vars), hosts: { h: { dark: 0, failures: 1 } } };
    assert.deepEqual(readNotification(awx), {
      kind: 'finished',
      reconcileId: ID,
      awxJobId: 41,
      result: 'failed',
      class: 'execution',
      message: 'AWX job 41 failed',
    });
  });
});
