import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../../src/database.js';
import { createNormalizer } from '../../../src/pipeline/normalize/normalize.js';
import { normalizeChangelog } from '../../../src/pipeline/normalize/normalize-changelog.js';
import { DEFAULT_ROOT_POLICY } from '../../../src/pipeline/normalize/default-root-policy.js';
import { createRootResolver } from '../../../src/pipeline/normalize/root-policy.js';
import { compileManagedSet } from '../../../src/inventory/managed-set.js';
import type { ValidWebhook } from '../../../src/model/netbox-webhook.js';
import { openReceiverDatabase } from '../../../src/receiver-database.js';
import { fixture } from '../../helpers/fixtures.js';
import { SILENT_METRICS, objectEventRecord, unitReconciler } from '../../helpers/reconciler.js';

const deps = {
  source: 'netbox://test',
  resolveRoot: createRootResolver(DEFAULT_ROOT_POLICY),
  managed: compileManagedSet({ version: 1, managed: { objectTypes: ['dcim.device'], tags: ['production'] } }),
};

describe('unmanaged events (outside the inventory policy)', () => {
  it('marks an object outside the managed set managed: false on the webhook path, and leaves a managed one unmarked', () => {
    const normalize = createNormalizer(deps);
    const webhook = (type: string) => ({ shape: '4.7', body: fixture('4.7', type, 'created').body }) as unknown as ValidWebhook;
    assert.equal(normalize(webhook('dcim.device')).envelope.data.managed, undefined, 'a device tagged production');
    const prefix = normalize(webhook('ipam.prefix')).envelope.data;
    assert.equal('managed' in prefix && prefix.managed, false);
    const untagged = createNormalizer({ ...deps, managed: compileManagedSet({ version: 1, managed: { objectTypes: ['dcim.device'], tags: ['lab'] } }) });
    assert.equal(untagged(webhook('dcim.device')).envelope.data.managed, false, 'a device without the tag');
  });

  it('marks the changelog path alike', () => {
    const row = {
      id: 9,
      time: '2026-01-01T00:00:00Z',
      user_name: 'admin',
      request_id: null,
      action: 'update' as const,
      changed_object_type: 'ipam.vlan',
      changed_object_id: 3,
      changed_object: null,
      object_repr: 'vlan 3',
      prechange_data: {},
      postchange_data: { id: 3 },
    };
    assert.equal(normalizeChangelog(deps, row, { id: 3 }, '4.7.0').envelope.data.managed, false);
  });

  describe('the reconciler', () => {
    let dir: string;
    let db: Db;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'unicop-unmanaged-'));
      db = openReceiverDatabase(dir);
    });
    afterEach(() => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('never reconciles a managed: false event, and counts it', () => {
      let unmanaged = 0;
      const { reconciler } = unitReconciler(db, {
        policy: {
          version: 1,
          rules: [{ match: { rootType: 'dcim.device' }, jobTemplate: { name: 't', organization: 'o' }, debounceMs: 0, deadlineMs: 1000, retry: {} }],
        },
        metrics: { ...SILENT_METRICS, unmanaged: () => unmanaged++ },
      });
      const raw = JSON.parse(objectEventRecord('10000000-0000-4000-8000-000000000001', 'dcim.device:1').toString()) as { data: Record<string, unknown> };
      raw.data.managed = false;
      reconciler.handleEvent({ topic: 't', partition: 0, offset: '0', raw: Buffer.from(JSON.stringify(raw)) });
      assert.equal(reconciler.record('dcim.device:1'), null, 'no state, no command');
      assert.equal(unmanaged, 1);
      reconciler.handleEvent({ topic: 't', partition: 0, offset: '1', raw: objectEventRecord('10000000-0000-4000-8000-000000000002', 'dcim.device:2') });
      assert.notEqual(reconciler.record('dcim.device:2'), null, 'a managed event of the same kind is reconciled');
    });
  });
});
