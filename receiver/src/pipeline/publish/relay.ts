import { Partitioners, type Admin, type Kafka, type Message, type Producer } from 'kafkajs';
import { UnicopError, type ErrorCode } from '../../errors.js';
import { CLOUDEVENTS_CONTENT_TYPE } from '../../model/event.js';
import { TOMBSTONE } from '../../model/tombstone.js';
import type { Logger } from '../../log.js';
import { Backoff } from '../../retry/backoff.js';
import { lateAfter } from '../../retry/late.js';
import { Pause, sleep } from '../../retry/pause.js';
import { RETRY_POLICIES } from '../../retry/policies.js';
import { kafkajsRetry } from './kafka-client.js';
import { classifyPublishError, socketErrorCode, type PublishFailure } from './producer-errors.js';
import { ensureTopics, type TopicNames } from './topics.js';

/** Between looks for new rows when nothing woke the relay. */
const IDLE_MS = 1000;
/**
 * A batch unacknowledged this long: the broker is not answering (a hung or partitioned broker
 * holds the connection open; kafkajs only gives up after the request timeout, 30 s). The route
 * counts as unreachable from then until an acknowledgement, so /readyz and the metric say so.
 */
const STALL_MS = 5000;

const FAILURE_CODES = {
  fatal_sequence: 'UNICOP_PUBLISH_PRODUCER_FENCED',
  too_large: 'UNICOP_PUBLISH_MESSAGE_TOO_LARGE',
  authentication: 'UNICOP_PUBLISH_KAFKA_AUTHENTICATION_FAILED',
  tls: 'UNICOP_PUBLISH_KAFKA_TLS_FAILED',
  broker_unavailable: 'UNICOP_PUBLISH_BROKER_UNAVAILABLE',
} as const satisfies Record<PublishFailure, ErrorCode>;

/** What went wrong in one turn of the relay: a Kafka failure, reading the outbox, or recording an acknowledged batch locally. */
export type RelayFailure = PublishFailure | 'cursor_write' | 'store_read';

export interface RelayRow {
  pos: number;
  /** Its relay lane (lanes.ts). */
  lane: number;
  topic: keyof TopicNames;
  key: string;
  messageId: string;
  value: string;
  acceptedAt: number;
}

/** The rows the relay reads and acknowledges (the outbox, through the lanes this receiver holds: lane-relay-store.ts). */
export interface RelayStore {
  /** The oldest unpublished rows, in commit order. */
  pending(limit: number): RelayRow[];
  /** Kafka acknowledged `batch` (a prefix of what `pending` returned). */
  markPublished(batch: readonly RelayRow[]): void;
  /** Called between batches, never while one is in flight (lanes change hands only then). */
  beforeBatch?(): void;
}

export interface RelayMetrics {
  published(topic: string, count: number, oldestAcceptedAt: number): void;
  failed(kind: RelayFailure): void;
  /** `code`: why the broker counts as unreachable (the failure's error code), for /readyz. */
  reachable(up: boolean, code?: ErrorCode): void;
  acknowledged(rows: number): void;
  /** An existing topic's setting differs from its declaration (topic-config.ts). */
  topicMismatch(topic: string, setting: string): void;
}

export interface RelayOptions {
  kafka: Kafka;
  store: RelayStore;
  topics: TopicNames;
  partitions: number;
  replication: number;
  metrics: RelayMetrics;
  log: Logger;
  /** Told when recording the relay cursor fails or succeeds (store health: log, metric, readiness). */
  writes?: { failed(part: string, cause: unknown): void; succeeded(part: string): void };
  batchSize?: number;
  /** Overrides of the `relay` and `cursor-write` retry policies' first and longest delays (tests). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often an idle relay asks the broker whether it is there (readiness). */
  probeIntervalMs?: number;
  /** Value bytes per batch: kafkajs sends a partition's messages as one record batch, which the topic caps. */
  maxBatchBytes?: number;
  /** How long a batch may wait for its acknowledgement before the broker counts as unreachable (default 5 s; tests shorten it). */
  stallMs?: number;
}

