import { readFileSync } from 'node:fs';
import { UnicopError, type ErrorDetail } from './errors.js';
import { kafkaSecurityProblems } from './kafka-security-settings.js';
import type { ConfigSchema } from './generated/config.js';
import { SchemaRegistry } from './schema-registry.js';

/**
 * The receiver's configuration: the type generated from `schemas/config.schema.json` (where the
 * defaults live), validated and frozen, so its lists are read-only too.
 */
export type Config = {
  readonly [K in keyof ConfigSchema]: ConfigSchema[K] extends ReadonlyArray<infer T> ? readonly T[] : ConfigSchema[K];
};

type Kind = 'string' | 'list' | 'flag';
interface EnvVar {
  key: keyof Config;
  kind: Kind;
  /** May also be given as `<NAME>_FILE` (a path whose trimmed content is the value). */
  secret?: true;
}

/** Environment variable → config property. The only place that knows environment names. */
export const ENVIRONMENT: Readonly<Record<string, EnvVar>> = {
  PORT: { key: 'port', kind: 'string' },
  HOST: { key: 'host', kind: 'string' },
  KAFKA_BROKERS: { key: 'kafkaBrokers', kind: 'list' },
  KAFKA_SECURITY_PROTOCOL: { key: 'kafkaSecurityProtocol', kind: 'string' },
  KAFKA_SASL_MECHANISM: { key: 'kafkaSaslMechanism', kind: 'string' },
  KAFKA_SASL_USERNAME: { key: 'kafkaSaslUsername', kind: 'string' },
  KAFKA_SASL_PASSWORD: { key: 'kafkaSaslPassword', kind: 'string', secret: true },
  KAFKA_SSL_CA_FILE: { key: 'kafkaSslCaFile', kind: 'string' },
  KAFKA_SSL_CERT_FILE: { key: 'kafkaSslCertFile', kind: 'string' },
  KAFKA_SSL_KEY_FILE: { key: 'kafkaSslKeyFile', kind: 'string' },
  KAFKA_SSL_KEY_PASSWORD: { key: 'kafkaSslKeyPassword', kind: 'string', secret: true },
  UNICOP_WEBHOOK_SECRETS: { key: 'webhookSecrets', kind: 'list', secret: true },
  UNICOP_INSECURE_NO_SIGNATURE: { key: 'insecureNoSignature', kind: 'flag' },
  UNICOP_DATA_DIR: { key: 'dataDir', kind: 'string' },
  UNICOP_DATABASE_URL: { key: 'databaseUrl', kind: 'string', secret: true },
  UNICOP_LANE_LEASE_S: { key: 'laneLeaseS', kind: 'string' },
  UNICOP_TEST_KILL_AFTER_COMMITS: { key: 'testKillAfterCommits', kind: 'string' },
  UNICOP_SOURCE: { key: 'source', kind: 'string' },
  UNICOP_FEDERATION: { key: 'federationFile', kind: 'string' },
  UNICOP_TOPIC_PREFIX: { key: 'topicPrefix', kind: 'string' },
  UNICOP_TOPIC_PARTITIONS: { key: 'topicPartitions', kind: 'string' },
  UNICOP_TOPIC_REPLICATION: { key: 'topicReplication', kind: 'string' },
  UNICOP_MAX_BODY_BYTES: { key: 'maxBodyBytes', kind: 'string' },
  UNICOP_OUTBOX_LIMIT: { key: 'outboxLimit', kind: 'string' },
  UNICOP_ROOT_POLICY: { key: 'rootPolicyFile', kind: 'string' },
  UNICOP_LOG_LEVEL: { key: 'logLevel', kind: 'string' },
  NETBOX_URL: { key: 'netboxUrl', kind: 'string' },
  NETBOX_TOKEN: { key: 'netboxToken', kind: 'string', secret: true },
  UNICOP_API_TOKENS: { key: 'apiTokens', kind: 'list', secret: true },
  UNICOP_IAM_POLICY: { key: 'iamPolicyFile', kind: 'string' },
  UNICOP_OIDC_ISSUER: { key: 'oidcIssuer', kind: 'string' },
  UNICOP_OIDC_AUDIENCE: { key: 'oidcAudience', kind: 'string' },
  UNICOP_OIDC_JWKS_URL: { key: 'oidcJwksUrl', kind: 'string' },
  UNICOP_OIDC_GROUPS_CLAIM: { key: 'oidcGroupsClaim', kind: 'string' },
  UNICOP_OIDC_USERNAME_CLAIM: { key: 'oidcUsernameClaim', kind: 'string' },
  UNICOP_RECONCILE_POLICY: { key: 'reconcilePolicyFile', kind: 'string' },
  UNICOP_AWX_NOTIFY_TOKEN: { key: 'awxNotifyToken', kind: 'string', secret: true },
  UNICOP_AWX_NOTIFY_USER: { key: 'awxNotifyUser', kind: 'string' },
  AWX_URL: { key: 'awxUrl', kind: 'string' },
  AWX_TOKEN: { key: 'awxToken', kind: 'string', secret: true },
  UNICOP_CATCHUP_INTERVAL_MS: { key: 'catchupIntervalMs', kind: 'string' },
  UNICOP_CATCHUP_GRACE_MS: { key: 'catchupGraceMs', kind: 'string' },
  UNICOP_CATCHUP_OVERLAP: { key: 'catchupOverlap', kind: 'string' },
  UNICOP_CATCHUP_RATE: { key: 'catchupRate', kind: 'string' },
  UNICOP_CATCHUP_OBJECT_TYPES: { key: 'catchupObjectTypes', kind: 'list' },
  UNICOP_CATCHUP_EVENT_RULE: { key: 'catchupEventRule', kind: 'string' },
  UNICOP_CATCHUP_FROM: { key: 'catchupFrom', kind: 'string' },
  UNICOP_AWX_POLL_INTERVAL_MS: { key: 'awxPollIntervalMs', kind: 'string' },
  UNICOP_REPLAY_WINDOW_S: { key: 'replayWindowS', kind: 'string' },
  UNICOP_RETENTION_DAYS: { key: 'retentionDays', kind: 'string' },
  UNICOP_RETENTION_MAX_ROWS: { key: 'retentionMaxRows', kind: 'string' },
  UNICOP_RETENTION_MAX_REJECTS: { key: 'retentionMaxRejects', kind: 'string' },
  UNICOP_ACCESS_GRANT_MAX_S: { key: 'accessGrantMaxS', kind: 'string' },
  UNICOP_SNAPSHOT_INTERVAL_S: { key: 'snapshotIntervalS', kind: 'string' },
  UNICOP_SNAPSHOT_RATE: { key: 'snapshotRate', kind: 'string' },
  UNICOP_SNAPSHOT_OBJECT_TYPES: { key: 'snapshotObjectTypes', kind: 'list' },
  UNICOP_INVENTORY_POLICY: { key: 'inventoryPolicyFile', kind: 'string' },
  UNICOP_SNAPSHOT_PAGE_SIZE: { key: 'snapshotPageSize', kind: 'string' },
  // The receiver's own HTTPS listener (receiver/README.md, "HTTPS"). The paths end in _FILE themselves.
  UNICOP_TLS_CERT_FILE: { key: 'tlsCertFile', kind: 'string' },
  UNICOP_TLS_KEY_FILE: { key: 'tlsKeyFile', kind: 'string' },
  UNICOP_TLS_KEY_PASSWORD: { key: 'tlsKeyPassword', kind: 'string', secret: true },
  UNICOP_TLS_CLIENT_CA_FILE: { key: 'tlsClientCaFile', kind: 'string' },
};

