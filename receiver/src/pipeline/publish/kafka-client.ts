import { Kafka, logLevel, type LogEntry, type RetryOptions } from 'kafkajs';
import type { Logger } from '../../log.js';
import { RETRY_POLICIES, type BackoffPolicy } from '../../retry/policies.js';
import type { KafkaSecurity } from './kafka-security.js';

/** A `kafkajs` retry policy in kafkajs' terms (its `factor` is the jitter, `multiplier` the growth). */
export function kafkajsRetry(policy: BackoffPolicy & { kind: 'kafkajs'; retries: number }): RetryOptions {
  return { retries: policy.retries, initialRetryTime: policy.initialMs, maxRetryTime: policy.maxMs, multiplier: policy.factor, factor: policy.jitter };
}

/** kafkajs' own logs, at warning and above, through our logger (never its console logger). */
function logCreator(log: Logger) {
  return () =>
    ({ level, log: entry }: LogEntry): void => {
      const { message, ...rest } = entry;
      const fields = { kafkajs: rest };
      if (level <= logLevel.ERROR) log.error(fields, message);
      else log.warn(fields, message);
    };
}

/**
 * The one factory of the receiver's Kafka clients (producers, admins, consumers, in both threads):
 * each gets the same TLS and SASL settings (`kafkaSecurity`), whichever cluster it talks to.
 */
export function createKafka(brokers: readonly string[], log: Logger, security: KafkaSecurity): Kafka {
  return new Kafka({
    clientId: 'unicop-receiver',
    brokers: [...brokers],
    ...(security.ssl !== undefined && { ssl: security.ssl }),
    ...(security.sasl !== undefined && { sasl: security.sasl }),
    connectionTimeout: 3000,
    requestTimeout: 30000,
    // One short retry inside kafkajs; the relay owns the visible, metered backoff beyond it.
    retry: kafkajsRetry(RETRY_POLICIES['kafka-request']),
    logLevel: logLevel.WARN,
    logCreator: logCreator(log.child({ stage: 'kafkajs' })),
  });
}
