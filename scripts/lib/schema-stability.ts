// The schema stability check (schemas/README.md "Golden examples"): every message type has a golden, every
// golden names a type a schema has and still validates against that schema. A v1 schema that narrowed (a
// required field added, a pattern or an enum tightened) fails here before a consumer meets it on Kafka.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';

const SCHEMA_BASE_URI = 'https://unicop.dev/schemas/';
// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => Ajv2020;

/**
 * A golden's file name: `<type>.json` (today's message), `<type>.minimal.json` (only what the schema
 * required when it was written) or `<type>.<n>.json` (an earlier golden, kept when the schema grew).
 */
const GOLDEN_NAME = /^(?<type>.+?)(?:\.(?<variant>minimal|\d+))?\.json$/;

interface CloudEventsSchema {
  properties?: { specversion?: unknown; type?: { const?: string; enum?: string[] } };
}

/** The same ajv settings as the receiver's SchemaRegistry, over the schemas of `schemasDir`. */
function loadSchemas(schemasDir: string): { ajv: Ajv2020; types: Map<string, string> } {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
  addFormats(ajv);
  const types = new Map<string, string>();
  for (const file of readdirSync(schemasDir)
    .filter((f) => f.endsWith('.schema.json'))
    .sort()) {
    const schema = JSON.parse(readFileSync(join(schemasDir, file), 'utf8')) as CloudEventsSchema;
    ajv.addSchema(schema as object);
    if (schema.properties?.specversion === undefined) continue; // not a CloudEvents message
    for (const type of [schema.properties.type?.const ?? [], schema.properties.type?.enum ?? []].flat()) types.set(type, file);
  }
  return { ajv, types };
}

/** Every message type a CloudEvents schema of `schemasDir` names (its `type` const or enum) → its schema file. */
export function messageTypes(schemasDir: string): Map<string, string> {
  return loadSchemas(schemasDir).types;
}

const describe = (e: ErrorObject): string =>
  `${e.instancePath || '/'} ${e.message ?? e.keyword}${e.keyword === 'required' ? '' : ` ${JSON.stringify(e.params)}`}`;

/**
 * The problems of `schemasDir` and its `examples/` (empty when all is well), one sentence each naming
 * the file and what is wrong.
 */
export function checkSchemaStability(schemasDir: string): string[] {
  const { ajv, types } = loadSchemas(schemasDir);
  const examplesDir = join(schemasDir, 'examples');
  const goldens = readdirSync(examplesDir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const problems: string[] = [];
  for (const type of [...types.keys()].sort()) {
    if (!goldens.includes(`${type}.json`)) problems.push(`${type} (${types.get(type)}) has no golden example: add schemas/examples/${type}.json`);
  }
  for (const file of goldens) {
    const problem = goldenProblem(ajv, types, examplesDir, file);
    if (problem) problems.push(`schemas/examples/${file}: ${problem}`);
  }
  return problems;
}

function goldenProblem(ajv: Ajv2020, types: Map<string, string>, examplesDir: string, file: string): string | null {
  const named = GOLDEN_NAME.exec(file)?.groups?.type ?? file;
  let message: { type?: unknown; dataschema?: unknown };
  try {
    message = JSON.parse(readFileSync(join(examplesDir, file), 'utf8')) as typeof message;
  } catch (e) {
    return `not JSON (${(e as Error).message})`;
  }
  const schemaFile = types.get(named);
  if (!schemaFile) return `names type ${named}, which no CloudEvents schema of schemas/ has`;
  if (message.type !== named) return `its type is ${JSON.stringify(message.type)}, its file name says ${named}`;
  if (message.dataschema !== undefined && message.dataschema !== SCHEMA_BASE_URI + schemaFile) {
    return `dataschema ${JSON.stringify(message.dataschema)} is not ${SCHEMA_BASE_URI + schemaFile}, the schema of ${named}`;
  }
  const validate = ajv.getSchema(SCHEMA_BASE_URI + schemaFile) as ValidateFunction;
  if (!validate(message)) {
    return `no longer validates against ${schemaFile} (a v1 schema may only grow; see schemas/README.md): ${(validate.errors ?? []).map(describe).join('; ')}`;
  }
  if (GOLDEN_NAME.exec(file)?.groups?.variant !== 'minimal') return null;
  const optional = dropped(message, pruned(message, validate));
  if (optional.length === 0) return null;
  return `holds ${optional.join(', ')}, which ${schemaFile} no longer requires (readers rely on a required field: a breaking change)`;
}

/** JSON pointers of what `full` has and `part` lacks (the first missing level of each branch). */
function dropped(full: unknown, part: unknown, at = ''): string[] {
  if (full === null || typeof full !== 'object') return [];
  const a = full as Record<string, unknown>;
  const b = (part ?? {}) as Record<string, unknown>;
  if (Array.isArray(full))
    return full.length === (part as unknown[]).length ? full.flatMap((v, i) => dropped(v, (part as unknown[])[i], `${at}/${i}`)) : [`${at}/${full.length - 1}`];
  return Object.keys(a).flatMap((k) => (k in b ? dropped(a[k], b[k], `${at}/${k}`) : [`${at}/${k}`]));
}

/**
 * `message` without every field the schema of its type does not require: the body of a
 * `<type>.minimal.json` golden. Drops one property or array item at a time and keeps each drop the
 * schema still accepts, so `oneOf`/`anyOf` alternatives are honoured as they are.
 */
export function minimalMessage(schemasDir: string, message: { type: string }): unknown {
  const { ajv, types } = loadSchemas(schemasDir);
  const schemaFile = types.get(message.type);
  if (!schemaFile) throw new Error(`no CloudEvents schema of ${schemasDir} has type ${message.type}`);
  const validate = ajv.getSchema(SCHEMA_BASE_URI + schemaFile) as ValidateFunction;
  if (!validate(message)) throw new Error(`the message does not validate against ${schemaFile}`);
  return pruned(message, validate);
}

function pruned(message: unknown, validate: ValidateFunction): unknown {
  const root = structuredClone(message);
  prune(root, () => validate(root) === true);
  return root;
}

function prune(node: unknown, valid: () => boolean): void {
  if (Array.isArray(node)) {
    for (let i = node.length - 1; i >= 0; i--) {
      const [item] = node.splice(i, 1);
      if (!valid()) {
        node.splice(i, 0, item);
        prune(item, valid);
      }
    }
  } else if (node !== null && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const value = record[key];
      delete record[key];
      if (!valid()) {
        record[key] = value;
        prune(value, valid);
      }
    }
  }
}