/**
 * Every secret value the configuration holds (webhook secrets, tokens): the logger scrubs them from
 * every line it writes, whatever object carried them there.
 */
export function secretValues(config: Config): string[] {
  return Object.values(ENVIRONMENT)
    .filter((spec) => spec.secret)
    .flatMap((spec) => {
      const value = config[spec.key] as string | readonly string[] | undefined;
      return value === undefined ? [] : typeof value === 'string' ? [value] : [...value];
    });
}

/** `UNICOP_*` names read by the scripts and the NetBox plugin, not by the receiver: allowed in its environment. */
const SCRIPT_VARIABLES = new Set(['UNICOP_CACHE_DIR', 'UNICOP_RECEIVER_URL', 'UNICOP_RECEIVER_TOKEN']);
const SCRIPT_PREFIXES = ['UNICOP_EDA_', 'UNICOP_FUZZ_', 'UNICOP_TEST_', 'UNICOP_CONF_', 'UNICOP_BENCH_', 'UNICOP_CHAOS_'];

/**
 * Builds the configuration from an environment. Every problem is collected, so one failed start
 * lists all of them (error `UNICOP_CONFIG_INVALID`, one detail per variable).
 */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const problems: ErrorDetail[] = [];
  const raw: Record<string, unknown> = {};

  for (const name of Object.keys(env)) {
    const base = name.endsWith('_FILE') ? name.slice(0, -'_FILE'.length) : name;
    const forScripts = SCRIPT_VARIABLES.has(name) || SCRIPT_PREFIXES.some((p) => name.startsWith(p));
    // A name of the table may itself end in _FILE (UNICOP_TLS_CERT_FILE): it is not a secret's file form.
    if (name.startsWith('UNICOP_') && !(name in ENVIRONMENT) && !(base in ENVIRONMENT) && !forScripts) {
      problems.push({ pointer: name, message: 'unknown UNICOP_ variable (typo?)' });
    }
  }

  for (const [name, spec] of Object.entries(ENVIRONMENT)) {
    const value = readVariable(env, name, spec, problems);
    if (value === undefined || value === '') continue;
    raw[spec.key] = convert(value, spec, name, problems);
  }

  const registry = new SchemaRegistry({ coerce: true });
  const isConfig = registry.validator<Config>('config.schema.json');
  if (!isConfig(raw)) {
    for (const detail of registry.lastErrors('config.schema.json')) {
      problems.push({ pointer: environmentName(detail.pointer), message: itemMessage(detail.pointer, detail.message) });
    }
  } else if ((raw.netboxUrl === undefined) !== (raw.netboxToken === undefined)) {
    problems.push({ pointer: 'NETBOX_URL', message: 'changelog catch-up needs both NETBOX_URL and NETBOX_TOKEN (or _FILE)' });
  }
  if (isConfig(raw) && raw.retentionDays * 86_400 < raw.replayWindowS) {
    // The event index is the webhook dedupe: a body still inside the window must find its event.
    problems.push({ pointer: 'UNICOP_RETENTION_DAYS', message: `must keep events at least as long as UNICOP_REPLAY_WINDOW_S (${raw.replayWindowS} s)` });
  }
  if ((raw.awxUrl === undefined) !== (raw.awxToken === undefined)) {
    problems.push({ pointer: 'AWX_URL', message: 'the AWX outcome poller needs both AWX_URL and AWX_TOKEN (or _FILE)' });
  }
  problems.push(...identityProblems(raw), ...federationProblems(env), ...tlsProblems(raw), ...kafkaSecurityProblems(raw));
  if (isConfig(raw) && raw.federationFile === undefined && raw.webhookSecrets.length === 0 && !raw.insecureNoSignature) {
    problems.push({
      pointer: 'UNICOP_WEBHOOK_SECRETS',
      message: 'no webhook secret: set UNICOP_WEBHOOK_SECRETS (or _FILE), or UNICOP_INSECURE_NO_SIGNATURE=1 for development',
    });
  }

  if (problems.length > 0) {
    throw new UnicopError('UNICOP_CONFIG_INVALID', `configuration invalid: ${problems.length} problem(s)`, {
      details: problems,
    });
  }
  return deepFreeze(raw) as unknown as Config;
}