/**
 * Moves outbox rows to Kafka in commit order, one batch in flight at a time (kafkajs can reorder
 * or drop around a failed request when sends overlap). Rows are marked published only after the
 * broker acknowledged them (acks -1, idempotent producer), so a crash at any point republishes
 * the same ids at worst. Failures are never silent: each one is logged, counted and followed by a
 * backoff; after a fatal sequence error the producer is replaced.
 */
export class Relay {
  private producer: Producer | null = null;
  private admin: Admin | null = null;
  private topicsReady = false;
  private running = false;
  private loop: Promise<void> | null = null;
  /** Idle waits and backoffs sleep in it; `wake()` ends them. */
  private readonly pause = new Pause();
  private brokerUp = false;
  /** A batch has waited over `stallMs` for its acknowledgement (cleared by the send's end). */
  private stalled = false;
  private lastProbe = 0;
  /**
   * A batch Kafka acknowledged whose position SQLite could not record (disk full): recorded before
   * anything else is sent, so the batch is never resent while this process lives. After a crash the
   * cursor is older and those rows go out again with the same ids (at-least-once).
   */
  private unrecorded: readonly RelayRow[] | null = null;
  private readonly batchSize: number;
  /** Kafka failures (`relay` policy) and local cursor-write failures (`cursor-write`), counted apart. */
  private readonly publishBackoff: Backoff;
  private readonly cursorBackoff: Backoff;
  private readonly probeIntervalMs: number;
  /** Halved after a too-large refusal (down to one row per batch), restored after a success. */
  private batchBytes: number;
  private readonly maxBatchBytes: number;

  constructor(private readonly options: RelayOptions) {
    this.batchSize = options.batchSize ?? 500;
    const overrides = { initialMs: options.minBackoffMs, maxMs: options.maxBackoffMs, pause: this.pause };
    this.publishBackoff = new Backoff('relay', overrides);
    this.cursorBackoff = new Backoff('cursor-write', overrides);
    this.probeIntervalMs = options.probeIntervalMs ?? 5000;
    this.maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
    this.batchBytes = this.maxBatchBytes;
  }

