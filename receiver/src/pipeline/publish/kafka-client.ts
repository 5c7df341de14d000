import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '../../log.js';

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
    retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 },
    logLevel: logLevel.WARN,
    logCreator: logCreator(log.child({ stage: 'kafkajs' })),
  });
}