/**
 * OIDC settings go together and need a policy: a JWT names a user and groups, and only the IAM
 * policy's bindings can give them anything (docs/identity.md).
 */
function identityProblems(raw: Record<string, unknown>): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const issuer = raw.oidcIssuer !== undefined;
  if (issuer !== (raw.oidcAudience !== undefined)) {
    problems.push({ pointer: issuer ? 'UNICOP_OIDC_AUDIENCE' : 'UNICOP_OIDC_ISSUER', message: 'OIDC needs both UNICOP_OIDC_ISSUER and UNICOP_OIDC_AUDIENCE' });
  }
  if (!issuer && raw.oidcJwksUrl !== undefined) {
    problems.push({ pointer: 'UNICOP_OIDC_JWKS_URL', message: 'UNICOP_OIDC_JWKS_URL needs UNICOP_OIDC_ISSUER and UNICOP_OIDC_AUDIENCE' });
  }
  if (issuer && raw.iamPolicyFile === undefined) {
    problems.push({ pointer: 'UNICOP_IAM_POLICY', message: 'OIDC needs an IAM policy: without UNICOP_IAM_POLICY no binding gives its users anything' });
  }
  return problems;
}

/**
 * HTTPS takes a certificate and its key together; a client CA or a key password means nothing
 * without them. The files themselves are read by `listener/tls-material.ts` (again on SIGHUP).
 */
