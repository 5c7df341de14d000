import { strict as assert } from 'node:assert';
import { stateData } from '../../../src/reconcile/reconcile-messages.js';
import type { ReconcileRule } from '../../../src/reconcile/reconcile-policy.js';
import { newestAcross, restoreRoot, type StateMessage } from '../../../src/reconcile/state-restore.js';
import { restingRecord, type RootRecord } from '../../../src/reconcile/state-machine.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';

const SCHEMA = 'root-state.v1.schema.json';
const registry = new SchemaRegistry();
const isStateMessage = registry.validator<StateMessage>(SCHEMA);
const schemaErrors = () =>
  registry
    .lastErrors(SCHEMA, 3)
    .map((e) => `${e.pointer}: ${e.message}`)
    .join('; ');

const ROOT = 'nb-eu/dcim.device:42';
const rule: ReconcileRule = {
  match: { rootType: 'dcim.device' },
  jobTemplate: { name: 'reconcile-device', organization: 'Default' },
  debounceMs: 1000,
  deadlineMs: 60_000,
  retry: {},
};
const EMEA = { tenant: null, site: 'ams1', region: 'nl', regions: ['nl', 'emea'] };
/** eu's attempt in flight while the root moves to us: releasing. */
const RELEASING: RootRecord = {
  ...restingRecord(ROOT),
  state: 'running',
  rule,
  attempt: 1,
  inFlight: {
    reconcileId: '00000000-0000-4000-8000-000000000001',
    attempt: 1,
    requestedAt: '2026-01-01T00:00:00.000Z',
    deadline: '2026-01-01T00:01:00.000Z',
    awxJobId: 7,
    events: ['10000000-0000-4000-8000-000000000001'],
    eventCount: 1,
  },
  followUpEvents: ['10000000-0000-4000-8000-000000000002'],
  followUpEventCount: 1,
  owner: 'us',
  ownership: 'releasing',
  route: 'amer',
  scope: EMEA,
  moved: { eventId: '10000000-0000-4000-8000-000000000002', sequence: '00000000000000000002' },
};

function message(record: RootRecord, cell: string | undefined, at = 0): string {
  return JSON.stringify({
    specversion: '1.0',
    id: '00000000-0000-4000-8000-000000000999',
    source: 'netbox://test',
    type: 'unicop.root.state',
    subject: record.root,
    time: new Date(at).toISOString(),
    datacontenttype: 'application/json',
    dataschema: 'https://unicop.dev/schemas/root-state.v1.schema.json',
    data: stateData(record, cell),
  });
}

describe('reconcile state restore with cells (pure)', () => {
  it('restores its own state exactly, with the ownership fields and a source-prefixed root', () => {
    const restored = restoreRoot(ROOT, message(RELEASING, 'eu'), isStateMessage, schemaErrors, 'eu');
    assert.equal(restored.kind, 'restored', restored.kind === 'skipped' ? restored.detail : '');
    if (restored.kind !== 'restored') return;
    assert.deepEqual(restored.root.record, RELEASING);
    assert.equal(restored.root.attempt?.reconcileId, RELEASING.inFlight?.reconcileId, 'its attempt in flight, to correlate the outcome');
  });

  it('restores another cell’s state as a root this cell does not hold: no attempt, no waiting changes', () => {
    const restored = restoreRoot(ROOT, message(RELEASING, 'eu'), isStateMessage, schemaErrors, 'us');
    assert.ok(restored.kind === 'restored');
    assert.equal(restored.root.attempt, null, 'the attempt is eu’s, never us’s');
    const r = restored.root.record;
    assert.deepEqual(
      [r.ownership, r.owner, r.state, r.inFlight, r.followUpEventCount, r.route],
      ['adopting', 'us', 'idle', null, 0, 'amer'],
      'the message names us the owner: us waits for eu’s release',
    );
    const owned = restoreRoot(ROOT, message({ ...RELEASING, owner: 'eu', ownership: 'owned' }, 'eu'), isStateMessage, schemaErrors, 'us');
    assert.equal(owned.kind === 'restored' && owned.root.record.ownership, 'foreign');
  });

  it('reads a message without a cell as the single cell `default` of receivers before federation', () => {
    const legacy = { ...restingRecord('dcim.device:42'), state: 'succeeded' as const };
    const mine = restoreRoot('dcim.device:42', message(legacy, undefined), isStateMessage, schemaErrors);
    assert.deepEqual(mine.kind === 'restored' && mine.root.record, legacy, 'the default cell restores it as its own');
    const federated = restoreRoot('dcim.device:42', message(legacy, undefined), isStateMessage, schemaErrors, 'eu');
    assert.equal(federated.kind === 'restored' && federated.root.record.ownership, 'foreign', 'a named cell holds nothing it did not publish');
  });

  it('keeps the newest state of a root found on two routes’ state topics', () => {
    const older = message({ ...restingRecord(ROOT), state: 'failed' }, 'eu', 1000);
    const newer = message({ ...restingRecord(ROOT), state: 'succeeded' }, 'eu', 2000);
    const only = message(restingRecord('dcim.device:7'), 'eu', 500);
    const merged = newestAcross([new Map([[ROOT, newer]]), new Map([[ROOT, older]]), new Map([['dcim.device:7', only]])]);
    assert.deepEqual(
      new Map(merged.map((m) => [m.key, m.value])),
      new Map([
        [ROOT, newer],
        ['dcim.device:7', only],
      ]),
    );
    assert.deepEqual(newestAcross([new Map([[ROOT, 'not json']])]), [{ key: ROOT, value: 'not json' }], 'one route: as read');
  });
});
