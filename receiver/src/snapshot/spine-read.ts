import { UnicopError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Backoff } from '../retry/backoff.js';
import type { SpineView } from './spine-view.js';

export interface SpineReadOptions {
  /** `<prefix>.objects.v1` read to its end (rejects with whatever kafkajs threw). */
  read: () => Promise<SpineView>;
  /** Under the `snapshot-spine` policy; its pause is woken by a stop. */
  backoff: Backoff;
  stopped: () => boolean;
  log: Logger;
}

/**
 * Reads the spine, waiting out what Kafka calls retriable: right after the topics were created a
 * partition may have no elected leader yet ("not the leader for that topic-partition"), which
 * settles in seconds and must not fail a snapshot. An error Kafka does not call retriable, or one
 * that outlasts the policy, rejects (the snapshot then fails with `UNICOP_SNAPSHOT_FAILED`).
 */
export async function readSpineRetrying(options: SpineReadOptions): Promise<SpineView> {
  const { backoff, log } = options;
  for (;;) {
    try {
      const spine = await options.read();
      backoff.reset();
      return spine;
    } catch (error) {
      const failure = spineReadFailure(error);
      // Not retriable (or stopping): the snapshot fails with the error as it came.
      if (options.stopped() || !failure) throw error;
      const retryInMs = backoff.nextDelayMs;
      if (!(await backoff.wait(failure))) throw failure;
      log.warn({ code: failure.code, err: error, retryInMs }, 'spine could not be read; retrying');
      if (options.stopped()) throw failure;
    }
  }
}

/**
 * kafkajs' verdict as an `UnicopError` (the boundary classification `retry/backoff.ts` expects), or
 * null when a retry would not help. The innermost kafkajs error of the chain decides, because kafkajs
 * wraps a retriable protocol error in a non-retriable "number of retries exceeded" once its own
 * retries (`kafka-request`) are spent. An error that is not kafkajs' (a bug, a stop) is not retried.
 */
export function spineReadFailure(error: unknown): UnicopError | null {
  const root = innermostKafkaError(error);
  if (root?.retriable !== true) return null;
  return new UnicopError('UNICOP_SNAPSHOT_SPINE_UNREADABLE', `the spine (objects topic) could not be read: ${root.message}`, { cause: error });
}

interface KafkaError {
  name: string;
  message: string;
  retriable: boolean;
}

function innermostKafkaError(error: unknown): KafkaError | null {
  let found: KafkaError | null = null;
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const candidate = e as Partial<KafkaError> & { cause?: unknown; originalError?: unknown };
    if (typeof candidate.name === 'string' && candidate.name.startsWith('KafkaJS') && typeof candidate.retriable === 'boolean') {
      found = candidate as KafkaError;
    }
    e = candidate.originalError ?? candidate.cause;
  }
  return found;
}
