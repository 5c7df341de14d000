import { assertMatchesOpenapi } from './openapi.js';
import type { TestReceiver } from './receiver.js';

/** AWX's default job notification body (job 31 of the device template) about the attempt `reconcileId`; `extra` on top. */
export function awxBody(reconcileId: string, status: string, extra: Record<string, unknown> = {}) {
  return {
    id: 31,
    name: 'reconcile-device',
    url: 'https://awx/#/jobs/playbook/31',
    status,
    started: '2026-01-01T00:00:00Z',
    finished: null,
    extra_vars: JSON.stringify({ unicop_reconcile_id: reconcileId, unicop_root: 'dcim.device:42' }),
    hosts: {},
    ...extra,
  };
}

/** POSTs a notification as AWX does, and checks the answer against the OpenAPI document. */
export async function postNotification(t: TestReceiver, body: unknown, authorization: string) {
  const res = await t.http
    .post('/v1/awx/notifications')
    .set('authorization', authorization)
    .send(body as object);
  assertMatchesOpenapi('POST', '/v1/awx/notifications', res);
  return res;
}