  /** True while the last contact with the broker succeeded and no batch waits too long for its acknowledgement. */
  get reachable(): boolean {
    return this.brokerUp && !this.stalled;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** New rows were committed: publish now rather than at the next poll. */
  wake(): void {
    this.pause.wake();
  }

  /**
   * Publishes what is pending for at most `drainMs`, then stops and disconnects. Returns the
   * number of rows still unpublished (they stay in the outbox for the next start), null when the
   * store could not be read.
   */
  async stop(drainMs: number): Promise<number | null> {
    const deadline = Date.now() + drainMs;
    while (this.running && (this.pendingCount(1) ?? 0) > 0 && Date.now() < deadline) {
      this.wake();
      await sleep(20);
    }
    this.running = false;
    this.wake();
    await this.loop;
    if (this.unrecorded) {
      this.options.log.warn(
        { toPos: this.unrecorded.at(-1)?.pos, rows: this.unrecorded.length },
        'stopping with an acknowledged batch unrecorded; the next start resends it (same ids)',
      );
    }
    await Promise.allSettled([this.producer?.disconnect(), this.admin?.disconnect()]);
    return this.pendingCount(this.batchSize);
  }

  /** Rows still unpublished (up to `limit`); null when the store cannot tell (PostgreSQL out of reach). */
  private pendingCount(limit: number): number | null {
    try {
      return this.options.store.pending(limit).length;
    } catch (error) {
      this.options.log.warn({ err: error }, 'the outbox could not be read while stopping');
      return null;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.unrecorded) {
        const failure = this.recordAcknowledged();
        if (failure) await this.cursorBackoff.wait(failure);
        else this.cursorBackoff.reset();
        continue;
      }
      const rows = this.readPending();
      if (!rows) {
        // The store did not answer (PostgreSQL out of reach): nothing was sent; try again after the backoff.
        await this.cursorBackoff.wait(new UnicopError('UNICOP_STORE_UNAVAILABLE', 'the relay could not read the outbox'));
        continue;
      }
      try {
        if (rows.length === 0) {
          await this.probeWhenDue();
          await this.pause.for(IDLE_MS);
          continue;
        }
        const unrecorded = await this.publish(rows);
        this.batchBytes = this.maxBatchBytes;
        this.publishBackoff.reset();
        this.cursorBackoff.reset();
        // Sent and acknowledged, but not recorded: back off on the local fault before recording again.
        if (unrecorded) await this.cursorBackoff.wait(unrecorded);
      } catch (error) {
        const kind = classifyPublishError(error);
        this.setReachable(false, FAILURE_CODES[kind]);
        this.options.metrics.failed(kind);
        const failure = new UnicopError(FAILURE_CODES[kind], `publish failed: ${kind}`, { cause: error });
        const socket = socketErrorCode(error);
        const fields = { err: failure, code: failure.code, ...(socket && { socket }), pending: rows.length, backoffMs: this.publishBackoff.nextDelayMs };
        // Refused credentials or certificates do not heal by waiting: an operator has to act.
        if (kind === 'authentication' || kind === 'tls')
          this.options.log.error(fields, 'Kafka refused the connection settings (KAFKA_SECURITY_PROTOCOL, SASL, TLS); backing off');
        else this.options.log.warn(fields, 'publish failed; backing off');
        if (kind === 'fatal_sequence') await this.replaceProducer();
        if (kind === 'too_large') {
          // Never dropped: smaller batches first; a single message the topic refuses stays here,
          // loudly, until the topic's max.message.bytes is raised.
          this.batchBytes = Math.max(1, Math.floor(this.batchBytes / 2));
          this.options.log.error(
            { code: failure.code, batchBytes: this.batchBytes, rows: rows.length, firstPos: rows[0]?.pos },
            'Kafka refused the batch as too large; retrying with smaller batches',
          );
        }
        await this.publishBackoff.wait(failure);
      }
    }
  }

  /** The next batch, within the byte budget; null when the store failed (logged, counted, told to the store health). */
  private readPending(): RelayRow[] | null {
    try {
      this.options.store.beforeBatch?.();
      const rows = this.withinBudget(this.options.store.pending(this.batchSize));
      if (rows.length > 0) this.options.writes?.succeeded('relay_read');
      return rows;
    } catch (cause) {
      this.options.metrics.failed('store_read');
      this.options.writes?.failed('relay_read', cause);
      return null;
    }
  }

  /**
   * Records the position of the batch Kafka acknowledged. A failure here is local (SQLite: disk
   * full, I/O error), not Kafka's: Kafka stays reachable, nothing is resent, the caller backs off.
   * Returns the failure, or null once recorded.
   */
  private recordAcknowledged(): UnicopError | null {
    const pending = this.unrecorded;
    if (!pending) return null;
    try {
      this.options.store.markPublished(pending);
    } catch (cause) {
      this.options.metrics.failed('cursor_write');
      this.options.writes?.failed('relay_cursor', cause);
      const failure = new UnicopError('UNICOP_PUBLISH_CURSOR_WRITE_FAILED', 'Kafka acknowledged the batch but its position could not be recorded', { cause });
      this.options.log.error(
        { err: failure, code: failure.code, toPos: pending.at(-1)?.pos, rows: pending.length },
        'relay cursor not recorded; retrying without resending the batch',
      );
      return failure;
    }
    this.unrecorded = null;
    this.options.writes?.succeeded('relay_cursor');
    this.options.metrics.acknowledged(pending.length);
    return null;
  }

