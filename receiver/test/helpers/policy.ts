import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes a reconcile policy file for one test and returns its path. */
export function policyFile(rules: unknown[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'unicop-policy-')), 'reconcile-policy.json');
  writeFileSync(file, JSON.stringify({ version: 1, rules }));
  return file;
}

export const DEVICE_RULE = {
  match: { rootType: 'dcim.device' },
  jobTemplate: { name: 'reconcile-device', organization: 'Default' },
  debounceMs: 200,
  deadlineMs: 30_000,
};
