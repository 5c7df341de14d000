import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { RETRY_POLICIES } from '../../../src/retry/policies.js';
import { RETRIES_DOC, renderRetriesDoc } from '../../../../scripts/lib/retries-doc.js';

describe('docs/retries.md', () => {
  const doc = readFileSync(RETRIES_DOC, 'utf8');

  it('is what policies.ts generates (run `npm run generate:docs` after changing a policy)', () => {
    assert.equal(doc, renderRetriesDoc());
  });

  it('lists every named policy once', () => {
    const documented = [...doc.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(documented, Object.keys(RETRY_POLICIES));
  });
});
