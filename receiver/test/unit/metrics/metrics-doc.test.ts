import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { registerMetrics } from '../../../src/receiver.js';
import { METRICS_DOC, renderMetricsDoc } from '../../../../scripts/lib/metrics-doc.js';

describe('docs/metrics.md', () => {
  it('is what the registry generates (run `npm run generate:docs` after changing a metric)', () => {
    assert.equal(readFileSync(METRICS_DOC, 'utf8'), renderMetricsDoc());
  });

  it('lists every metric a stage registers, in registration order', () => {
    const registry = new Registry();
    registerMetrics(registry);
    const names = registry.getMetricsAsArray().map((m) => (m as unknown as { name: string }).name);
    const documented = [...readFileSync(METRICS_DOC, 'utf8').matchAll(/^\| `(unicop_[a-z_]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(documented, names);
  });
});
