import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { ERROR_CODES } from '../../../src/errors.js';

const doc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Set([...doc.matchAll(/^\| `(UNICOP_[A-Z_]+)` \| (\d{3}) \| (yes|no) \|/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`));

function codeUnder(dir: URL): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? codeUnder(new URL(`${e.name}/`, dir)) : e.name.endsWith('.ts') ? [readFileSync(new URL(e.name, dir), 'utf8')] : [],
  );
}

describe('docs/errors.md', () => {
  it('documents every code of the catalogue with its status and retriable flag', () => {
    for (const [code, { httpStatus, retriable }] of Object.entries(ERROR_CODES)) {
      assert.ok(
        documented.has(`${code} ${httpStatus} ${retriable ? 'yes' : 'no'}`),
        `${code} (${httpStatus}, retriable ${retriable}) is not in docs/errors.md`,
      );
    }
  });
  it('documents no code the catalogue lacks', () => {
    assert.equal(documented.size, Object.keys(ERROR_CODES).length);
  });
  it('throws no code in the source that the catalogue lacks', () => {
    const used = new Set(
      codeUnder(new URL('../../../src/', import.meta.url)).flatMap((s) => [...s.matchAll(/UnicopError\(\s*'(UNICOP_[A-Z_]+)'/g)].map((m) => m[1])),
    );
    for (const code of used) assert.ok(code && code in ERROR_CODES, `${code} is used but not catalogued`);
  });
});
