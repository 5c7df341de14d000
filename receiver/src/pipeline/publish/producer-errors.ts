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

/**
 * Node's TLS failures as kafkajs passes them on (KafkaJSConnectionError keeps the socket error's
 * `code`): OpenSSL's verify codes (UNABLE_TO_VERIFY_LEAF_SIGNATURE, SELF_SIGNED_CERT_IN_CHAIN,
 * CERT_HAS_EXPIRED…), Node's own (ERR_TLS_CERT_ALTNAME_INVALID) and alerts from the broker
 * (ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: it refused our client certificate). https://nodejs.org/api/tls.html
 */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_SELF_SIGNED|CERT_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE)/;

/**
 * `authentication`: the cluster refused the SASL credentials (kafkajs' KafkaJSSASLAuthenticationError);
 * `tls`: the TLS handshake failed (an untrusted broker certificate, a refused client certificate).
 * Both are configuration faults: retrying does not help until an operator fixes the settings or the cluster.
 */
export type PublishFailure = 'fenced' | 'fatal_sequence' | 'too_large' | 'authentication' | 'tls' | 'broker_unavailable';

/**
 * The socket's error code in the cause chain (UNABLE_TO_VERIFY_LEAF_SIGNATURE, ECONNREFUSED…):
 * kafkajs keeps it as a property its messages leave out, and it is what tells an operator which
 * certificate check failed.
 */
export function socketErrorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 8; depth++) {
    const { code } = e as { code?: unknown };
    if (typeof code === 'string' && !code.startsWith('UNICOP_')) return code;
    e = (e as { cause?: unknown; originalError?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Walks the cause chain (kafkajs wraps protocol errors in retry errors) for the errors that need more than a backoff. */
export function classifyPublishError(error: unknown): PublishFailure {
  for (let e: unknown = error, depth = 0; e && depth < 8; depth++) {
    const { type, name, code } = e as { type?: unknown; name?: unknown; code?: unknown };
    if ((typeof type === 'string' && FENCED_ERRORS.has(type)) || code === PRODUCER_FENCED_CODE) return 'fenced';
    if (typeof type === 'string' && FATAL_SEQUENCE_ERRORS.has(type)) return 'fatal_sequence';
    if (typeof type === 'string' && TOO_LARGE_ERRORS.has(type)) return 'too_large';
    if (name === 'KafkaJSSASLAuthenticationError' || type === 'SASL_AUTHENTICATION_FAILED') return 'authentication';
    if (typeof code === 'string' && TLS_CODE.test(code)) return 'tls';
    e = (e as { cause?: unknown; originalError?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return 'broker_unavailable';
}
