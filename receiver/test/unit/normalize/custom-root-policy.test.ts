import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { createLogger } from '../../../src/log.js';
import type { ObjectEvent } from '../../../src/model/event.js';
import type { ObjectChangeRow } from '../../../src/model/netbox-changelog.js';
import type { JsonObject } from '../../../src/model/netbox-webhook.js';
import { DEFAULT_ROOT_POLICY_FILE } from '../../../src/pipeline/normalize/default-root-policy.js';
import { createNormalizer, type NormalizeDeps, type RootDisagreement } from '../../../src/pipeline/normalize/normalize.js';
import { normalizeChangelog } from '../../../src/pipeline/normalize/normalize-changelog.js';
import {
  createRootDisagreementMetrics,
  createRootDisagreementReporter,
  ROOT_DISAGREEMENTS_METRIC,
} from '../../../src/pipeline/normalize/root-disagreements.js';
import { createRootResolver, loadRootPolicy } from '../../../src/pipeline/normalize/root-policy.js';
import { createWebhookValidator } from '../../../src/pipeline/validate/validate-webhook.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { fixture } from '../../helpers/fixtures.js';

const registry = new SchemaRegistry();
const validate = createWebhookValidator(registry);

/** A site that orders interface changes per cable instead of per device (the capture's interface 11 is on cable 9). */
const PER_CABLE = { version: 1, rules: [{ objectType: 'dcim.interface', root: { type: 'dcim.cable', idPath: 'cable.id' } }] };

function policyFile(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'unicop-root-policy-')), 'root-policy.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

/** Both normalizers with one policy file, as receiver.ts wires them; disagreements collected. */
function normalizers(file: string) {
  const disagreements: RootDisagreement[] = [];
  const deps: NormalizeDeps = {
    source: 'netbox://test',
    resolveRoot: createRootResolver(loadRootPolicy(file, registry)),
    onRootDisagreement: (disagreement) => disagreements.push(disagreement),
  };
  const webhook = createNormalizer(deps);
  return {
    disagreements,
    webhook: (f: ReturnType<typeof fixture>) => webhook(validate(f.body, f.raw.length)).envelope as ObjectEvent,
    changelog: (row: ObjectChangeRow, rest: JsonObject | null) => normalizeChangelog(deps, row, rest, '4.7.3').envelope as ObjectEvent,
  };
}

/** The changelog row of the captured update of interface 11: its snapshots are the webhook's. */
function changelogRowOf(f: ReturnType<typeof fixture>): ObjectChangeRow {
  const snapshots = f.body.snapshots as { prechange: Record<string, unknown>; postchange: Record<string, unknown> };
  return {
    id: 201,
    time: String(f.body.timestamp),
    user_name: 'admin',
    request_id: null,
    action: { value: 'update' },
    changed_object_type: 'dcim.interface',
    changed_object_id: 11,
    changed_object: null,
    object_repr: 'Ethernet1',
    prechange_data: snapshots.prechange,
    postchange_data: snapshots.postchange,
  };
}

describe('one root policy file for webhook and recovered events', () => {
  const withContext = fixture('4.7', 'dcim.interface', 'updated-with-context');
  const row = changelogRowOf(withContext);
  const rest = withContext.body.data as JsonObject;

  it('a custom policy file changes the root of a webhook event and of a recovered event of the same object the same way', () => {
    const custom = normalizers(policyFile(PER_CABLE));
    const webhook = custom.webhook(fixture('4.7', 'dcim.interface', 'updated'));
    const recoveredFromRest = custom.changelog(row, rest);
    const recoveredFromSnapshot = custom.changelog(row, null);
    assert.equal(webhook.partitionkey, 'dcim.cable:9');
    assert.equal(recoveredFromRest.partitionkey, 'dcim.cable:9');
    assert.equal(recoveredFromSnapshot.partitionkey, 'dcim.cable:9', 'the snapshot names the cable as a bare id');
    assert.equal(webhook.data.netbox.via, 'webhook');
    assert.equal(recoveredFromRest.data.netbox.via, 'changelog');

    const byDefault = normalizers(DEFAULT_ROOT_POLICY_FILE);
    for (const event of [byDefault.webhook(fixture('4.7', 'dcim.interface', 'updated')), byDefault.changelog(row, rest), byDefault.changelog(row, null)]) {
      assert.equal(event.partitionkey, 'dcim.device:42');
    }
  });

  it("uses its own policy's root when the plugin's context names another, and reports both answers", () => {
    const custom = normalizers(policyFile(PER_CABLE));
    const event = custom.webhook(withContext);
    assert.equal((withContext.body.context as { unicop: { root: string } }).unicop.root, 'dcim.device:42');
    assert.equal(event.partitionkey, 'dcim.cable:9');
    assert.equal(event.data.root.key, 'dcim.cable:9');
    assert.equal(event.partitionkey, custom.changelog(row, rest).partitionkey);
    assert.deepEqual(custom.disagreements, [{ objectType: 'dcim.interface', subject: 'dcim.interface:11', plugin: 'dcim.device:42', policy: 'dcim.cable:9' }]);
    // the rest of the context still counts: the body's interface names no scope
    assert.deepEqual(event.data.scope, { tenant: 'acme', site: 'dc1', region: 'eu-west', regions: ['eu-west'] });
  });

  it('reports nothing when the plugin and the policy agree', () => {
    const byDefault = normalizers(DEFAULT_ROOT_POLICY_FILE);
    assert.equal(byDefault.webhook(withContext).partitionkey, 'dcim.device:42');
    assert.deepEqual(byDefault.disagreements, []);
  });
});

describe('root disagreement reporter', () => {
  it('counts unicop_root_disagreements_total by object type and warns naming both roots', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const metrics = new Registry();
    const report = createRootDisagreementReporter(createRootDisagreementMetrics(metrics).rootDisagreements, createLogger('info', sink));
    report({ objectType: 'dcim.interface', subject: 'dcim.interface:11', plugin: 'dcim.device:42', policy: 'dcim.cable:9' });
    report({ objectType: 'dcim.interface', subject: 'dcim.interface:12', plugin: 'dcim.device:42', policy: 'dcim.cable:10' });

    const counted = (await metrics.getSingleMetric(ROOT_DISAGREEMENTS_METRIC)?.get())?.values ?? [];
    assert.deepEqual(
      counted.map((v) => [v.labels, v.value]),
      [[{ object_type: 'dcim.interface' }, 2]],
    );
    await new Promise((resolve) => setImmediate(resolve));
    const warning = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    assert.equal(warning.level, 40);
    assert.equal(warning.stage, 'normalize');
    assert.equal(warning.subject, 'dcim.interface:11');
    assert.equal(warning.pluginRoot, 'dcim.device:42');
    assert.equal(warning.policyRoot, 'dcim.cable:9');
    assert.equal(lines.length, 2);
  });
});
