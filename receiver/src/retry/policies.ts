/**
 * Every retry policy of the receiver, by name: the one place that says how often and how fast
 * anything is tried again. `docs/retries.md` lists this table (a test keeps the two identical);
 * ESLint keeps timers and backoff arithmetic out of every module but `retry/`.
 *
 * - `backoff`: wait `initialMs`, then `factor` times longer each retry up to `maxMs`, ± `jitter`
 *   (a fraction). Only errors whose `retriable` flag is set are retried (`backoff.ts`).
 * - `interval`: a polling loop; a failed round is retried by the next round, `setting` apart.
 * - `kafkajs` and `got`: the numbers handed to those libraries, which retry inside a call.
 */
export const FOREVER = 'forever';

export interface BackoffPolicy {
  kind: 'backoff' | 'kafkajs';
  initialMs: number;
  factor: number;
  maxMs: number;
  retries: number | typeof FOREVER;
  jitter: number;
  /** What is retried, and by which module (for the docs). */
  what: string;
}

export interface IntervalPolicy {
  kind: 'interval';
  /** The setting whose value separates rounds. */
  setting: string;
  retries: number | typeof FOREVER;
  what: string;
}

export interface LibraryPolicy {
  kind: 'got';
  retries: number;
  what: string;
}

export type RetryPolicy = BackoffPolicy | IntervalPolicy | LibraryPolicy;

export const RETRY_POLICIES = {
  relay: {
    kind: 'backoff',
    initialMs: 100,
    factor: 2,
    maxMs: 5000,
    retries: FOREVER,
    jitter: 0,
    what: '`publish/relay.ts`: a batch Kafka did not acknowledge (broker unavailable, fenced producer, too large); the rows stay in the outbox and go again',
  },
  'cursor-write': {
    kind: 'backoff',
    initialMs: 100,
    factor: 2,
    maxMs: 5000,
    retries: FOREVER,
    jitter: 0,
    what: '`publish/relay.ts`: recording the position of a batch Kafka acknowledged (SQLite full or failing); nothing is resent meanwhile',
  },
  'relay-thread': {
    kind: 'backoff',
    initialMs: 1000,
    factor: 2,
    maxMs: 30000,
    retries: FOREVER,
    jitter: 0,
    what: '`relay-thread.ts`: a new relay thread after the last one died (`UNICOP_PUBLISH_RELAY_THREAD_FAILED`); back to the first delay once it reaches Kafka',
  },
  'consumer-start': {
    kind: 'backoff',
    initialMs: 200,
    factor: 2,
    maxMs: 5000,
    retries: FOREVER,
    jitter: 0,
    what: '`publish/topic-consumer.ts`: joining the group and subscribing (Kafka away, topic not created yet)',
  },
  'state-rebuild': {
    kind: 'backoff',
    initialMs: 200,
    factor: 2,
    maxMs: 5000,
    retries: FOREVER,
    jitter: 0,
    what: '`reconcile/state-rebuild.ts`: reading `<prefix>.roots.state.v1` on a new database; the reconciler does not start before it succeeds',
  },
  'snapshot-spine': {
    kind: 'backoff',
    initialMs: 200,
    factor: 2,
    maxMs: 5000,
    retries: 10,
    jitter: 0,
    what: "`snapshot/spine-read.ts`: reading `<prefix>.objects.v1` to its end at a snapshot's start (a topic just created whose leader is not elected yet, Kafka away); after the last retry (about 30 s) the snapshot fails",
  },
  catchup: {
    kind: 'interval',
    setting: 'UNICOP_CATCHUP_INTERVAL_MS',
    retries: FOREVER,
    what: '`catchup/changelog-catchup.ts`: a changelog poll that failed (NetBox unreachable, bad answer, outbox refusing writes)',
  },
  'catchup-row': {
    kind: 'interval',
    setting: 'UNICOP_CATCHUP_INTERVAL_MS',
    retries: 2,
    what: '`catchup/changelog-catchup.ts`: one row whose object fetch failed; it holds the mark, and after its last retry becomes a reject',
  },
  'awx-poll': {
    kind: 'interval',
    setting: 'UNICOP_AWX_POLL_INTERVAL_MS',
    retries: FOREVER,
    what: '`reconcile/outcome-poller.ts`: an AWX outcome poll that failed',
  },
  'kafka-request': {
    kind: 'kafkajs',
    initialMs: 200,
    factor: 2,
    maxMs: 1000,
    retries: 1,
    jitter: 0.2,
    what: '`publish/kafka-client.ts`: any kafkajs request (admin, metadata); the loops above own the visible, metered backoff beyond it',
  },
  'kafka-lane-producer': {
    kind: 'kafkajs',
    initialMs: 20,
    factor: 2,
    maxMs: 3000,
    retries: 8,
    jitter: 0.2,
    what: "`publish/lane-transactions.ts`: a relay lane's transactional producer (send, add partitions, commit); a transaction begun right after the last commit is answered CONCURRENT_TRANSACTIONS until the broker wrote that commit's markers (milliseconds), so the first retry comes soon",
  },
  'kafka-consumer': {
    kind: 'kafkajs',
    initialMs: 300,
    factor: 2,
    maxMs: 30_000,
    retries: 5,
    jitter: 0.2,
    what: '`publish/topic-consumer.ts`, `publish/read-topic.ts`: consumer requests (kafkajs defaults)',
  },
  'http-client': {
    kind: 'got',
    retries: 0,
    what: '`clients/`: NetBox and AWX calls; the catch-up and the AWX poller ask again at their next round',
  },
} as const satisfies Record<string, RetryPolicy>;

export type RetryPolicyName = keyof typeof RETRY_POLICIES;
