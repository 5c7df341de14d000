import { strict as assert } from 'node:assert';
import { sequenceEvent, type SequenceState } from '../../../src/pipeline/sequence/sequencer.js';
import type { DraftEvent } from '../../../src/model/event.js';

function draft(action: 'created' | 'updated' | 'deleted', versionKey: string | null, subject = 'dcim.interface:11'): DraftEvent {
  return {
    versionKey,
    envelope: { partitionkey: 'dcim.device:42', subject, data: { action, superseded: false } } as unknown as DraftEvent['envelope'],
  };
}

function memoryState(): SequenceState & { apply(r: ReturnType<typeof sequenceEvent>): void } {
  const roots = new Map<string, number>();
  const versions = new Map<string, string>();
  return {
    lastSequence: (root) => roots.get(root) ?? 0,
    newestVersion: (subject) => versions.get(subject) ?? null,
    apply(r) {
      roots.set(r.envelope.partitionkey, r.rootSequence);
      if (r.versionMark) versions.set(r.envelope.subject, r.versionMark);
    },
  };
}

describe('sequencer', () => {
  it('numbers the events of a root 1, 2, 3 as 20-digit strings', () => {
    const state = memoryState();
    const seqs = ['01', '02', '03'].map((v) => {
      const r = sequenceEvent(state, draft('updated', v));
      state.apply(r);
      return r.envelope.sequence;
    });
    assert.deepEqual(seqs, ['00000000000000000001', '00000000000000000002', '00000000000000000003']);
  });
  it('flags an older version arriving after a newer one, and keeps the newer mark', () => {
    const state = memoryState();
    state.apply(sequenceEvent(state, draft('updated', '05')));
    const late = sequenceEvent(state, draft('updated', '03'));
    assert.equal(late.envelope.data.superseded, true);
    assert.equal(late.rootSequence, 2, 'a superseded event still gets its number: it is published');
    assert.equal(late.versionMark, '051');
  });
  it('ranks a deletion above an update of the same instant', () => {
    const state = memoryState();
    state.apply(sequenceEvent(state, draft('deleted', '05')));
    assert.equal(sequenceEvent(state, draft('updated', '05')).envelope.data.superseded, true);
  });
  it('never flags events without a version, nor other objects', () => {
    const state = memoryState();
    state.apply(sequenceEvent(state, draft('updated', '05')));
    assert.equal(sequenceEvent(state, draft('updated', null)).envelope.data.superseded, false);
    assert.equal(sequenceEvent(state, draft('updated', '01', 'dcim.interface:12')).envelope.data.superseded, false);
  });
});
