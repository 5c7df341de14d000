/**
 * The federation files the benchmark runs with: one source (so root keys stay as they are), one cell
 * owning everything, and the routes asked for. Written next to the source's secrets file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RouteEntry {
  scope: '*' | { regions: string[] };
  brokers: string;
  topicPrefix: string;
  name?: string;
}

export function writeFederationFile(dir: string, name: string, secret: string, routes: RouteEntry[]): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'bench-secret'), `${secret}\n`, { mode: 0o600 });
  const file = join(dir, `${name}.json`);
  const body = {
    version: 1,
    description: `scripts/bench federation: ${name}`,
    cell: 'bench',
    sources: [{ name: 'bench', secretsFile: 'bench-secret' }],
    owners: [{ scope: '*', cell: 'bench' }],
    routes,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

/** Region slugs r00 … r<n-1>: the `regions` of the many-route file, and what the bodies spread over. */
export function regionSlugs(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `r${String(i).padStart(2, '0')}`);
}

/**
 * `count` routes on one broker: one per region slug and `"*"` last, each with its own topic prefix
 * (entries with the same brokers and prefix would be one route).
 */
export function manyRoutes(count: number, brokers: string, prefix: string): RouteEntry[] {
  const regions = regionSlugs(count - 1);
  return [
    ...regions.map((region) => ({ scope: { regions: [region] }, brokers, topicPrefix: `${prefix}-${region}` })),
    { scope: '*' as const, brokers, topicPrefix: `${prefix}-other` },
  ];
}