function tlsProblems(raw: Record<string, unknown>): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const cert = raw.tlsCertFile !== undefined;
  const key = raw.tlsKeyFile !== undefined;
  if (cert !== key) {
    problems.push({ pointer: cert ? 'UNICOP_TLS_KEY_FILE' : 'UNICOP_TLS_CERT_FILE', message: 'HTTPS needs both UNICOP_TLS_CERT_FILE and UNICOP_TLS_KEY_FILE' });
  }
  if (raw.tlsClientCaFile !== undefined && !(cert && key)) {
    problems.push({
      pointer: 'UNICOP_TLS_CLIENT_CA_FILE',
      message: 'client certificates are asked for over HTTPS only: set UNICOP_TLS_CERT_FILE and UNICOP_TLS_KEY_FILE',
    });
  }
  if (raw.tlsKeyPassword !== undefined && !key) {
    problems.push({ pointer: 'UNICOP_TLS_KEY_PASSWORD', message: 'UNICOP_TLS_KEY_PASSWORD needs UNICOP_TLS_KEY_FILE' });
  }
  return problems;
}

/**
 * With UNICOP_FEDERATION the file is the only place for sources, secrets and NetBox APIs: the same
 * setting beside it would be a second truth (ARCHITECTURE.md, "Federation"). KAFKA_BROKERS and
 * UNICOP_TOPIC_PREFIX are ignored there (the routes name their clusters); main.ts says so.
 */
function federationProblems(env: NodeJS.ProcessEnv): ErrorDetail[] {
  if (!env.UNICOP_FEDERATION) return [];
  const beside = ['UNICOP_WEBHOOK_SECRETS', 'UNICOP_SOURCE', 'NETBOX_URL', 'NETBOX_TOKEN', 'UNICOP_INSECURE_NO_SIGNATURE'];
  return beside
    .flatMap((name) => [name, `${name}_FILE`])
    .filter((name) => env[name] !== undefined)
    .map((name) => ({ pointer: name, message: 'UNICOP_FEDERATION is set: sources, their secrets and NetBox APIs come from its file only' }));
}

function readVariable(env: NodeJS.ProcessEnv, name: string, spec: EnvVar, problems: ErrorDetail[]): string | undefined {
  const fileName = `${name}_FILE`;
  const direct = env[name];
  const path = env[fileName];
  if (path === undefined) return direct;
  if (!spec.secret) {
    problems.push({ pointer: fileName, message: `${name} cannot be read from a file` });
    return undefined;
  }
  if (direct !== undefined) {
    problems.push({ pointer: fileName, message: `set ${name} or ${fileName}, not both` });
    return undefined;
  }
  try {
    // Only the file's final line break goes: other whitespace is part of the value, and a secret
    // list refuses it (NetBox signs with the exact secret).
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (cause) {
    problems.push({ pointer: fileName, message: `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}` });
    return undefined;
  }
}

function convert(value: string, spec: EnvVar, name: string, problems: ErrorDetail[]): unknown {
  switch (spec.kind) {
    case 'list': {
      if (!spec.secret)
        return value
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '');
      const items = value.split(',');
      items.forEach((item, i) => {
        if (item !== item.trim()) {
          problems.push({
            pointer: name,
            message: `item ${i + 1} has whitespace around it: remove it (the value is used exactly as written; commas separate items)`,
          });
        }
      });
      return items.filter((v) => v !== '');
    }
    case 'flag':
      if (['1', 'true', 'yes'].includes(value)) return true;
      if (['0', 'false', 'no'].includes(value)) return false;
      problems.push({ pointer: name, message: 'expected 1 or 0' });
      return undefined;
    case 'string':
      return value;
  }
}

/** Maps an ajv pointer like `/kafkaBrokers/0` back to the variable a person has to fix. */
function environmentName(pointer: string | undefined): string {
  const key = pointer?.split('/')[1];
  const entry = Object.entries(ENVIRONMENT).find(([, spec]) => spec.key === key);
  return entry ? entry[0] : (pointer ?? '/');
}

/** `item 2: …` for a problem inside a list (`/webhookSecrets/1`), so a person knows which one; never the value. */
function itemMessage(pointer: string | undefined, message: string): string {
  const index = pointer?.split('/')[2];
  return index !== undefined && /^[0-9]+$/.test(index) ? `item ${Number(index) + 1}: ${message}` : message;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
