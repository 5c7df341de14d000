import { strict as assert } from 'node:assert';
import { ClientRequestError } from '../../../src/clients/request-error.js';
import { UnicopError } from '../../../src/errors.js';
import { kafkajsRetry } from '../../../src/pipeline/publish/kafka-client.js';
import { Backoff, isRetriable, retriesOf, retryDelay, shouldRetry } from '../../../src/retry/backoff.js';
import { Pause } from '../../../src/retry/pause.js';
import { RETRY_POLICIES } from '../../../src/retry/policies.js';

const retriable = new UnicopError('UNICOP_PUBLISH_BROKER_UNAVAILABLE', 'broker down');
const fatal = new UnicopError('UNICOP_VALIDATE_SCHEMA', 'bad body');

/** A pause that records what it was asked to wait and returns at once. */
class RecordingPause extends Pause {
  readonly waited: number[] = [];
  override for(ms: number): Promise<void> {
    this.waited.push(ms);
    return Promise.resolve();
  }
}

const delays = (name: keyof typeof RETRY_POLICIES, n: number): number[] => {
  const policy = RETRY_POLICIES[name];
  assert.ok('initialMs' in policy);
  return Array.from({ length: n }, (_, i) => retryDelay(policy, i));
};

describe('retry policies', () => {
  it('back the relay off from 100 ms, doubling, to 5 s (as before the retry module)', () => {
    assert.deepEqual(delays('relay', 9), [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    assert.deepEqual(delays('cursor-write', 8), [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  it('back the consumer start and the state rebuild off from 200 ms, doubling, to 5 s', () => {
    for (const name of ['consumer-start', 'state-rebuild'] as const) assert.deepEqual(delays(name, 7), [200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  it('stays at the cap after very many retries (no overflow to NaN or Infinity)', () => {
    assert.equal(retryDelay(RETRY_POLICIES.relay, 5000), 5000);
    assert.equal(retryDelay({ initialMs: 0, factor: 2, maxMs: 10, jitter: 0 }, 5000), 0);
  });

  it('spreads a jittered delay within ± jitter of the exponential value', () => {
    const p = RETRY_POLICIES['kafka-consumer'];
    assert.equal(
      retryDelay(p, 0, () => 0),
      240,
    );
    assert.equal(
      retryDelay(p, 0, () => 0.5),
      300,
    );
    assert.equal(
      retryDelay(p, 0, () => 1),
      360,
    );
    assert.equal(
      retryDelay(p, 10, () => 1),
      36_000,
      'the cap applies before the jitter',
    );
  });

  it('hands kafkajs the same numbers it had before (retries, times, its default factor and multiplier)', () => {
    assert.deepEqual(kafkajsRetry(RETRY_POLICIES['kafka-request']), { retries: 1, initialRetryTime: 200, maxRetryTime: 1000, multiplier: 2, factor: 0.2 });
    assert.deepEqual(kafkajsRetry(RETRY_POLICIES['kafka-lane-producer']), { retries: 8, initialRetryTime: 20, maxRetryTime: 3000, multiplier: 2, factor: 0.2 });
    assert.deepEqual(kafkajsRetry(RETRY_POLICIES['kafka-consumer']), { retries: 5, initialRetryTime: 300, maxRetryTime: 30_000, multiplier: 2, factor: 0.2 });
    assert.equal(RETRY_POLICIES['http-client'].retries, 0, 'got never retries inside a NetBox or AWX call');
  });
});

describe('isRetriable / shouldRetry', () => {
  it("follow the error's retriable flag alone", () => {
    assert.equal(isRetriable(retriable), true);
    assert.equal(isRetriable(fatal), false);
    assert.equal(isRetriable(new ClientRequestError({ service: 'netbox', code: 'HTTP_502', status: 502, method: 'GET', url: 'http://netbox/api/' })), true);
  });

  it('never retry an unclassified error (kafkajs, got, SQLite are classified at their boundary)', () => {
    assert.equal(isRetriable(new Error('ECONNREFUSED')), false);
    assert.equal(isRetriable({ retriable: true }), false);
    assert.equal(shouldRetry('relay', new Error('boom'), 0), false);
  });

  it('stop after the policy’s retries: a changelog row gets 3 attempts in all', () => {
    assert.equal(retriesOf('catchup-row'), 2);
    assert.deepEqual(
      [0, 1, 2, 3].map((n) => shouldRetry('catchup-row', retriable, n)),
      [true, true, false, false],
    );
    assert.equal(shouldRetry('catchup-row', fatal, 0), false);
  });

  it('retry forever under a forever policy', () => {
    assert.equal(retriesOf('relay'), Infinity);
    assert.equal(shouldRetry('relay', retriable, 1_000_000), true);
    assert.equal(shouldRetry('awx-poll', retriable, 1_000_000), true);
  });
});

describe('Backoff', () => {
  it('waits the policy’s delays, growing until a reset starts over', async () => {
    const pause = new RecordingPause();
    const backoff = new Backoff('relay', { pause });
    for (let i = 0; i < 4; i++) assert.equal(await backoff.wait(retriable), true);
    assert.equal(backoff.nextDelayMs, 1600);
    backoff.reset();
    await backoff.wait(retriable);
    assert.deepEqual(pause.waited, [100, 200, 400, 800, 100]);
  });

  it('takes shorter first and longest delays as overrides (the relay’s options)', async () => {
    const pause = new RecordingPause();
    const backoff = new Backoff('consumer-start', { initialMs: 1, maxMs: 4, pause });
    for (let i = 0; i < 5; i++) await backoff.wait(retriable);
    assert.deepEqual(pause.waited, [1, 2, 4, 4, 4]);
  });

  it('answers false at once for an error that is not retriable', async () => {
    const pause = new RecordingPause();
    const backoff = new Backoff('state-rebuild', { pause });
    assert.equal(await backoff.wait(fatal), false);
    assert.equal(await backoff.wait(new Error('not classified')), false);
    assert.deepEqual(pause.waited, []);
  });

  it('is cut short by the pause’s wake (new rows wake a backing-off relay)', async () => {
    const pause = new Pause();
    const backoff = new Backoff('relay', { initialMs: 60_000, pause });
    const started = Date.now();
    const waiting = backoff.wait(retriable);
    pause.wake();
    assert.equal(await waiting, true);
    assert.ok(Date.now() - started < 1000);
  });
});
