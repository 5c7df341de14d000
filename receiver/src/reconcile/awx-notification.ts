import type { FailureClass } from './reconcile-policy.js';

/**
 * AWX's default webhook notification body (`job_metadata`: awx/main/models/notifications.py,
 * UnifiedJob.notification_data + Job.notification_data). `extra_vars` is a JSON-encoded string.
 */
export interface AwxNotification {
  id?: number;
  name?: string;
  url?: string;
  status?: string;
  started?: string | null;
  finished?: string | null;
  traceback?: string | null;
  extra_vars?: string | Record<string, unknown>;
  hosts?: Record<string, { dark?: number; failures?: number; failed?: boolean }>;
}

export type NotificationReading =
  | { kind: 'started'; reconcileId: string; awxJobId: number | null }
  | { kind: 'finished'; reconcileId: string; awxJobId: number | null; result: 'succeeded' | 'failed'; class: FailureClass | null; message: string }
  | { kind: 'unusable'; reconcileId: string | null; reason: string };

/**
 * What a notification says about which attempt. The reconcile id travels in `extra_vars` as
 * `unicop_reconcile_id` (the rulebook sets it), or as the EDA event uuid
 * (`ansible_eda.event.meta.uuid`, which the source plugin sets from the Kafka header).
 * Status → outcome: successful → succeeded; failed → `unreachable` when any host was unreachable
 * (`dark`), else `execution`; error (AWX could not run the job) → `transient`; canceled → `rejected`.
 */
export function readNotification(body: AwxNotification): NotificationReading {
  let vars: Record<string, unknown>;
  try {
    vars = typeof body.extra_vars === 'string' ? (JSON.parse(body.extra_vars) as Record<string, unknown>) : (body.extra_vars ?? {});
  } catch {
    return { kind: 'unusable', reconcileId: null, reason: 'extra_vars is not JSON' };
  }
  if (vars === null || typeof vars !== 'object') return { kind: 'unusable', reconcileId: null, reason: 'extra_vars is not an object' };
  const eda = (vars.ansible_eda as { event?: { meta?: { uuid?: unknown } } } | undefined)?.event?.meta?.uuid;
  const id = typeof vars.unicop_reconcile_id === 'string' ? vars.unicop_reconcile_id : typeof eda === 'string' ? eda : null;
  if (id === null) return { kind: 'unusable', reconcileId: null, reason: 'no unicop_reconcile_id in extra_vars' };
  const awxJobId = Number.isSafeInteger(body.id) ? (body.id as number) : null;
  const summary = `AWX job ${awxJobId ?? '?'} ${body.status ?? 'unknown'}`;
  switch (body.status) {
    case 'pending':
    case 'waiting':
    case 'running':
      return { kind: 'started', reconcileId: id, awxJobId };
    case 'successful':
      return { kind: 'finished', reconcileId: id, awxJobId, result: 'succeeded', class: null, message: summary };
    case 'failed': {
      const unreachable = Object.values(body.hosts ?? {}).some((h) => (h.dark ?? 0) > 0);
      return { kind: 'finished', reconcileId: id, awxJobId, result: 'failed', class: unreachable ? 'unreachable' : 'execution', message: summary };
    }
    case 'error':
      return { kind: 'finished', reconcileId: id, awxJobId, result: 'failed', class: 'transient', message: body.traceback ? `${summary}: ${body.traceback.slice(0, 500)}` : summary };
    case 'canceled':
      return { kind: 'finished', reconcileId: id, awxJobId, result: 'failed', class: 'rejected', message: summary };
    default:
      return { kind: 'unusable', reconcileId: id, reason: `unknown status ${String(body.status)}` };
  }
}
