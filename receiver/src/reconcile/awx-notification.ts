import { UnicopError } from '../errors.js';
import type { AwxNotification } from '../generated/awx-notification.js';
import type { SchemaRegistry } from '../schema-registry.js';
import type { FailureClass } from './reconcile-policy.js';

/**
 * AWX's default webhook notification body (`job_metadata`: awx/main/models/notifications.py,
 * UnifiedJob.notification_data + Job.notification_data), typed from `schemas/awx-notification.schema.json`,
 * which checks it at the HTTP boundary. `extra_vars` is a JSON-encoded string.
 */
export type { AwxNotification } from '../generated/awx-notification.js';

/**
 * What the local executor adds to AWX's body (`unicop`): it knows more than AWX's status says (which task
 * failed, that the playbook is missing), so it names the failure class and the message itself.
 * Bounded by the schema (message ≤ 2000 characters) and again here (≤ 1000 in the outcome).
 */
export type LocalExecutorReport = NonNullable<AwxNotification['unicop']>;

/** How much of a local executor's message goes into the outcome. */
export const LOCAL_MESSAGE_MAX = 1000;

/**
 * AWX's documented job statuses (awx/main/models/unified_jobs.py, STATUS_CHOICES). Anything else
 * is `other`: the status is free text in a notification body, and it feeds metric labels.
 */
export const AWX_STATUSES = ['new', 'pending', 'waiting', 'running', 'successful', 'failed', 'error', 'canceled'] as const;
export type AwxStatus = (typeof AWX_STATUSES)[number] | 'other';

export function awxStatusOf(status: unknown): AwxStatus {
  return (AWX_STATUSES as readonly unknown[]).includes(status) ? (status as AwxStatus) : 'other';
}

/** Why a notification was kept as an orphan: a closed set, because it is a metric label. */
export const ORPHAN_REASONS = {
  extraVarsNotJson: 'extra_vars is not JSON',
  extraVarsNotObject: 'extra_vars is not an object',
  noReconcileId: 'no unicop_reconcile_id in extra_vars',
  unknownStatus: 'unknown status',
  noAttempt: 'no such reconcile attempt',
} as const;
export type OrphanReason = (typeof ORPHAN_REASONS)[keyof typeof ORPHAN_REASONS];

export type NotificationReading =
  | { kind: 'started'; reconcileId: string; awxJobId: number | null }
  | { kind: 'finished'; reconcileId: string; awxJobId: number | null; result: 'succeeded' | 'failed'; class: FailureClass | null; message: string }
  | { kind: 'unusable'; reconcileId: string | null; reason: OrphanReason };

const NOTIFICATION_SCHEMA = 'awx-notification.schema.json';

/** The HTTP boundary's check of a notification body: 400 `UNICOP_AWX_BODY_INVALID` with JSON pointers. */
export function createNotificationCheck(registry: SchemaRegistry): (body: unknown) => AwxNotification {
  const isNotification = registry.validator<AwxNotification>(NOTIFICATION_SCHEMA);
  return (body) => {
    if (isNotification(body)) return body;
    throw new UnicopError('UNICOP_AWX_BODY_INVALID', 'the notification does not match the AWX notification body', {
      details: registry.lastErrors(NOTIFICATION_SCHEMA, 5),
    });
  };
}

/**
 * What a notification says about which attempt. The reconcile id travels in `extra_vars` as
 * `unicop_reconcile_id` (the rulebook sets it), or as the EDA event uuid
 * (`ansible_eda.event.meta.uuid`, which the source plugin sets from the Kafka header).
 * Status → outcome: new/pending/waiting/running → started; successful → succeeded; failed →
 * `unreachable` when any host was unreachable (`dark`), else `execution`; error (AWX could not run
 * the job) → `transient`; canceled → `rejected`. A body with the local executor's `unicop` object
 * has no job id; its failed/error status takes the class and message the executor names (config,
 * execution, unreachable) instead of the ones derived from AWX's fields.
 */
export function readNotification(body: AwxNotification): NotificationReading {
  let vars: Record<string, unknown>;
  try {
    vars = typeof body.extra_vars === 'string' ? (JSON.parse(body.extra_vars) as Record<string, unknown>) : (body.extra_vars ?? {});
  } catch {
    return { kind: 'unusable', reconcileId: null, reason: ORPHAN_REASONS.extraVarsNotJson };
  }
  if (vars === null || typeof vars !== 'object') return { kind: 'unusable', reconcileId: null, reason: ORPHAN_REASONS.extraVarsNotObject };
  const eda = (vars.ansible_eda as { event?: { meta?: { uuid?: unknown } } } | undefined)?.event?.meta?.uuid;
  const id = typeof vars.unicop_reconcile_id === 'string' ? vars.unicop_reconcile_id : typeof eda === 'string' ? eda : null;
  if (id === null) return { kind: 'unusable', reconcileId: null, reason: ORPHAN_REASONS.noReconcileId };
  const awxJobId = Number.isSafeInteger(body.id) ? (body.id as number) : null;
  const status = awxStatusOf(body.status);
  const local = body.unicop?.executor === 'local' ? body.unicop : undefined;
  const summary = local ? `local run ${status}` : `AWX job ${awxJobId ?? '?'} ${status}`;
  switch (status) {
    case 'new':
    case 'pending':
    case 'waiting':
    case 'running':
      return { kind: 'started', reconcileId: id, awxJobId };
    case 'successful':
      return { kind: 'finished', reconcileId: id, awxJobId, result: 'succeeded', class: null, message: summary };
    case 'failed':
    case 'error':
      if (local?.failureClass)
        return { kind: 'finished', reconcileId: id, awxJobId, result: 'failed', class: local.failureClass, message: localMessage(summary, local) };
      return failedAsAwx(body, id, awxJobId, status, summary);
    case 'canceled':
      return { kind: 'finished', reconcileId: id, awxJobId, result: 'failed', class: 'rejected', message: summary };
    case 'other':
      return { kind: 'unusable', reconcileId: id, reason: ORPHAN_REASONS.unknownStatus };
  }
}

function localMessage(summary: string, local: LocalExecutorReport): string {
  return local.message ? `${summary}: ${local.message.slice(0, LOCAL_MESSAGE_MAX)}` : summary;
}

/** AWX's failed (a host unreachable → `unreachable`, else `execution`) and error (→ `transient`). */
function failedAsAwx(body: AwxNotification, id: string, awxJobId: number | null, status: 'failed' | 'error', summary: string): NotificationReading {
  switch (status) {
    case 'failed': {
      const unreachable = Object.values(body.hosts ?? {}).some((h) => (h?.dark ?? 0) > 0);
      return { kind: 'finished', reconcileId: id, awxJobId, result: 'failed', class: unreachable ? 'unreachable' : 'execution', message: summary };
    }
    case 'error': {
      const traceback = typeof body.traceback === 'string' ? body.traceback : '';
      return {
        kind: 'finished',
        reconcileId: id,
        awxJobId,
        result: 'failed',
        class: 'transient',
        message: traceback ? `${summary}: ${traceback.slice(0, 500)}` : summary,
      };
    }
  }
}
