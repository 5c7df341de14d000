import type { AwxJob } from '../clients/awx-client.js';
import type { Logger } from '../log.js';
import { every, type Schedule } from '../retry/schedule.js';
import type { AwxNotification } from './awx-notification.js';
import type { AttemptRow } from './reconcile-store.js';

const TERMINAL = new Set(['successful', 'failed', 'error', 'canceled']);

export interface OutcomePollerOptions {
  awx: { job(id: number): Promise<AwxJob>; jobsForEvent(uuid: string): Promise<AwxJob[]> };
  unresolved: (now: number) => AttemptRow[];
  notify: (body: AwxNotification) => unknown;
  intervalMs: number;
  failed: () => void;
  /** Whether this receiver polls now (one receiver of a shared store does, holding a lease: store/lease.ts). */
  active?: () => boolean;
  log: Logger;
}

/**
 * AWX sends each notification once and never retries it (awx#8226, #2982), so an attempt past half
 * its deadline without an outcome is looked up in AWX's API: by job id when a notification told
 * it, else by ansible-rulebook's `eda-event-uuid-<reconcile id>` label. A finished job is fed to
 * the reconciler exactly like a notification. Jobs AWX does not know end at the deadline as
 * `timed_out`.
 */
export class OutcomePoller {
  private schedule: Schedule | null = null;

  constructor(private readonly options: OutcomePollerOptions) {}

  /** Polls every `intervalMs` (after each poll ended); a failed poll is retried by the next (`awx-poll` policy). */
  start(): void {
    this.schedule = every({
      everyMs: this.options.intervalMs,
      round: () =>
        (this.options.active?.() === false ? Promise.resolve(0) : this.poll()).catch((error: unknown) => {
          this.options.failed();
          this.options.log.warn({ err: error }, 'AWX outcome poll failed; the next round tries again');
        }),
    });
  }

  async stop(): Promise<void> {
    await this.schedule?.stop();
  }

  async poll(): Promise<number> {
    let found = 0;
    for (const attempt of this.options.unresolved(Date.now())) {
      const job = attempt.awxJobId !== null ? await this.options.awx.job(attempt.awxJobId) : (await this.options.awx.jobsForEvent(attempt.reconcileId))[0];
      if (!job || !TERMINAL.has(job.status)) continue;
      this.options.log.info(
        { reconcileId: attempt.reconcileId, awxJobId: job.id, status: job.status },
        'outcome found by polling AWX (no notification arrived)',
      );
      this.options.notify({
        id: job.id,
        status: job.status,
        // The label or job id already ties the job to the attempt, even if AWX dropped the extra vars.
        extra_vars: { ...parseVars(job.extra_vars), unicop_reconcile_id: attempt.reconcileId },
        traceback: job.result_traceback ?? null,
        started: job.started ?? null,
        finished: job.finished ?? null,
      });
      found++;
    }
    return found;
  }
}

function parseVars(text: string | undefined): Record<string, unknown> {
  try {
    const vars: unknown = JSON.parse(text ?? '{}');
    return vars !== null && typeof vars === 'object' ? (vars as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