  /** Sends and records one batch; resolves with the cursor-write failure when Kafka acknowledged it but SQLite did not record it. */
  private async publish(rows: readonly RelayRow[]): Promise<UnicopError | null> {
    const producer = await this.connectedProducer();
    const byTopic = new Map<string, Message[]>();
    for (const row of rows) {
      const topic = this.options.topics[row.topic];
      const list = byTopic.get(topic) ?? [];
      // A tombstone is a null value: compaction then removes the key (it carries no content type).
      const tombstone = row.value === TOMBSTONE;
      list.push({
        key: row.key,
        value: tombstone ? null : row.value,
        headers: tombstone ? { message_uuid: row.messageId } : { 'content-type': CLOUDEVENTS_CONTENT_TYPE, message_uuid: row.messageId },
      });
      byTopic.set(topic, list);
    }
    const stall = lateAfter(this.options.stallMs ?? STALL_MS, () => this.stall(rows.length));
    try {
      await producer.sendBatch({
        acks: -1,
        timeout: 30000,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } finally {
      stall.cancel();
      this.stalled = false;
    }
    const first = rows[0];
    if (!first) return null;
    this.setReachable(true);
    for (const [topic, messages] of byTopic) this.options.metrics.published(topic, messages.length, first.acceptedAt);
    this.unrecorded = rows;
    return this.recordAcknowledged();
  }

  /** The broker holds a batch without answering: unreachable until it acknowledges (or the send fails). */
  private stall(rows: number): void {
    this.stalled = true;
    this.options.metrics.reachable(false, 'UNICOP_PUBLISH_BROKER_UNAVAILABLE');
    this.options.log.warn(
      { rows, waitedMs: this.options.stallMs ?? STALL_MS },
      'Kafka has not acknowledged a batch in time: the broker is not answering; counted unreachable until it does',
    );
  }

  /** The longest prefix of `rows` within the batch byte budget, never fewer than one row. */
  private withinBudget(rows: RelayRow[]): RelayRow[] {
    let bytes = 0;
    for (let i = 0; i < rows.length; i++) {
      // UTF-16 length: bytes for the ASCII-heavy JSON here; the budget is half the topic's cap for the rest.
      bytes += rows[i]!.value.length;
      if (i > 0 && bytes > this.batchBytes) return rows.slice(0, i);
    }
    return rows;
  }

  /** Topics exist from the first contact with Kafka on, so consumers (reconciler, EDA) can subscribe early. */
  private async ensureTopicsOnce(): Promise<void> {
    if (this.topicsReady) return;
    this.admin ??= this.options.kafka.admin();
    await this.admin.connect();
    const { created, mismatches } = await ensureTopics(this.admin, this.options.topics, this.options.partitions, this.options.replication);
    if (created.length > 0) this.options.log.info({ topics: created }, 'topics created');
    // Reported, never altered (topic-config.ts): docs/topics.md says how an operator aligns a topic.
    for (const m of mismatches) {
      this.options.log.warn(m, 'topic setting differs from its declaration (docs/topics.md); left as it is');
      this.options.metrics.topicMismatch(m.topic, m.setting);
    }
    this.topicsReady = true;
  }

  private async connectedProducer(): Promise<Producer> {
    await this.ensureTopicsOnce();
    if (!this.producer) {
      const producer = this.options.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
        // Enough for a new topic's leaders to settle (NOT_LEADER right after creation): a batch resent
        // by the relay after kafkajs gave up can duplicate partitions that had already succeeded.
        retry: kafkajsRetry(RETRY_POLICIES['kafka-producer']),
      });
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }

  private async replaceProducer(): Promise<void> {
    const old = this.producer;
    this.producer = null;
    this.options.log.warn('idempotent producer state lost; a new producer will resend the batch (same event ids)');
    await old?.disconnect().catch(() => undefined);
  }

  private async probeWhenDue(): Promise<void> {
    if (Date.now() - this.lastProbe < this.probeIntervalMs) return;
    this.lastProbe = Date.now();
    await this.ensureTopicsOnce();
    await this.admin?.describeCluster();
    this.setReachable(true);
  }

  private setReachable(up: boolean, code?: ErrorCode): void {
    if (up !== this.brokerUp) this.options.log.info({ reachable: up }, up ? 'kafka reachable' : 'kafka unreachable');
    this.brokerUp = up;
    this.options.metrics.reachable(up, code);
  }
}
