import { UnicopError } from '../errors.js';
import type { Logger } from '../log.js';
import { Backoff } from '../retry/backoff.js';
import type { ReconcileStore } from './reconcile-store.js';
import { keepLatest, restoreRoot, type RestoredRoot, type StateMessage, type StateTopicMessage } from './state-restore.js';

/** Each skipped root is logged up to this many; the summary line counts them all by reason. */
const SKIPS_LOGGED = 20;

export interface RebuildMetrics {
  /** 1 while the reconciler waits for, or reads, the state topic. */
  rebuilding(on: boolean): void;
  restored(state: string): void;
  skipped(reason: string): void;
  /** A try that could not read the topic. */
  failed(): void;
}

export interface StateRebuildOptions {
  /** Reads the compacted state topic from its start to the high-water marks taken at the call. */
  read: (onMessage: (m: StateTopicMessage) => void) => Promise<{ exists: boolean; partitions: number; messages: number }>;
  topic: string;
  store: ReconcileStore;
  isStateMessage: (v: unknown) => v is StateMessage;
  /** This cell: another cell's state restores as a root this cell does not hold (state-restore.ts). */
  cell?: string;
  schemaErrors: () => string;
  stopped: () => boolean;
  metrics: RebuildMetrics;
  log: Logger;
  now?: () => number;
}

export interface RebuildSummary {
  restored: number;
  inFlight: number;
  skipped: number;
  messages: number;
}

/**
 * Rebuilds the reconciler's state from `<prefix>.roots.state.v1` when the database is new (the
 * data directory was lost, or this is the first start): last value per root, tombstones delete,
 * every record and attempt in flight stored in one transaction, nothing republished. Retries
 * until Kafka answers — starting on a silently empty state would forget attempts in flight and
 * orphan their AWX outcomes. Resolves null when stopped first.
 */
export async function rebuildUntilDone(options: StateRebuildOptions): Promise<RebuildSummary | null> {
  const now = options.now ?? Date.now;
  options.metrics.rebuilding(true);
  try {
    const backoff = new Backoff('state-rebuild');
    while (!options.stopped()) {
      const started = now();
      const latest = new Map<string, string>();
      let read: Awaited<ReturnType<StateRebuildOptions['read']>>;
      try {
        read = await options.read((m) => keepLatest(latest, m));
      } catch (error) {
        if (options.stopped()) return null;
        // Whatever `read` threw (kafkajs, a crashed consumer), the topic could not be read: retriable.
        const failure = new UnicopError('UNICOP_RECONCILE_STATE_UNREADABLE', 'the state topic could not be read', { cause: error });
        options.metrics.failed();
        options.log.warn(
          { err: error, code: failure.code, topic: options.topic, retryInMs: backoff.nextDelayMs },
          'state topic could not be read; the reconciler waits and retries',
        );
        if (!(await backoff.wait(failure))) return null;
        continue;
      }
      if (options.stopped()) return null;
      const roots: RestoredRoot[] = [];
      const skipped: Array<{ root: string; reason: string; detail: string }> = [];
      for (const [key, value] of latest) {
        const r = restoreRoot(key, value, options.isStateMessage, options.schemaErrors, options.cell);
        if (r.kind === 'restored') roots.push(r.root);
        else skipped.push({ root: key, reason: r.reason, detail: r.detail });
      }
      if (!options.store.restore(roots, now())) {
        options.log.info({ topic: options.topic }, 'another receiver of the shared store rebuilt the reconcile state first; nothing restored here');
        return { restored: 0, inFlight: 0, skipped: 0, messages: read.messages };
      }
      for (const r of roots) options.metrics.restored(r.record.state);
      for (const [i, s] of skipped.entries()) {
        options.metrics.skipped(s.reason);
        if (i < SKIPS_LOGGED) options.log.warn(s, 'state message not restorable; root skipped');
      }
      const summary = { restored: roots.length, inFlight: roots.filter((r) => r.attempt !== null).length, skipped: skipped.length, messages: read.messages };
      options.log.info(
        {
          topic: options.topic,
          topicExists: read.exists,
          partitions: read.partitions,
          ...summary,
          skippedReasons: countBy(skipped.map((s) => s.reason)),
          ms: now() - started,
        },
        'reconcile state rebuilt from the state topic',
      );
      return summary;
    }
    return null;
  } finally {
    options.metrics.rebuilding(false);
  }
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
