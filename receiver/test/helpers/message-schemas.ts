import { AssertionError } from 'node:assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TOMBSTONE } from '../../src/model/tombstone.js';
import { SCHEMA_BASE_URI, SchemaRegistry } from '../../src/schema-registry.js';

const registry = new SchemaRegistry();
/** The logical topics whose messages are state per key (topics.ts): the only ones a tombstone may go to. */
const COMPACTED_TOPICS = new Set(['rootsState', 'objects', 'rootsDesired']);

interface Queryable {
  prepare(sql: string): { all(): unknown[] };
}

/**
 * Checks every message the receiver queued for Kafka (every row of the outbox, whatever its topic):
 * JSON, a `dataschema` naming a file of `schemas/`, and valid against that schema. Throws an
 * AssertionError naming the bad rows; returns how many messages of each `type` it saw.
 */
export function assertOutboxMessagesValid(db: Queryable): Map<string, number> {
  const rows = db.prepare('SELECT pos, topic, value FROM outbox ORDER BY pos').all() as Array<{ pos: number; topic: string; value: string }>;
  const types = new Map<string, number>();
  const problems: string[] = [];
  for (const row of rows) {
    // A tombstone (Kafka null value) has no schema; it belongs on a compacted topic only.
    if (row.value === TOMBSTONE) {
      if (!COMPACTED_TOPICS.has(row.topic)) problems.push(`outbox row ${row.pos} (${row.topic}): a tombstone on a topic that is not compacted`);
      continue;
    }
    const problem = messageProblem(row.value);
    if (problem) problems.push(`outbox row ${row.pos} (${row.topic}): ${problem}`);
    else {
      const type = (JSON.parse(row.value) as { type: string }).type;
      types.set(type, (types.get(type) ?? 0) + 1);
    }
  }
  if (problems.length > 0) {
    throw new AssertionError({
      message: `${problems.length} of ${rows.length} outbox messages do not match their schema:\n${problems.slice(0, 10).join('\n')}`,
    });
  }
  return types;
}

/** The same check on the SQLite database a receiver left in `dataDir` (nothing to check when it has none). */
export function assertDataDirMessagesValid(dataDir: string): void {
  const file = join(dataDir, 'unicop.sqlite');
  if (!existsSync(file)) return;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    assertOutboxMessagesValid(db);
  } finally {
    db.close();
  }
}

/** Why one message does not match the schema its `dataschema` names; null when it does. */
export function messageProblem(value: string): string | null {
  let message: unknown;
  try {
    message = JSON.parse(value);
  } catch {
    return 'not JSON';
  }
  const dataschema = (message as { dataschema?: unknown } | null)?.dataschema;
  if (typeof dataschema !== 'string' || !dataschema.startsWith(SCHEMA_BASE_URI)) return `dataschema ${JSON.stringify(dataschema)} names no file of schemas/`;
  const name = dataschema.slice(SCHEMA_BASE_URI.length);
  let valid: (v: unknown) => boolean;
  try {
    valid = registry.validator(name);
  } catch {
    return `dataschema ${dataschema} names no file of schemas/`;
  }
  if (valid(message)) return null;
  const type = (message as { type?: unknown }).type;
  return `${String(type)} against ${name}: ${registry
    .lastErrors(name, 5)
    .map((e) => `${e.pointer} ${e.message}`)
    .join('; ')}`;
}
