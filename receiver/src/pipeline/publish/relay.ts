import type { Admin, Kafka } from 'kafkajs';
import { UnicopError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import { Backoff } from '../../retry/backoff.js';
import { lateAfter } from '../../retry/late.js';
import { Pause, sleep } from '../../retry/pause.js';
import { CommitInDoubt, publishLaneBatch, topicMessagesOf } from './lane-batch.js';
import { findPublished, recoveredPosition, type RelayLane } from './lane-recovery.js';
import { LaneProducers } from './lane-transactions.js';
import type { RecordOrigin } from './outbox-headers.js';
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
  fenced: 'UNICOP_PUBLISH_LANE_FENCED',
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
  /** The lanes this relay may publish now. */
  lanes(): RelayLane[];
  /** The oldest unpublished rows of `lanes`, in commit order. */
  pending(limit: number, lanes: readonly number[]): RelayRow[];
  /** Kafka committed `batch` (a prefix of what `pending` returned, per lane). */
  markPublished(batch: readonly RelayRow[]): void;
  /** Whether the record Kafka holds is the store's row at its position, in `lane`. */
  recognises(lane: RelayLane, origin: RecordOrigin): boolean;
  /** Kafka holds `lane` published through `pos`: the cursor moves there (fenced), `from` where it was; 'lost' when the lane was taken. */
  recover(lane: RelayLane, pos: number): { from: number } | 'current' | 'lost';
  /** Another holder initialised the lane's transactional id: the lane is theirs. */
  lost(lane: number): void;
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

/** How the relay learns how far Kafka holds its lanes (lane-recovery.ts; unit tests replace it). */
export type FindPublished = (lanes: readonly RelayLane[]) => Promise<Map<string, RecordOrigin[]>>;

export interface RelayOptions {
  kafka: Kafka;
  store: RelayStore;
  topics: TopicNames;
  partitions: number;
  replication: number;
  metrics: RelayMetrics;
  log: Logger;
  /** Consumer groups that read the lanes' committed records get this prefix (ACLs: docs/topics.md). */
  recoveryGroupPrefix?: string;
  /** Replaces reading Kafka for the lanes' committed positions (unit tests). */
  findPublished?: FindPublished;
  /** Test hook (UNICOP_TEST_KILL_AFTER_COMMITS): called after each committed lane transaction, before its position is recorded. */
  afterCommit?: () => void;
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
 * Moves outbox rows to Kafka exactly once, in commit order per lane. Each lane has its own
 * transactional producer (lane-transactions.ts) and one batch in flight at a time; a lane's batch
 * is one transaction, and lanes commit in parallel. Before a lane publishes anything — at start,
 * when its lease is taken, after a commit whose outcome is unknown — its producer is initialised
 * (fencing any older holder) and its cursor recovered from its newest committed records
 * (lane-recovery.ts): rows Kafka already holds are never sent again. Failures are never silent:
 * each one is logged, counted and followed by a backoff; a fenced lane is let go.
 *
 * Over 300 lines: the loop, its failure handling, recovery and the per-lane commits share the
 * relay's state (unrecorded rows, recovered lanes, reachability, batch budget); the pieces without
 * state live beside it (lane-batch.ts, lane-recovery.ts, lane-transactions.ts).
 */
export class Relay {
  private admin: Admin | null = null;
  private readonly producers: LaneProducers;
  private topicsReady = false;
  private running = false;
  private loop: Promise<void> | null = null;
  /** Idle waits and backoffs sleep in it; `wake()` ends them. */
  private readonly pause = new Pause();
  private brokerUp = false;
  /** A batch has waited over `stallMs` for its acknowledgement (cleared by the send's end). */
  private stalled = false;
  private lastProbe = 0;
  /** Lanes whose position was recovered from Kafka, with the lease generation it was done under. */
  private readonly recovered = new Map<number, number>();
  /**
   * Rows Kafka committed whose position the store could not record (disk full): recorded before
   * anything else is sent, so they are never resent while this process lives; after a crash the
   * lane's recovery finds them in Kafka.
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
  private readonly findPublished: FindPublished;

  constructor(private readonly options: RelayOptions) {
    this.batchSize = options.batchSize ?? 500;
    const overrides = { initialMs: options.minBackoffMs, maxMs: options.maxBackoffMs, pause: this.pause };
    this.publishBackoff = new Backoff('relay', overrides);
    this.cursorBackoff = new Backoff('cursor-write', overrides);
    this.probeIntervalMs = options.probeIntervalMs ?? 5000;
    this.maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
    this.batchBytes = this.maxBatchBytes;
    this.producers = new LaneProducers(options.kafka);
    const groupPrefix = options.recoveryGroupPrefix ?? `${options.topics.events.replace(/\.events\.v1$/, '')}.relay.recovery.`;
    this.findPublished = options.findPublished ?? ((lanes) => findPublished(options.kafka, Object.values(options.topics), lanes, groupPrefix));
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
        'stopping with a committed batch unrecorded; the next start finds it in Kafka',
      );
    }
    await Promise.allSettled([this.producers.closeAll(), this.admin?.disconnect()]);
    return this.pendingCount(this.batchSize);
  }

  /** Rows still unpublished (up to `limit`) in the lanes this relay holds; null when the store cannot tell (PostgreSQL out of reach). */
  private pendingCount(limit: number): number | null {
    try {
      const lanes = this.options.store.lanes().map((l) => l.lane);
      return this.options.store.pending(limit, lanes).length;
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
      const turn = this.readTurn();
      if (!turn) {
        // The store did not answer (PostgreSQL out of reach): nothing was sent; try again after the backoff.
        await this.cursorBackoff.wait(new UnicopError('UNICOP_STORE_UNAVAILABLE', 'the relay could not read the outbox'));
        continue;
      }
      try {
        if (turn.unrecovered.length > 0) {
          await this.recover(turn.unrecovered);
          this.publishBackoff.reset();
          continue;
        }
        if (turn.rows.length === 0) {
          await this.probeWhenDue();
          await this.pause.for(IDLE_MS);
          continue;
        }
        const unrecorded = await this.publish(turn.rows, turn.lanes);
        this.batchBytes = this.maxBatchBytes;
        this.publishBackoff.reset();
        this.cursorBackoff.reset();
        // Sent and committed, but not recorded: back off on the local fault before recording again.
        if (unrecorded) await this.cursorBackoff.wait(unrecorded);
      } catch (error) {
        await this.failed(error, turn.rows);
      }
    }
  }

  /** A failed turn: counted, logged, the producer or batch size adjusted, then the backoff. */
  private async failed(error: unknown, rows: readonly RelayRow[]): Promise<void> {
    const kind = classifyPublishError(error);
    if (kind !== 'fenced') this.setReachable(false, FAILURE_CODES[kind]);
    this.options.metrics.failed(kind);
    const failure = new UnicopError(FAILURE_CODES[kind], `publish failed: ${kind}`, { cause: error });
    const socket = socketErrorCode(error);
    const fields = { err: failure, code: failure.code, ...(socket && { socket }), pending: rows.length, backoffMs: this.publishBackoff.nextDelayMs };
    // Refused credentials or certificates do not heal by waiting: an operator has to act.
    if (kind === 'authentication' || kind === 'tls') {
      this.options.log.error(fields, 'Kafka refused the connection settings (KAFKA_SECURITY_PROTOCOL, SASL, TLS); backing off');
    } else this.options.log.warn(fields, 'publish failed; backing off');
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

  /** The lanes held now, those still to recover, and the next batch of the others within the byte budget; null when the store failed. */
  private readTurn(): { lanes: Map<number, RelayLane>; unrecovered: RelayLane[]; rows: RelayRow[] } | null {
    try {
      this.options.store.beforeBatch?.();
      const held = this.options.store.lanes();
      const lanes = new Map(held.map((l) => [l.lane, l]));
      // A lane out of sight for a moment (its lease renewal late) keeps its recovery; a lane taken again has a new generation.
      const unrecovered = held.filter((l) => this.recovered.get(l.lane) !== l.generation);
      if (unrecovered.length > 0) return { lanes, unrecovered, rows: [] };
      const rows = this.withinBudget(this.options.store.pending(this.batchSize, [...lanes.keys()]));
      if (rows.length > 0) this.options.writes?.succeeded('relay_read');
      return { lanes, unrecovered, rows };
    } catch (cause) {
      this.options.metrics.failed('store_read');
      this.options.writes?.failed('relay_read', cause);
      return null;
    }
  }

  /**
   * Before a lane publishes: its producer initialised (any older holder fenced, its open
   * transaction finished), then its cursor moved to the newest committed record Kafka holds of it.
   */
  private async recover(lanes: readonly RelayLane[]): Promise<void> {
    await this.ensureTopicsOnce();
    for (const lane of lanes) await this.producers.drop(lane.transactionalId);
    await Promise.all(lanes.map((lane) => this.producers.get(lane.transactionalId)));
    const found = await this.findPublished(lanes);
    this.setReachable(true);
    for (const lane of lanes) {
      const pos = recoveredPosition(found.get(lane.transactionalId) ?? [], (o) => this.options.store.recognises(lane, o));
      const moved = pos === null ? 'current' : this.options.store.recover(lane, pos);
      if (moved === 'lost') {
        this.recovered.delete(lane.lane);
        await this.producers.drop(lane.transactionalId);
        continue;
      }
      this.recovered.set(lane.lane, lane.generation);
      const fields = { lane: lane.lane, transactionalId: lane.transactionalId, kafkaPos: pos };
      if (moved === 'current') this.options.log.info(fields, 'relay lane ready; Kafka holds nothing beyond its cursor');
      else this.options.log.warn({ ...fields, cursor: moved.from }, 'relay lane cursor moved to what Kafka already holds; those rows are not sent again');
    }
  }

  /**
   * Records the position of the batch Kafka committed. A failure here is local (SQLite: disk
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

  /**
   * Sends each lane's rows as one transaction, the lanes in parallel, and records what committed.
   * Resolves with the cursor-write failure when Kafka committed but the store did not record; throws
   * the first lane failure once the committed lanes are recorded (fenced lanes are let go, a lane
   * whose commit is in doubt recovers before it publishes again).
   */
  private async publish(rows: readonly RelayRow[], lanes: ReadonlyMap<number, RelayLane>): Promise<UnicopError | null> {
    const byLane = new Map<number, RelayRow[]>();
    for (const row of rows) byLane.set(row.lane, [...(byLane.get(row.lane) ?? []), row]);
    const stall = lateAfter(this.options.stallMs ?? STALL_MS, () => this.stall(rows.length));
    let results: PromiseSettledResult<void>[];
    try {
      results = await Promise.allSettled(
        [...byLane].map(async ([lane, laneRows]) => {
          const { transactionalId } = lanes.get(lane)!;
          const topicMessages = topicMessagesOf(laneRows, this.options.topics, transactionalId);
          await publishLaneBatch(this.producers, transactionalId, topicMessages);
          this.options.afterCommit?.();
          for (const t of topicMessages) this.options.metrics.published(t.topic, t.messages.length, laneRows[0]!.acceptedAt);
        }),
      );
    } finally {
      stall.cancel();
      this.stalled = false;
    }
    const committed: RelayRow[] = [];
    let firstFailure: unknown = null;
    for (const [i, [lane, laneRows]] of [...byLane].entries()) {
      const result = results[i]!;
      if (result.status === 'fulfilled') {
        committed.push(...laneRows);
        continue;
      }
      firstFailure ??= result.reason;
      await this.laneFailed(lanes.get(lane)!, result.reason);
    }
    if (committed.length > 0) this.setReachable(true);
    if (committed.length > 0) this.unrecorded = committed.sort((a, b) => a.pos - b.pos);
    const unrecorded = this.recordAcknowledged();
    if (firstFailure !== null) throw firstFailure;
    return unrecorded;
  }

  /** A lane's transaction failed: a fenced lane is another holder's now; an unknown commit outcome needs a recovery. */
  private async laneFailed(lane: RelayLane, error: unknown): Promise<void> {
    const fenced = classifyPublishError(error) === 'fenced';
    if (fenced || error instanceof CommitInDoubt) {
      this.recovered.delete(lane.lane);
      await this.producers.drop(lane.transactionalId);
    }
    if (fenced) {
      this.options.log.warn(
        { lane: lane.lane, transactionalId: lane.transactionalId },
        'relay lane fenced by a newer producer of its transactional id; letting it go',
      );
      this.options.store.lost(lane.lane);
    }
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
