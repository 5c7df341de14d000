import { rootRefOf } from './handover-messages.js';
import type { Command, RootRecord } from './state-machine.js';

export const COMMAND_DATASCHEMA = 'https://unicop.dev/schemas/reconcile-command.v1.schema.json';
export const ROOT_STATE_DATASCHEMA = 'https://unicop.dev/schemas/root-state.v1.schema.json';
export const OUTCOME_DATASCHEMA = 'https://unicop.dev/schemas/reconcile-outcome.v1.schema.json';

/** The CloudEvents attributes every message of the reconciler carries. */
export function envelope(id: string, source: string, type: string, root: string, data: unknown, now: number) {
  return {
    specversion: '1.0',
    id,
    source,
    type,
    subject: root,
    time: new Date(now).toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}

/**
 * `unicop.reconcile.command` (schemas/reconcile-command.v1.schema.json). The root's model and id in
 * `extraVars` come without a source prefix: a playbook asks NetBox for a `dcim.device`, never for
 * an `nb-eu/dcim.device`.
 */
export function commandEnvelope(c: Command, source: string, now: number) {
  const ref = rootRefOf(c.root);
  return {
    ...envelope(c.reconcileId, source, 'unicop.reconcile.command', c.root, undefined, now),
    dataschema: COMMAND_DATASCHEMA,
    data: {
      ...c,
      extraVars: {
        unicop_reconcile_id: c.reconcileId,
        unicop_root: c.root,
        unicop_root_type: ref.type,
        unicop_root_id: ref.id,
        unicop_attempt: c.attempt,
        unicop_events: c.triggeringEvents,
        unicop_event_count: c.triggeringEventCount,
        unicop_desired_version: c.desiredVersion,
      },
    },
  };
}

/**
 * The data of a `unicop.root.state` message (`schemas/root-state.v1.schema.json`): the root's
 * reconcile fields, then what `restoreRoot` (state-restore.ts) needs to rebuild the whole record
 * after the data directory was lost. Event lists are bounded samples with their counts
 * (event-sample.ts), so the message has a fixed upper size. The HTTP API maps the record itself
 * (api/root-view.ts); this shape is the state topic's contract only. `cell` names the publishing
 * cell: cells share the state topic of a route, and a rebuild must tell its own state from another's.
 */
export function stateData(r: RootRecord, cell?: string) {
  return {
    root: r.root,
    state: r.state,
    attempt: r.attempt,
    inFlight: r.inFlight && {
      reconcileId: r.inFlight.reconcileId,
      attempt: r.inFlight.attempt,
      requestedAt: r.inFlight.requestedAt,
      deadline: r.inFlight.deadline,
      awxJobId: r.inFlight.awxJobId,
      triggeringEvents: r.inFlight.events,
      triggeringEventCount: r.inFlight.eventCount,
      ...(r.inFlight.desiredVersion === undefined ? {} : { desiredVersion: r.inFlight.desiredVersion }),
    },
    lastOutcome: r.lastOutcome,
    pendingFollowUp: r.followUpEventCount > 0,
    rule: r.rule,
    pendingEvents: r.pendingEvents,
    pendingEventCount: r.pendingEventCount,
    followUpEvents: r.followUpEvents,
    followUpEventCount: r.followUpEventCount,
    dueAt: r.dueAt === null ? null : new Date(r.dueAt).toISOString(),
    // Additive: a record that never succeeded with a projection keeps the message's earlier bytes.
    ...(r.appliedVersion === undefined ? {} : { appliedVersion: r.appliedVersion }),
    // Additive, federation (ownership.ts): absent from records and receivers before it.
    ...(cell === undefined ? {} : { cell }),
    ...(r.owner === undefined ? {} : { owner: r.owner }),
    ...(r.ownership === undefined ? {} : { ownership: r.ownership }),
    ...(r.route === undefined ? {} : { route: r.route }),
    ...(r.scope === undefined ? {} : { scope: r.scope }),
    ...(r.moved === undefined ? {} : { moved: r.moved }),
  };
}
