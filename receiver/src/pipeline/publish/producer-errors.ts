/**
 * Errors after which a producer's sequence state is wrong for good: only a new producer (a new
 * initialisation) recovers (kafkajs keeps the state across disconnect/connect).
 * Kafka protocol error names, kafkajs src/protocol/error.js.
 */
const FATAL_SEQUENCE_ERRORS = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_ID_MAPPING', 'INVALID_TXN_STATE']);

/**
 * A newer producer initialised the lane's transactional id: another receiver took the lane (or a
 * restarted process did). Brokers answer INVALID_PRODUCER_EPOCH to kafkajs' request versions;
 * PRODUCER_FENCED (90) is the newer name, which kafkajs 2 does not know by name.
 */
const FENCED_ERRORS = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);
const PRODUCER_FENCED_CODE = 90;

/** The broker refused the batch for its size (an existing topic with a lower max.message.bytes, say). */
const TOO_LARGE_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

export type PublishFailure = 'fenced' | 'fatal_sequence' | 'too_large' | 'broker_unavailable';

/** Walks the cause chain (kafkajs wraps protocol errors in retry errors) for the errors that need more than a backoff. */
export function classifyPublishError(error: unknown): PublishFailure {
  for (let e: unknown = error, depth = 0; e && depth < 8; depth++) {
    const { type, code } = e as { type?: unknown; code?: unknown };
    if ((typeof type === 'string' && FENCED_ERRORS.has(type)) || code === PRODUCER_FENCED_CODE) return 'fenced';
    if (typeof type === 'string' && FATAL_SEQUENCE_ERRORS.has(type)) return 'fatal_sequence';
    if (typeof type === 'string' && TOO_LARGE_ERRORS.has(type)) return 'too_large';
    e = (e as { cause?: unknown; originalError?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return 'broker_unavailable';
}
