import { readFileSync, readdirSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { parse } from 'yaml';
import { SCHEMAS_DIR } from '../../src/schema-registry.js';

const OPENAPI_FILE = new URL('../../../openapi/unicop.yaml', import.meta.url);
/** The document's notional URI: its `../schemas/x.json` refs then resolve to the schemas' own `$id`s. */
const OPENAPI_ID = 'https://unicop.dev/openapi/unicop.yaml';

const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormatsPlugin as unknown as (a: Ajv2020) => void)(ajv);
for (const file of readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.schema.json'))) {
  ajv.addSchema(JSON.parse(readFileSync(new URL(file, SCHEMAS_DIR), 'utf8')) as object);
}
export const openapi = parse(readFileSync(OPENAPI_FILE, 'utf8')) as {
  paths: Record<string, Record<string, { responses: Record<string, { $ref?: string; content?: Record<string, unknown>; headers?: Record<string, unknown> }> }>>;
  components: { responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }> };
};
ajv.addSchema({ ...openapi, $id: OPENAPI_ID });

function pointer(...parts: string[]): string {
  return parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

/**
 * Checks a real response against `openapi/unicop.yaml`: the status is documented for the
 * operation, required headers are present, and the JSON body matches the documented schema.
 */
export function assertMatchesOpenapi(method: string, path: string, res: { status: number; headers: Record<string, string>; body: unknown }): void {
  const operation = openapi.paths[path]?.[method.toLowerCase()];
  if (!operation) throw new Error(`${method} ${path} is not in openapi/unicop.yaml`);
  let response = operation.responses[String(res.status)];
  if (!response) throw new Error(`${method} ${path} answered ${res.status}, which openapi/unicop.yaml does not document`);
  let base = pointer('paths', path, method.toLowerCase(), 'responses', String(res.status));
  if (response.$ref) {
    const name = response.$ref.split('/').pop() ?? '';
    response = openapi.components.responses[name] ?? {};
    base = pointer('components', 'responses', name);
  }
  for (const header of Object.keys(response.headers ?? {})) {
    if (!(header.toLowerCase() in res.headers)) throw new Error(`${method} ${path} ${res.status}: header ${header} missing`);
  }
  if (!response.content?.['application/json']) return;
  const validate = ajv.getSchema(`${OPENAPI_ID}#/${base}/content/application~1json/schema`);
  if (!validate) throw new Error(`no schema for ${base}`);
  if (!validate(res.body)) {
    throw new Error(`${method} ${path} ${res.status} body does not match openapi: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(res.body)}`);
  }
}
