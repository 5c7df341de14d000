import { strict as assert } from 'node:assert';
import {
  KafkaJSNonRetriableError,
  KafkaJSProtocolError,
  KafkaJSConnectionError,
  KafkaJSSASLAuthenticationError,
  KafkaJSNumberOfRetriesExceeded,
} from 'kafkajs';
import { classifyPublishError, socketErrorCode } from '../../../src/pipeline/publish/producer-errors.js';

function protocolError(type: string): KafkaJSProtocolError {
  return new KafkaJSProtocolError({ message: type, type, code: 45, retriable: false } as unknown as string);
}

describe('publish error classification', () => {
  it('treats lost sequence state as fatal, even when wrapped by the retrier', () => {
    assert.equal(classifyPublishError(protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER')), 'fatal_sequence');
    // kafkajs' retrier (src/retry/index.js) wraps a non-retriable error with it as the cause.
    const inner = protocolError('UNKNOWN_PRODUCER_ID');
    assert.equal(
      classifyPublishError(new (KafkaJSNonRetriableError as unknown as new (e: Error, options: { cause: Error }) => Error)(inner, { cause: inner })),
      'fatal_sequence',
    );
  });
  it('treats an older epoch of the transactional id as the lane taken by a newer holder, also under the code kafkajs does not name', () => {
    assert.equal(classifyPublishError(protocolError('INVALID_PRODUCER_EPOCH')), 'fenced');
    const producerFenced = new KafkaJSProtocolError({
      message: 'unknown',
      type: 'KAFKAJS_UNKNOWN_ERROR_CODE',
      code: 90,
      retriable: false,
    } as unknown as string);
    assert.equal(classifyPublishError(new Error('wrapped', { cause: producerFenced })), 'fenced');
  });
  it('names refused SASL credentials, however the retrier wrapped them', () => {
    // The message kafkajs' SCRAM authenticator gives for a wrong password (broker/saslAuthenticator).
    // (kafkajs' typings declare no constructor arguments; the class takes the message like every KafkaJSError)
    const refused = new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)(
      'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials',
    );
    assert.equal(classifyPublishError(refused), 'authentication');
    const wrapped = new (KafkaJSNonRetriableError as unknown as new (e: Error, options: { cause: Error }) => Error)(refused, { cause: refused });
    assert.equal(classifyPublishError(wrapped), 'authentication');
  });
  it('names a failed TLS handshake from the socket error code kafkajs keeps', () => {
    const retried = (code: string) =>
      new (KafkaJSNumberOfRetriesExceeded as unknown as new (e: Error, options: { retryCount: number; retryTime: number }) => Error)(
        new KafkaJSConnectionError(`Connection error: ${code}`, { code }),
        { retryCount: 1, retryTime: 300 },
      );
    // an untrusted broker certificate, a certificate for another name, our client certificate refused
    for (const code of [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
      'CERT_HAS_EXPIRED',
    ]) {
      assert.equal(classifyPublishError(retried(code)), 'tls', code);
      // the log line names which check failed (kafkajs' messages leave the code out)
      assert.equal(socketErrorCode(retried(code)), code);
    }
    assert.equal(classifyPublishError(retried('ECONNREFUSED')), 'broker_unavailable');
  });
  it('treats everything else as the broker being away', () => {
    assert.equal(classifyPublishError(new KafkaJSConnectionError('Connection error: ECONNREFUSED')), 'broker_unavailable');
    assert.equal(classifyPublishError(protocolError('NOT_LEADER_FOR_PARTITION')), 'broker_unavailable');
    assert.equal(classifyPublishError(new Error('timeout')), 'broker_unavailable');
  });
});
