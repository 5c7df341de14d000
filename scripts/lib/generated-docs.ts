// The docs generated from code: `--write` regenerates them (npm run generate:docs), `--check` fails
// when one is stale (npm run check:generated).
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { METRICS_DOC, renderMetricsDoc } from './metrics-doc.js';
import { RETRIES_DOC, renderRetriesDoc } from './retries-doc.js';
import { TOPICS_DOC, renderTopicsDoc } from './topics-doc.js';

const DOCS = [
  { path: METRICS_DOC, render: renderMetricsDoc },
  { path: RETRIES_DOC, render: renderRetriesDoc },
  { path: TOPICS_DOC, render: renderTopicsDoc },
];

let stale = 0;
for (const doc of DOCS) {
  const name = relative(process.cwd(), doc.path);
  const fresh = doc.render();
  if (process.argv.includes('--write')) {
    writeFileSync(doc.path, fresh);
    console.log(`${name} written.`);
    continue;
  }
  let committed = '';
  try {
    committed = readFileSync(doc.path, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (committed === fresh) console.log(`${name} is up to date.`);
  else {
    console.error(`${name} is stale: run \`npm run generate:docs\` and commit the result.`);
    stale++;
  }
}
process.exit(stale > 0 ? 1 : 0);
