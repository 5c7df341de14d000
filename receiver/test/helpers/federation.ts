import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A source of a federation file as a test writes it: its secrets go to a file beside the federation file. */
export interface TestSource {
  name: string;
  secrets: string[];
  netbox?: { url: string; token: string };
}

/**
 * Writes a federation file and its sources' secret (and token) files into a new temporary
 * directory, with relative paths (the reader resolves them from the file's directory). Returns the
 * file's path.
 */
export function federationFile(file: { cell: string; sources: TestSource[]; owners: unknown[]; routes: unknown[]; [more: string]: unknown }): string {
  const dir = mkdtempSync(join(tmpdir(), 'unicop-federation-'));
  const sources = file.sources.map((s) => {
    writeFileSync(join(dir, `${s.name}.secrets`), `${s.secrets.join(',')}\n`, { mode: 0o600 });
    if (s.netbox) writeFileSync(join(dir, `${s.name}.token`), `${s.netbox.token}\n`, { mode: 0o600 });
    return { name: s.name, secretsFile: `${s.name}.secrets`, ...(s.netbox && { netbox: { url: s.netbox.url, tokenFile: `${s.name}.token` } }) };
  });
  const path = join(dir, 'federation.json');
  writeFileSync(path, JSON.stringify({ version: 1, ...file, sources }, null, 2));
  return path;
}
