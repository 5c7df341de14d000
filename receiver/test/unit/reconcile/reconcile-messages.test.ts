import { strict as assert } from 'node:assert';
import { rootRefOf } from '../../../src/reconcile/handover-messages.js';
import { commandEnvelope } from '../../../src/reconcile/reconcile-messages.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';

const isCommand = new SchemaRegistry().validator('reconcile-command.v1.schema.json');

describe('reconcile messages (reconcile-messages.ts, handover-messages.ts)', () => {
  it('gives a playbook the model and id of a source-prefixed root, never the prefix', () => {
    const command = commandEnvelope(
      {
        reconcileId: '00000000-0000-4000-8000-000000000001',
        root: 'nb-eu/dcim.device:42',
        attempt: 1,
        jobTemplate: { name: 'reconcile-device', organization: 'Default' },
        triggeringEvents: ['10000000-0000-4000-8000-000000000001'],
        triggeringEventCount: 1,
        deadline: '2026-01-01T00:01:00.000Z',
        desiredVersion: null,
      },
      'netbox://nb-eu',
      Date.UTC(2026, 0, 1),
    );
    assert.deepEqual(
      [command.data.extraVars.unicop_root, command.data.extraVars.unicop_root_type, command.data.extraVars.unicop_root_id],
      ['nb-eu/dcim.device:42', 'dcim.device', 42],
    );
    assert.ok(isCommand(command), 'the command matches its schema');
  });

  it('names a root by model, id and key, with or without a source prefix', () => {
    assert.deepEqual(rootRefOf('nb-us/virtualization.virtualmachine:7'), {
      type: 'virtualization.virtualmachine',
      id: 7,
      key: 'nb-us/virtualization.virtualmachine:7',
    });
    assert.deepEqual(rootRefOf('dcim.device:42'), { type: 'dcim.device', id: 42, key: 'dcim.device:42' });
  });
});
