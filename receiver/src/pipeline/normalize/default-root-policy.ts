import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SCHEMAS_DIR } from '../../schema-registry.js';
import type { RootPolicy } from './root-policy.js';

/**
 * `schemas/root-policy.default.json`: the one default root policy, which the unicop_netbox plugin
 * evaluates too (a byte-identical copy ships inside the plugin package). Change roots there, not here.
 */
export const DEFAULT_ROOT_POLICY_FILE = fileURLToPath(new URL('root-policy.default.json', SCHEMAS_DIR));

/**
 * The default policy as read from its file. Start-up loads the file again through `loadRootPolicy`,
 * which validates it; tests and benchmarks use this constant, and a unit test validates it.
 */
export const DEFAULT_ROOT_POLICY: RootPolicy = deepFreeze(JSON.parse(readFileSync(DEFAULT_ROOT_POLICY_FILE, 'utf8')) as RootPolicy);

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
