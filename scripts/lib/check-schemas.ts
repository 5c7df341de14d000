// `npm run check:schemas`: the schema stability check over schemas/ (scripts/lib/schema-stability.ts).
//   tsx scripts/lib/check-schemas.ts [schemas dir]          fails (exit 1) naming every problem
//   tsx scripts/lib/check-schemas.ts --minimal <golden>     prints the golden with only the required fields
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkSchemaStability, messageTypes, minimalMessage } from './schema-stability.js';

const SCHEMAS = fileURLToPath(new URL('../../schemas/', import.meta.url));
const args = process.argv.slice(2);

if (args[0] === '--minimal') {
  const file = args[1];
  if (!file) throw new Error('usage: check-schemas.ts --minimal <schemas/examples/<type>.json>');
  const message = JSON.parse(readFileSync(file, 'utf8')) as { type: string };
  console.log(JSON.stringify(minimalMessage(SCHEMAS, message), null, 2));
} else {
  const dir = args[0] ?? SCHEMAS;
  const problems = checkSchemaStability(dir);
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) process.exit(1);
  console.log(`schemas/: ${messageTypes(dir).size} message types, each with a golden example that still validates.`);
}
