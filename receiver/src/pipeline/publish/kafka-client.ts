import { Kafka, logLevel, type LogEntry, type RetryOptions } from 'kafkajs';
import type { Logger } from '../../log.js';
import { RETRY_POLICIES, type BackoffPolicy } from '../../retry/policies.js';

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

export function createKafka(brokers: readonly string[], log: Logger): Kafka {
  return new Kafka({
    clientId: 'unicop-receiver',
    brokers: [...brokers],
    connectionTimeout: 3000,
    requestTimeout: 30000,
    // One short retry inside kafkajs; the relay owns the visible, metered backoff beyond it.
    retry: kafkajsRetry(RETRY_POLICIES['kafka-request']),
    logLevel: logLevel.WARN,
    logCreator: logCreator(log.child({ stage: 'kafkajs' })),
  });
}
