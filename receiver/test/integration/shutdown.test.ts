import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interfaceUpdate, signed } from '../helpers/fixtures.js';
import { postWebhook } from '../helpers/http.js';
import { consume, randomPrefix } from '../helpers/kafka.js';
import { assertMatchesOpenapi } from '../helpers/openapi.js';
import { spawnReceiver } from '../helpers/process.js';
import { postRaw, processEnv, startTestReceiver } from '../helpers/receiver.js';

describe('graceful stop', function () {
  this.timeout(60_000);

  it('answers 503 UNICOP_INGEST_STOPPING with Retry-After once stopping has begun', async () => {
    const t = startTestReceiver();
    const stopped = t.receiver.stop(2000);
    const { raw, signature } = signed(interfaceUpdate(42, 11, 1));
    const res = await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature });
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'UNICOP_INGEST_STOPPING');
    assert.equal(res.headers['retry-after'], '5');
    assertMatchesOpenapi('POST', '/v1/netbox/webhooks', res);
    await stopped;
  });

  it('on SIGTERM publishes what it accepted, then exits 0 with an empty outbox', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unicop-term-'));
    const prefix = randomPrefix();
    const r = await spawnReceiver(processEnv(dataDir, prefix, { UNICOP_LOG_LEVEL: 'info' }));
    try {
      const accepted = [];
      for (let i = 0; i < 20; i++) {
        const { raw, signature } = signed(interfaceUpdate(7000 + (i % 4), 7100 + i, i));
        accepted.push(await postWebhook(r.url, raw, signature));
      }
      assert.deepEqual([...new Set(accepted.map((a) => a.status))], [202]);
      const exited = once(r.child, 'exit');
      r.child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, r.output());
      assert.match(r.output(), /stopped; outbox empty/);
      const ids = new Set(accepted.map((a) => String(a.body.id)));
      const messages = await consume(`${prefix}.events.v1`, 20);
      // At-least-once with stable ids (ARCHITECTURE.md): every accepted id is there, nothing else is.
      assert.deepEqual(new Set(messages.map((m) => String(m.value.id))), ids);
    } finally {
      r.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
