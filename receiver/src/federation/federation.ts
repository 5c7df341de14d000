import type { Config } from '../config.js';
import type { Scope as RuleScope } from '../generated/iam-policy.js';
import type { RootScope } from '../iam/root-scope.js';
import type { Scope as EventScope } from '../model/event.js';
import type { SchemaRegistry } from '../schema-registry.js';
import { readFederationFile } from './federation-file.js';
import { firstMatch } from './scope-rules.js';

/** A NetBox instance sending webhooks here. */
export interface SourceSpec {
  /** Its name in the file (`default` without one). */
  name: string;
  /** CloudEvents `source` of its events: `netbox://<name>`, or UNICOP_SOURCE without a file. */
  source: string;
  /** What its webhooks are signed with; empty only in development (UNICOP_INSECURE_NO_SIGNATURE). */
  secrets: readonly string[];
  /** Its REST API for the changelog catch-up, when configured. */
  netbox: { url: string; token: string } | null;
  /** Prefixed to root and object keys (`<name>/`) when several sources could collide; '' otherwise. */
  keyPrefix: string;
}

/** A Kafka destination: its own outbox lanes, relay, limit and metrics. */
export interface RouteSpec {
  name: string;
  brokers: readonly string[];
  topicPrefix: string;
  /** Unpublished rows it may hold before its webhooks get 503. */
  outboxLimit: number;
}

type AnyScope = EventScope | RootScope | null;

/**
 * Where things come from and go to: the sources, the cell this receiver is, which cell owns a scope,
 * which route a scope's messages take. Without UNICOP_FEDERATION it is one source, one route named
 * `default` and one cell owning everything, so both set-ups run the same code.
 */
export interface Federation {
  /** True when UNICOP_FEDERATION configured it. */
  configured: boolean;
  cell: string;
  sources: readonly SourceSpec[];
  routes: readonly RouteSpec[];
  /** The route of messages about no root (rejects, audit, access, snapshot frames): the `"*"` entry's. */
  home: RouteSpec;
  routeOf(scope: AnyScope): RouteSpec;
  ownerOf(scope: AnyScope): string;
  /** Every secret the file holds: the logger scrubs them. */
  secrets: readonly string[];
}

export const DEFAULT_ROUTE = 'default';
export const DEFAULT_CELL = 'default';

/** The federation of this configuration: UNICOP_FEDERATION's file, or the single-source equivalent. */
export function loadFederation(config: Config, registry: SchemaRegistry): Federation {
  if (config.federationFile) return federationOf(readFederationFile(config.federationFile, registry, config.outboxLimit), true);
  const source: SourceSpec = {
    name: 'default',
    source: config.source,
    secrets: config.webhookSecrets,
    netbox: config.netboxUrl && config.netboxToken ? { url: config.netboxUrl, token: config.netboxToken } : null,
    keyPrefix: '',
  };
  const route: RouteSpec = { name: DEFAULT_ROUTE, brokers: config.kafkaBrokers, topicPrefix: config.topicPrefix, outboxLimit: config.outboxLimit };
  return federationOf(
    { cell: DEFAULT_CELL, sources: [source], routes: [route], routeRules: [{ scope: '*', to: route }], ownerRules: [{ scope: '*', to: DEFAULT_CELL }] },
    false,
  );
}

/** What federation-file.ts reads: the parts, checked. */
export interface FederationParts {
  cell: string;
  sources: SourceSpec[];
  routes: RouteSpec[];
  routeRules: { scope: RuleScope; to: RouteSpec }[];
  ownerRules: { scope: RuleScope; to: string }[];
}

function federationOf(parts: FederationParts, configured: boolean): Federation {
  const routeOf = firstMatch(parts.routeRules);
  return Object.freeze({
    configured,
    cell: parts.cell,
    sources: parts.sources,
    routes: parts.routes,
    home: parts.routeRules.at(-1)!.to,
    routeOf,
    ownerOf: firstMatch(parts.ownerRules),
    secrets: parts.sources.flatMap((s) => [...s.secrets, ...(s.netbox ? [s.netbox.token] : [])]),
  });
}
