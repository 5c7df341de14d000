import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, signed } from '../helpers/fixtures.js';
import { consume } from '../helpers/kafka.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';

/** Interfaces ordered per cable instead of per device (the captured interface 11 is on cable 9). */
const PER_CABLE = { version: 1, rules: [{ objectType: 'dcim.interface', root: { type: 'dcim.cable', idPath: 'cable.id' } }] };

describe('UNICOP_ROOT_POLICY against the plugin context (real broker, real SQLite)', function () {
  this.timeout(90_000);
  let t: TestReceiver;
  beforeEach(() => {
    const file = join(mkdtempSync(join(tmpdir(), 'unicop-root-policy-')), 'root-policy.json');
    writeFileSync(file, JSON.stringify(PER_CABLE));
    t = startTestReceiver({ UNICOP_ROOT_POLICY: file });
  });
  afterEach(async () => {
    await t.close();
  });

  it("keys the event by the receiver's policy when context.unicop.root names another root, and counts the disagreement", async () => {
    const f = fixture('4.7', 'dcim.interface', 'updated-with-context');
    assert.equal((f.body.context as { unicop: { root: string } }).unicop.root, 'dcim.device:42');
    const { raw, signature } = signed(f.body);
    const res = await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature });
    assert.equal(res.status, 202);
    assert.equal(res.body.root, 'dcim.cable:9');

    const [message] = await consume(t.topics.events, 1);
    assert.equal(message?.key, 'dcim.cable:9');
    assert.equal(message?.value.partitionkey, 'dcim.cable:9');
    const metrics = await t.http.get('/metrics');
    assert.ok(metrics.text.includes('unicop_root_disagreements_total{object_type="dcim.interface"} 1'), 'disagreement counted on /metrics');
  });
});
