// `scripts/up` with a federation file: one line per route (name, brokers, topic prefix), read the way the receiver
// reads them (receiver/src/federation/federation-file.ts): entries with the same brokers and prefix are one route,
// named by its `name` or `<topicPrefix>@<brokers>`. The receiver checks the file itself and lists every problem;
// this only says where messages will go, and exits 1 when it cannot read the routes at all.
// Usage: node scripts/lib/federation-routes.mjs [--summary] FILE — `--summary`: one line, `<name> <brokers>; …`.
import { readFileSync } from 'node:fs';

const summary = process.argv[2] === '--summary';
const path = process.argv[summary ? 3 : 2];
let routes;
try {
  routes = JSON.parse(readFileSync(path, 'utf8')).routes;
} catch (error) {
  process.stderr.write(`cannot read ${path}: ${error.code ?? error.message}\n`);
  process.exit(1);
}
if (!Array.isArray(routes)) {
  process.stderr.write(`${path} has no "routes" list\n`);
  process.exit(1);
}
const seen = new Map();
for (const entry of routes) {
  const destination = `${entry?.topicPrefix}@${entry?.brokers}`;
  if (!seen.has(destination)) seen.set(destination, { name: entry?.name ?? destination, brokers: entry?.brokers, prefix: entry?.topicPrefix });
}
const list = [...seen.values()];
if (summary) console.log(list.map((r) => `${r.name} ${r.brokers}`).join('; '));
else for (const r of list) console.log(`route ${r.name}: Kafka ${r.brokers}, topics ${r.prefix}.*`);
