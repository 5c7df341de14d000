import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReconcilerMetrics } from './reconciler.js';
import type { RebuildMetrics } from './state-rebuild.js';

/**
 * The reconcile loop's metrics: the reconciler's, the state rebuild's, and `consumerErrors`, which
 * the events consumer, the rebuild and the AWX poller share.
 */
export function createReconcileMetrics(registry: Registry) {
  const commands = new Counter({
    name: 'unicop_reconcile_commands_total',
    help: 'Reconcile commands published, by attempt kind (first or retry).',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const outcomes = new Counter({
    name: 'unicop_reconcile_outcomes_total',
    help: 'Reconcile outcomes, by result and failure class.',
    labelNames: ['result', 'class'] as const,
    registers: [registry],
  });
  const orphans = new Counter({
    name: 'unicop_reconcile_orphans_total',
    help: 'AWX notifications that matched no reconcile attempt (kept in reconcile_orphans), by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const awxNotifications = new Counter({
    name: 'unicop_awx_notifications_total',
    help: "AWX notifications (and poll results) by job status: AWX's documented statuses, anything else as other.",
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const poisonRecords = new Counter({
    name: 'unicop_reconcile_poison_records_total',
    help: 'Records of the events topic the reconciler could not read (not JSON, too deep, not an envelope), kept as rejects and skipped, by error code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const unmanaged = new Counter({
    name: 'unicop_reconcile_unmanaged_events_total',
    help: 'Events of the events topic the reconciler did not reconcile because they are marked data.managed = false (UNICOP_INVENTORY_POLICY: outside the managed set, or their root was not admitted under a cap).',
    registers: [registry],
  });
  const consumerErrors = new Counter({
    name: 'unicop_consumer_errors_total',
    help: 'Consumer start failures, failed reads of the state topic during a rebuild, and messages whose handling failed (redelivered by Kafka).',
    registers: [registry],
  });
  const handovers = new Counter({
    name: 'unicop_reconcile_handovers_total',
    help: 'Ownership handovers this cell published on the events topic (UNICOP_FEDERATION): released (it gave a root up, or passed a release on to the owner) and adopted (it took one over).',
    labelNames: ['direction'] as const,
    registers: [registry],
  });
  const droppedEvents = new Counter({
    name: 'unicop_reconcile_handover_dropped_events_total',
    help: 'Changes not reconciled by this cell because their root moved to another cell before they ran (a debounce window or follow-up at the release, or changes that waited for an adoption that never came); the new owner reconciles the root.',
    registers: [registry],
  });
  const ignoredRequests = new Counter({
    name: 'unicop_reconcile_requests_ignored_total',
    help: 'Reconcile requests for roots this cell does not own, by its part in the root (releasing, adopting, foreign): the owning cell acts on them.',
    labelNames: ['ownership'] as const,
    registers: [registry],
  });
  let waitingSource: (() => Record<'releasing' | 'adopting', number>) | null = null;
  new Gauge({
    name: 'unicop_reconcile_handover_waiting_roots',
    help: 'Roots waiting for a handover in the store: releasing (this cell ends the attempt in flight, then releases) and adopting (this cell waits for the release). Read at each scrape.',
    labelNames: ['ownership'] as const,
    registers: [registry],
    collect() {
      if (!waitingSource) return;
      try {
        for (const [ownership, roots] of Object.entries(waitingSource())) this.set({ ownership }, roots);
      } catch {
        // The store is unavailable (store-health reports it); the gauge keeps its last values.
      }
    },
  });
  const reconcile: ReconcilerMetrics = {
    command: (attempt) => commands.inc({ kind: attempt === 1 ? 'first' : 'retry' }),
    outcome: (result, failureClass) => outcomes.inc({ result, class: failureClass ?? 'none' }),
    orphan: (reason) => orphans.inc({ reason }),
    notification: (status) => awxNotifications.inc({ status }),
    poison: (code) => poisonRecords.inc({ code }),
    unmanaged: () => unmanaged.inc(),
    handover: (direction) => handovers.inc({ direction }),
    dropped: (events) => droppedEvents.inc(events),
    requestIgnored: (ownership) => ignoredRequests.inc({ ownership }),
  };
  /** The reconcile loop hands over its store once it exists. */
  const countWaiting = (source: () => Record<'releasing' | 'adopting', number>): void => {
    waitingSource = source;
  };

  const rebuilding = new Gauge({
    name: 'unicop_reconcile_rebuilding',
    help: '1 while the reconciler, started on a new database, waits for or reads <prefix>.roots.state.v1 (it neither consumes nor answers until done).',
    registers: [registry],
  });
  const rebuiltRoots = new Counter({
    name: 'unicop_reconcile_rebuilt_roots_total',
    help: 'Roots restored from <prefix>.roots.state.v1 after the data directory was lost, by their restored reconcile state (requested and running are in flight).',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const rebuildSkipped = new Counter({
    name: 'unicop_reconcile_rebuild_skipped_total',
    help: 'Roots whose latest state message could not be restored (not_json, schema, inconsistent); the log names each.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const rebuild: RebuildMetrics = {
    rebuilding: (on) => rebuilding.set(on ? 1 : 0),
    restored: (state) => rebuiltRoots.inc({ state }),
    skipped: (reason) => rebuildSkipped.inc({ reason }),
    failed: () => consumerErrors.inc(),
  };
  return { reconcile, rebuild, consumerErrors, countWaiting };
}

export type ReconcileLoopMetrics = ReturnType<typeof createReconcileMetrics>;
