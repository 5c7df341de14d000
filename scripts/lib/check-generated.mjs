// Fails when receiver/src/generated/ is stale: regenerates into a temp dir and compares every file.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSchemaTypes } from './generate-schema-types.mjs';

const committedDir = 'receiver/src/generated';
const freshDir = mkdtempSync(join(tmpdir(), 'unicop-gen-'));
execFileSync('npx', ['openapi-typescript', 'openapi/unicop.yaml', '-o', join(freshDir, 'openapi.ts')], { stdio: ['ignore', 'ignore', 'inherit'] });
execFileSync('node', ['scripts/lib/generated-header.mjs', join(freshDir, 'openapi.ts')]);
await generateSchemaTypes(freshDir);

const names = new Set([...readdirSync(freshDir), ...readdirSync(committedDir)]);
const stale = [...names].sort().filter((name) => {
  const committed = join(committedDir, name);
  const fresh = join(freshDir, name);
  return !existsSync(committed) || !existsSync(fresh) || readFileSync(fresh, 'utf8') !== readFileSync(committed, 'utf8');
});
if (stale.length > 0) {
  for (const name of stale) console.error(`${join(committedDir, name)} is stale (or should not exist): run \`npm run generate\` and commit the result.`);
  process.exit(1);
}
console.log(`${committedDir}/ is up to date (${names.size} files).`);
