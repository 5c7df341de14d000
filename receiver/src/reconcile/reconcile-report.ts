import type { Logger } from '../log.js';
import type { OwnershipNote } from './ownership.js';
import type { ReconcilerMetrics } from './reconciler.js';
import type { Effect } from './state-machine.js';

/** Metrics and info log lines of a committed transition: its commands, outcomes and handover steps. */
export function reportTransition(root: string, cell: string, effects: Effect[], notes: OwnershipNote[], metrics: ReconcilerMetrics, log: Logger): void {
  for (const effect of effects) {
    if (effect.kind === 'command') {
      const c = effect.command;
      metrics.command(c.attempt);
      log.info({ root, reconcileId: c.reconcileId, attempt: c.attempt, template: c.jobTemplate.name }, 'reconcile requested');
    } else {
      const o = effect.outcome;
      metrics.outcome(o.result, o.class);
      log.info({ root, reconcileId: o.reconcileId, result: o.result, class: o.class }, 'reconcile outcome');
    }
  }
  for (const note of notes) reportHandover(root, cell, note, metrics, log);
}

function reportHandover(root: string, cell: string, note: OwnershipNote, metrics: ReconcilerMetrics, log: Logger): void {
  switch (note.kind) {
    case 'releasing':
      return log.info({ root, from: cell, to: note.to }, 'root moved to another cell: no new attempt here; released once the attempt in flight ends');
    case 'cancelled':
      return log.info({ root, cell }, 'root moved back before it was released: owned here again');
    case 'adopting':
      return log.info({ root, from: note.from, to: cell }, 'root moved to this cell: adopting, no attempt until its release is read');
    case 'abandoned':
      metrics.dropped(note.dropped);
      return log.info({ root, to: note.to, dropped: note.dropped }, 'root moved on before its release came: the changes that waited here are dropped');
    case 'released':
      metrics.handover('released');
      metrics.dropped(note.dropped);
      return log.info({ root, from: cell, to: note.to, dropped: note.dropped }, 'root released to its new owner; changes not yet reconciled here are dropped');
    case 'passed':
      metrics.handover('released');
      return log.info({ root, from: note.release.from, via: cell, to: note.to }, 'release passed on: the root moved on before the release came');
    case 'adopted':
      metrics.handover('adopted');
      return log.info({ root, from: note.release.from, to: cell, releasedId: note.release.id }, 'root adopted: reconciled here from now on');
  }
}
