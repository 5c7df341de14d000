import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { EVENT_SAMPLE_EDGE, appendToSample, mergeSamples, sampleOf } from '../../../src/reconcile/event-sample.js';

/** The sample by definition: every id up to 2 × EDGE, else the first EDGE and the last EDGE. */
const expected = (ids: string[]) => (ids.length <= 2 * EVENT_SAMPLE_EDGE ? ids : [...ids.slice(0, EVENT_SAMPLE_EDGE), ...ids.slice(-EVENT_SAMPLE_EDGE)]);
const ids = fc.array(fc.uuid(), { maxLength: 200 });

describe('event samples', () => {
  it('appending one id at a time keeps exactly the first and the last ids', () => {
    fc.assert(
      fc.property(ids, (all) => {
        let sample: string[] = [];
        for (const id of all) sample = appendToSample(sample, id);
        assert.deepEqual(sample, expected(all));
      }),
    );
  });

  it('merging two samples equals the sample of both lists one after the other (a retry covering its follow-ups)', () => {
    fc.assert(
      fc.property(ids, ids, (a, b) => {
        assert.deepEqual(mergeSamples(sampleOf(a).sample, sampleOf(b).sample), expected([...a, ...b]));
      }),
    );
  });

  it('reads a plain list (older records and messages) as its sample and its length', () => {
    fc.assert(fc.property(ids, (all) => assert.deepEqual(sampleOf(all), { sample: expected(all), count: all.length })));
  });
});
