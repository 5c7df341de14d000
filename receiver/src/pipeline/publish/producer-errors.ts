/**
 * Errors after which an idempotent producer's sequence state is wrong for good: only a new
 * producer (new producer id) recovers (kafkajs keeps the state across disconnect/connect).
 * Kafka protocol error names, kafkajs src/protocol/error.js.
 */
const FATAL_SEQUENCE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'INVALID_TXN_STATE',
]);

/** The broker refused the batch for its size (an existing topic with a lower max.message.bytes, say). */
const TOO_LARGE_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

export type PublishFailure = 'fatal_sequence' | 'too_large' | 'broker_unavailable';

/** Walks the cause chain (kafkajs wraps protocol errors in retry errors) for the errors that need more than a backoff. */
export function classifyPublishError(error: unknown): PublishFailure {
  for (let e: unknown = error, depth = 0; e && depth < 8; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && FATAL_SEQUENCE_ERRORS.has(type)) return 'fatal_sequence';
    if (typeof type === 'string' && TOO_LARGE_ERRORS.has(type)) return 'too_large';
    e = (e as { cause?: unknown; originalError?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return 'broker_unavailable';
}
