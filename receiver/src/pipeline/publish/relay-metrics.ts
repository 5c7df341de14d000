import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { LaneLeaseMetrics } from './lane-leases.js';
import type { RelayMetrics } from './relay.js';

/**
 * The relays' metrics, one relay per route (label `route`: `default` without a federation file);
 * `acknowledged` (the outbox depth) is the receiver's to wire.
 */
export function createRelayMetrics(registry: Registry): (route: string) => Omit<RelayMetrics, 'acknowledged'> {
  const published = new Counter({
    name: 'unicop_published_total',
    help: 'Messages acknowledged by Kafka, by route and topic.',
    labelNames: ['route', 'topic'] as const,
    registers: [registry],
  });
  const publishSeconds = new Histogram({
    name: 'unicop_publish_latency_seconds',
    help: 'Time from outbox commit to Kafka acknowledgement, for the oldest message of each batch, by route.',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const publishErrors = new Counter({
    name: 'unicop_publish_errors_total',
    help: "Failed relay turns, by kind (broker_unavailable, fatal_sequence, too_large; fenced: a newer producer took the lane's transactional id, the lane is let go; authentication: the cluster refused the SASL credentials; tls: the TLS handshake failed; cursor_write: Kafka committed but the store could not record the position, nothing is resent; store_read: the outbox could not be read, nothing was sent). Each is followed by a backoff.",
    labelNames: ['route', 'kind'] as const,
    registers: [registry],
  });
  const kafkaUp = new Gauge({
    name: 'unicop_kafka_reachable',
    help: "1 while the last contact with the route's Kafka cluster succeeded.",
    labelNames: ['route'] as const,
    registers: [registry],
  });
  const topicMismatch = new Gauge({
    name: 'unicop_topic_config_mismatch',
    help: 'An existing topic setting that differs from its declaration (docs/topics.md), found when the receiver first reached Kafka: 1 per topic and setting, logged as a warning; never changed by the receiver.',
    labelNames: ['topic', 'setting'] as const,
    registers: [registry],
  });
  return (route) => ({
    published: (topic, count, oldestAcceptedAt) => {
      published.inc({ route, topic }, count);
      publishSeconds.observe({ route }, Math.max(0, Date.now() - oldestAcceptedAt) / 1000);
    },
    failed: (kind) => publishErrors.inc({ route, kind }),
    reachable: (up) => kafkaUp.set({ route }, up ? 1 : 0),
    topicMismatch: (topic, setting) => topicMismatch.set({ topic, setting }, 1),
  });
}

/** Relay lanes (lane-leases.ts): how many this receiver holds per route, and how they change hands. */
export function createLaneLeaseMetrics(registry: Registry): (route: string) => LaneLeaseMetrics {
  const held = new Gauge({
    name: 'unicop_relay_lanes_held',
    help: 'Relay lanes of a route this receiver holds a lease on and publishes (all of them for a single receiver).',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  const takeovers = new Counter({
    name: 'unicop_relay_lane_takeovers_total',
    help: 'Relay lanes this receiver took from another whose lease had run out (it died or lost the store); the log line says how long after.',
    registers: [registry],
  });
  const lost = new Counter({
    name: 'unicop_relay_lanes_lost_total',
    help: 'Relay lanes this receiver found held by another (lease not renewed in time, its cursor write fenced off, or its transactional id initialised by a newer producer): it stopped publishing them.',
    registers: [registry],
  });
  return (route) => ({ held: (n) => held.set({ route }, n), takenOver: () => takeovers.inc(), lost: () => lost.inc() });
}

/** Per route: unpublished rows and the most it may hold (the outbox totals are `unicop_outbox_depth` / `_limit`). */
export function createRouteDepthMetrics(registry: Registry) {
  const depth = new Gauge({
    name: 'unicop_route_outbox_depth',
    help: "Unpublished outbox rows waiting for a route's Kafka cluster; at unicop_route_outbox_limit its webhooks get 503 while other routes keep flowing.",
    labelNames: ['route'] as const,
    registers: [registry],
  });
  const limit = new Gauge({
    name: 'unicop_route_outbox_limit',
    help: 'Unpublished rows a route may hold before its webhooks get 503 (the federation file, else UNICOP_OUTBOX_LIMIT).',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  return { depth: (route: string, n: number) => depth.set({ route }, n), limit: (route: string, n: number) => limit.set({ route }, n) };
}
