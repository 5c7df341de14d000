import { readFileSync } from 'node:fs';
import type { ErrorDetail } from './errors.js';

/** The config properties this file checks (a slice of `Config`, before it is frozen). */
interface KafkaSecurityFields {
  kafkaSecurityProtocol?: unknown;
  kafkaSaslMechanism?: unknown;
  kafkaSaslUsername?: unknown;
  kafkaSaslPassword?: unknown;
  kafkaSslCaFile?: unknown;
  kafkaSslCertFile?: unknown;
  kafkaSslKeyFile?: unknown;
  kafkaSslKeyPassword?: unknown;
}

const PROTOCOLS = new Set(['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']);
const SASL_SETTINGS = [
  ['KAFKA_SASL_MECHANISM', 'kafkaSaslMechanism'],
  ['KAFKA_SASL_USERNAME', 'kafkaSaslUsername'],
  ['KAFKA_SASL_PASSWORD', 'kafkaSaslPassword'],
] as const;
const SSL_SETTINGS = [
  ['KAFKA_SSL_CA_FILE', 'kafkaSslCaFile'],
  ['KAFKA_SSL_CERT_FILE', 'kafkaSslCertFile'],
  ['KAFKA_SSL_KEY_FILE', 'kafkaSslKeyFile'],
  ['KAFKA_SSL_KEY_PASSWORD', 'kafkaSslKeyPassword'],
] as const;

/**
 * Settings that contradict the protocol, and certificate files that cannot be read: every one is a
 * start-up problem (a setting the protocol ignores would be a silent downgrade or a credential in the
 * wrong place). A file is named, never quoted.
 */
export function kafkaSecurityProblems(raw: KafkaSecurityFields): ErrorDetail[] {
  const protocol = raw.kafkaSecurityProtocol ?? 'PLAINTEXT';
  // An unknown protocol is the schema's problem, already listed: nothing to check the rest against.
  if (typeof protocol !== 'string' || !PROTOCOLS.has(protocol)) return [];
  const sasl = protocol.startsWith('SASL_');
  const ssl = protocol.endsWith('SSL');
  const problems: ErrorDetail[] = [];
  for (const [name, key] of SASL_SETTINGS) {
    if (sasl && raw[key] === undefined) {
      problems.push({ pointer: name, message: `KAFKA_SECURITY_PROTOCOL=${protocol} needs ${name}${name.endsWith('PASSWORD') ? ' (or _FILE)' : ''}` });
    } else if (!sasl && raw[key] !== undefined) {
      problems.push({ pointer: name, message: `KAFKA_SECURITY_PROTOCOL=${protocol} uses no SASL: set SASL_PLAINTEXT or SASL_SSL, or remove ${name}` });
    }
  }
  for (const [name, key] of SSL_SETTINGS) {
    if (!ssl && raw[key] !== undefined) {
      problems.push({ pointer: name, message: `KAFKA_SECURITY_PROTOCOL=${protocol} uses no TLS: set SSL or SASL_SSL, or remove ${name}` });
    }
  }
  if (!ssl) return problems;
  if ((raw.kafkaSslCertFile === undefined) !== (raw.kafkaSslKeyFile === undefined)) {
    const missing = raw.kafkaSslCertFile === undefined ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE';
    problems.push({ pointer: missing, message: 'a client certificate needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE' });
  }
  if (raw.kafkaSslKeyPassword !== undefined && raw.kafkaSslKeyFile === undefined) {
    problems.push({ pointer: 'KAFKA_SSL_KEY_PASSWORD', message: 'KAFKA_SSL_KEY_PASSWORD needs KAFKA_SSL_KEY_FILE' });
  }
  for (const [name, key] of SSL_SETTINGS) {
    const path = raw[key];
    if (typeof path !== 'string' || !name.endsWith('_FILE')) continue;
    const problem = pemProblem(path);
    if (problem) problems.push({ pointer: name, message: problem });
  }
  return problems;
}

/** Why `path` is no PEM file the receiver can use; null when it is one. Never quotes the content. */
function pemProblem(path: string): string | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    return `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`;
  }
  return text.includes('-----BEGIN ') ? null : `${path} holds no PEM block (-----BEGIN …)`;
}
