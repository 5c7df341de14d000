import { Counter, Gauge, type Registry } from 'prom-client';
import type { Repair } from './compare.js';

export interface SnapshotMetrics {
  /** A snapshot ended (a run interrupted by a stop is not an end: it continues at the next start). */
  ended(result: 'completed' | 'failed'): void;
  repaired(action: Repair['action']): void;
  /** HTTP requests the snapshot made to NetBox since the last call. */
  requested(requests: number): void;
  /** The running snapshot's share done (0..1); null when none runs. */
  progress(ratio: number | null): void;
}

export function createSnapshotMetrics(registry: Registry): SnapshotMetrics {
  const runs = new Counter({
    name: 'unicop_snapshot_runs_total',
    help: 'Snapshots that ended, by result: completed (a unicop.snapshot.completed frame) or failed (UNICOP_SNAPSHOT_FAILED, see GET /v1/snapshots/{id}).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const repairs = new Counter({
    name: 'unicop_snapshot_repairs_total',
    help: 'Repair events a snapshot made (data.netbox.via = "snapshot"), by action: created, updated, deleted. Steadily above 0 means webhooks and the changelog catch-up are losing changes.',
    labelNames: ['action'] as const,
    registers: [registry],
  });
  const requests = new Counter({
    name: 'unicop_snapshot_netbox_requests_total',
    help: 'HTTP requests snapshots made to NetBox (at most UNICOP_SNAPSHOT_RATE per second).',
    registers: [registry],
  });
  const running = new Gauge({
    name: 'unicop_snapshot_running',
    help: '1 while a snapshot runs on this receiver, else 0.',
    registers: [registry],
  });
  const progress = new Gauge({
    name: 'unicop_snapshot_progress_ratio',
    help: "The running snapshot's share done, 0 to 1: object types finished plus the part of the current type read (by NetBox's count of what was left of it when this process reached it), over its object types. 0 when none runs.",
    registers: [registry],
  });
  running.set(0);
  progress.set(0);
  return {
    ended: (result) => runs.inc({ result }),
    repaired: (action) => repairs.inc({ action }),
    requested: (n) => {
      if (n > 0) requests.inc(n);
    },
    progress: (ratio) => {
      running.set(ratio === null ? 0 : 1);
      progress.set(ratio ?? 0);
    },
  };
}
