import { strict as assert } from 'node:assert';
import { createLogger } from '../../../src/log.js';
import { StoreHealth } from '../../../src/pipeline/outbox/store-health.js';

const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

function health() {
  const writable: boolean[] = [];
  const h = new StoreHealth({
    log: createLogger('silent'),
    metrics: { writeFailed: () => undefined, writable: (up) => writable.push(up) },
    probe: () => undefined,
  });
  return { h, writable };
}

describe('store health', () => {
  it('stays not writable when only an in-place update or a delete succeeds on a full disk', () => {
    const { h, writable } = health();
    h.failed('outbox', full);
    assert.equal(h.fault?.code, 'SQLITE_FULL');
    h.succeeded('relay_cursor'); // UPDATE of an existing row: needs no new page
    h.succeeded('retention'); // DELETE: frees pages
    assert.equal(h.fault?.code, 'SQLITE_FULL', 'the disk has not proven it has space again');
    assert.deepEqual(writable, [true, false]);
  });

  it('is writable again once an insert or the probe succeeds', () => {
    for (const part of ['outbox', 'probe']) {
      const { h, writable } = health();
      h.failed('outbox', full);
      h.succeeded(part);
      assert.equal(h.fault, null, part);
      assert.deepEqual(writable, [true, false, true]);
    }
  });
});
