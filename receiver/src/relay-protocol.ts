import type { Config } from './config.js';
import type { RouteSpec } from './federation/federation.js';
import type { KafkaSecurity } from './pipeline/publish/kafka-security.js';

/** What the relay thread starts from (structured-cloned into it). */
export interface RelayWorkerData {
  config: Config;
  /** TLS and SASL of every client, as the ingest thread read them at start (certificate files included). */
  security: KafkaSecurity;
  routes: readonly RouteSpec[];
  /** The route of messages about no root. */
  home: string;
  /** This receiver's cell (federation file; `default` without one): part of its lanes' transactional ids. */
  cell: string;
  /** This receiver among the live ones (receiver-store.ts): the lane leases' holder. */
  holder: string;
  /** The ingest thread's log level: the relay thread logs at the same one. */
  logLevel: string;
}

/** Ingest thread → relay thread. */
export type ToRelay =
  /** Rows were committed for these routes (all of them: null). */
  | { type: 'wake'; routes: readonly string[] | null }
  /** Drain for up to `drainMs`, give the lanes back, close the store, answer `stopped`. */
  | { type: 'stop'; drainMs: number };

/** A failure's cause as it crosses threads: what the store health reads from it (store-health.ts `storeCode`). */
export interface CauseInfo {
  message: string;
  code: string;
}

/** Relay thread → ingest thread. */
export type FromRelay =
  /** A call of a relay's (`relay`) or a lane lease set's (`lanes`) metrics, replayed on the ingest thread's registry. */
  | { type: 'metric'; group: 'relay' | 'lanes'; route: string; name: string; args: unknown[] }
  /** A store write or read of the relay failed or succeeded (store health: log, metric, readiness). */
  | { type: 'store'; outcome: 'failed' | 'succeeded'; part: string; cause?: CauseInfo }
  /** One finished log line (already redacted), for the ingest thread's log destination. */
  | { type: 'log'; line: string }
  | { type: 'started' }
  | { type: 'stopped'; unpublished: number | null };
