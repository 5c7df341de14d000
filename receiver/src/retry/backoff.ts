import { isUnicopError } from '../errors.js';
import { Pause } from './pause.js';
import { FOREVER, RETRY_POLICIES, type BackoffPolicy, type RetryPolicyName } from './policies.js';

type BackoffName = { [K in RetryPolicyName]: (typeof RETRY_POLICIES)[K] extends { kind: 'backoff' } ? K : never }[RetryPolicyName];

/**
 * Whether the same operation may succeed later: the error's `retriable` flag, nothing else
 * (kafkajs' habit). Foreign errors (kafkajs, got, SQLite) are classified into an `UnicopError` at
 * the boundary that meets them; anything unclassified is not retried.
 */
export function isRetriable(error: unknown): boolean {
  return isUnicopError(error) && error.retriable;
}

/** Whether `error` may be retried once more under `name`, after `retriesSoFar` retries. */
export function shouldRetry(name: RetryPolicyName, error: unknown, retriesSoFar: number): boolean {
  const { retries } = RETRY_POLICIES[name];
  return isRetriable(error) && (retries === FOREVER || retriesSoFar < retries);
}

/** How many times `name` retries (tries after the first); Infinity for `forever`. */
export function retriesOf(name: RetryPolicyName): number {
  const { retries } = RETRY_POLICIES[name];
  return retries === FOREVER ? Infinity : retries;
}

/** The wait before retry number `retry` (0 for the first): `initialMs × factor^retry`, at most `maxMs`, ± jitter. */
export function retryDelay(
  policy: Pick<BackoffPolicy, 'initialMs' | 'factor' | 'maxMs' | 'jitter'>,
  retry: number,
  random: () => number = Math.random,
): number {
  // factor ** retry grows to Infinity after many retries, which the cap absorbs (0 × Infinity would not).
  const base = policy.initialMs === 0 ? 0 : Math.min(policy.maxMs, policy.initialMs * policy.factor ** retry);
  if (policy.jitter === 0) return base;
  return Math.round(base * (1 - policy.jitter + 2 * policy.jitter * random()));
}

/** Test and option hooks: shorter delays, a clock-free random. */
export interface BackoffOverrides {
  initialMs?: number;
  maxMs?: number;
  /** The relay's: its `wake()` ends a backoff early too. */
  pause?: Pause;
  random?: () => number;
}

/**
 * One loop's backoff under a named policy: `wait(error)` sleeps the next delay and says whether to
 * try again; `reset()` after a success starts over from the initial delay.
 */
export class Backoff {
  private retries = 0;
  private readonly policy: BackoffPolicy;
  private readonly pause: Pause;
  private readonly random: () => number;

  constructor(
    readonly name: BackoffName,
    overrides: BackoffOverrides = {},
  ) {
    const base = RETRY_POLICIES[name];
    this.policy = { ...base, initialMs: overrides.initialMs ?? base.initialMs, maxMs: overrides.maxMs ?? base.maxMs };
    this.pause = overrides.pause ?? new Pause();
    this.random = overrides.random ?? Math.random;
  }

  /** The delay the next `wait` sleeps (before jitter). */
  get nextDelayMs(): number {
    return retryDelay(this.policy, this.retries, () => 0.5);
  }

  /**
   * Resolves true after the next delay when `error` may be retried, false at once when it may not
   * (not retriable, or the policy's retries are spent).
   */
  async wait(error: unknown): Promise<boolean> {
    if (!shouldRetry(this.name, error, this.retries)) return false;
    const ms = retryDelay(this.policy, this.retries++, this.random);
    await this.pause.for(ms);
    return true;
  }

  reset(): void {
    this.retries = 0;
  }
}
