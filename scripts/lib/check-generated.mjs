// Fails when receiver/src/generated/ is stale: regenerates into a temp dir and compares.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const committed = 'receiver/src/generated/openapi.ts';
const fresh = join(mkdtempSync(join(tmpdir(), 'unicop-gen-')), 'openapi.ts');
execFileSync('npx', ['openapi-typescript', 'openapi/unicop.yaml', '-o', fresh], { stdio: ['ignore', 'ignore', 'inherit'] });
execFileSync('node', ['scripts/lib/generated-header.mjs', fresh]);
if (readFileSync(fresh, 'utf8') !== readFileSync(committed, 'utf8')) {
  console.error(`${committed} is stale: run \`npm run generate\` and commit the result.`);
  process.exit(1);
}
console.log(`${committed} is up to date.`);
