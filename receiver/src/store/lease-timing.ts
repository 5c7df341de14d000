import { every, type Schedule } from '../retry/schedule.js';

/**
 * The timing every lease of a shared store follows (relay lanes: pipeline/publish/lane-leases.ts;
 * duties: lease.ts): renewed every quarter of its length, so three renewals may fail before it runs
 * out, and used only while more than a third of it is left, so work begun under it (a Kafka send, a
 * poll) ends before another receiver may take it.
 */
export function renewing(ttlMs: number, tick: () => void): Schedule {
  tick();
  return every({ everyMs: Math.max(50, Math.floor(ttlMs / 4)), unref: true, round: tick });
}

/** Whether a lease that runs out at `expiresAt` may still be used at `now`. */
export const usable = (expiresAt: number, now: number, ttlMs: number): boolean => expiresAt - now > ttlMs / 3;
