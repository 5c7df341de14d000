import { strict as assert } from 'node:assert';
import { rootView } from '../../../src/api/root-view.js';
import { stateData } from '../../../src/reconcile/reconciler.js';
import { restingRecord, type RootRecord } from '../../../src/reconcile/state-machine.js';

const ROOT = 'dcim.device:42';
const IN_FLIGHT: RootRecord = {
  root: ROOT,
  state: 'running',
  rule: {
    match: { rootType: 'dcim.device' },
    jobTemplate: { name: 'reconcile-device', organization: 'Default' },
    debounceMs: 1000,
    deadlineMs: 60_000,
    retry: { transient: 1 },
  },
  attempt: 2,
  inFlight: {
    reconcileId: 'r-2',
    attempt: 2,
    requestedAt: '2026-03-01T00:00:00.000Z',
    deadline: '2026-03-01T00:01:00.000Z',
    awxJobId: 7,
    events: ['e-1', 'e-2'],
    eventCount: 3,
  },
  lastOutcome: null,
  pendingEvents: [],
  pendingEventCount: 0,
  followUpEvents: ['e-4'],
  followUpEventCount: 1,
  dueAt: null,
};

describe('root view (api/root-view.ts) and the state message data (reconciler.ts)', () => {
  it('shows the API exactly the RootReconcile fields of a record, without its event samples or rule', () => {
    assert.deepStrictEqual(rootView(IN_FLIGHT), {
      root: ROOT,
      state: 'running',
      attempt: 2,
      inFlight: { reconcileId: 'r-2', attempt: 2, requestedAt: '2026-03-01T00:00:00.000Z', deadline: '2026-03-01T00:01:00.000Z', awxJobId: 7 },
      lastOutcome: null,
      pendingFollowUp: true,
      owner: null,
      ownership: 'owned',
    });
    assert.deepStrictEqual(rootView(restingRecord(ROOT)), {
      root: ROOT,
      state: 'idle',
      attempt: 0,
      inFlight: null,
      lastOutcome: null,
      pendingFollowUp: false,
      owner: null,
      ownership: 'owned',
    });
    assert.deepStrictEqual(
      [
        rootView({ ...IN_FLIGHT, owner: 'us', ownership: 'releasing', route: 'amer' }).owner,
        rootView({ ...IN_FLIGHT, owner: 'us', ownership: 'releasing' }).ownership,
      ],
      ['us', 'releasing'],
      'a record that moved to another cell shows its owner and this cell’s part',
    );
  });

  it('publishes the same state data bytes as before the API got its own view (field order included)', () => {
    // The serialized form the reconciler published when stateData spread the API view: the state
    // topic is compacted and read back by older and newer receivers alike.
    assert.equal(
      JSON.stringify(stateData({ ...IN_FLIGHT, state: 'pending', pendingEvents: ['e-5'], pendingEventCount: 1, dueAt: Date.parse('2026-03-01T00:00:01Z') })),
      '{"root":"dcim.device:42","state":"pending","attempt":2,' +
        '"inFlight":{"reconcileId":"r-2","attempt":2,"requestedAt":"2026-03-01T00:00:00.000Z","deadline":"2026-03-01T00:01:00.000Z","awxJobId":7,"triggeringEvents":["e-1","e-2"],"triggeringEventCount":3},' +
        '"lastOutcome":null,"pendingFollowUp":true,' +
        '"rule":{"match":{"rootType":"dcim.device"},"jobTemplate":{"name":"reconcile-device","organization":"Default"},"debounceMs":1000,"deadlineMs":60000,"retry":{"transient":1}},' +
        '"pendingEvents":["e-5"],"pendingEventCount":1,"followUpEvents":["e-4"],"followUpEventCount":1,"dueAt":"2026-03-01T00:00:01.000Z"}',
    );
    assert.equal(
      JSON.stringify(stateData(restingRecord(ROOT))),
      '{"root":"dcim.device:42","state":"idle","attempt":0,"inFlight":null,"lastOutcome":null,"pendingFollowUp":false,"rule":null,"pendingEvents":[],"pendingEventCount":0,"followUpEvents":[],"followUpEventCount":0,"dueAt":null}',
    );
  });
});
