import { strict as assert } from 'node:assert';
import { KafkaJSNonRetriableError, KafkaJSProtocolError, KafkaJSConnectionError } from 'kafkajs';
import { classifyPublishError } from '../../../src/pipeline/publish/producer-errors.js';

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
  it('treats everything else as the broker being away', () => {
    assert.equal(classifyPublishError(new KafkaJSConnectionError('Connection error: ECONNREFUSED')), 'broker_unavailable');
    assert.equal(classifyPublishError(protocolError('NOT_LEADER_FOR_PARTITION')), 'broker_unavailable');
    assert.equal(classifyPublishError(new Error('timeout')), 'broker_unavailable');
  });
});
