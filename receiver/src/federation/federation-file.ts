import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UnicopError, type ErrorDetail } from '../errors.js';
import type { FederationFile } from '../generated/federation.js';
import type { Scope } from '../generated/iam-policy.js';
import type { SchemaRegistry } from '../schema-registry.js';
import type { FederationParts, RouteSpec, SourceSpec } from './federation.js';

const SCHEMA = 'federation.schema.json';
const SCOPE_KINDS = ['tenants', 'sites', 'regions'] as const;
/** As UNICOP_WEBHOOK_SECRETS (schemas/config.schema.json). */
const MIN_SECRET_LENGTH = 16;

/**
 * Reads UNICOP_FEDERATION: its schema, then what a schema cannot say — each list ends with `"*"`
 * and has nothing after it, no tenant, site or region is listed twice in one list (the later entry
 * could never win it), source names and secrets are unique, a route is one destination (one name
 * per brokers + prefix), the secret and token files are readable. Every problem is listed in one
 * `UNICOP_FEDERATION_INVALID`, so one failed start shows all of them.
 */
export function readFederationFile(path: string, registry: SchemaRegistry, defaultOutboxLimit: number): FederationParts {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw invalid(path, [{ pointer: '/', message: (cause as NodeJS.ErrnoException).code ?? 'not JSON' }], cause);
  }
  const isFile = registry.validator<FederationFile>(SCHEMA);
  if (!isFile(parsed)) throw invalid(path, registry.lastErrors(SCHEMA, 100));

  const problems: ErrorDetail[] = [];
  const base = dirname(resolve(path));
  problems.push(...listProblems('owners', parsed.owners), ...listProblems('routes', parsed.routes));
  const sources = readSources(parsed, base, problems);
  const routes = new Map<string, RouteSpec>();
  const routeRules = parsed.routes.map((entry, i) => ({ scope: entry.scope, to: routeOf(entry, i, routes, defaultOutboxLimit, problems) }));
  if (problems.length > 0) throw invalid(path, problems);
  return {
    cell: parsed.cell,
    sources,
    routes: [...routes.values()],
    routeRules,
    ownerRules: parsed.owners.map((entry) => ({ scope: entry.scope, to: entry.cell })),
  };
}

function invalid(path: string, details: ErrorDetail[], cause?: unknown): UnicopError {
  return new UnicopError('UNICOP_FEDERATION_INVALID', `federation file ${path}: ${details.length} problem(s)`, { details, cause });
}

/** First match wins, so an entry after `"*"`, a second `"*"` or a slug listed twice can never take effect. */
function listProblems(list: 'owners' | 'routes', entries: readonly { scope: Scope }[]): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const seen = new Map<string, number>();
  let star: number | null = null;
  entries.forEach(({ scope }, i) => {
    if (star !== null) {
      problems.push({ pointer: `/${list}/${i}`, message: `entry after the "*" entry /${list}/${star}: it can never match` });
      return;
    }
    if (scope === '*') {
      star = i;
      return;
    }
    for (const kind of SCOPE_KINDS) {
      for (const slug of scope[kind] ?? []) {
        const key = `${kind}:${slug}`;
        const earlier = seen.get(key);
        if (earlier !== undefined)
          problems.push({ pointer: `/${list}/${i}/scope/${kind}`, message: `${kind.slice(0, -1)} "${slug}" is already listed by /${list}/${earlier}` });
        else seen.set(key, i);
      }
    }
  });
  if (star === null)
    problems.push({
      pointer: `/${list}`,
      message: 'the list must end with a "*" entry: without it some roots would have no ' + (list === 'owners' ? 'owner' : 'route'),
    });
  return problems;
}

function readSources(file: FederationFile, base: string, problems: ErrorDetail[]): SourceSpec[] {
  const names = new Set<string>();
  const owners = new Map<string, string>();
  const several = file.sources.length > 1;
  return file.sources.map((s, i) => {
    if (names.has(s.name)) problems.push({ pointer: `/sources/${i}/name`, message: `duplicate source name "${s.name}"` });
    names.add(s.name);
    const secrets = secretList(readText(base, s.secretsFile, `/sources/${i}/secretsFile`, problems), `/sources/${i}/secretsFile`, problems);
    for (const secret of secrets) {
      const other = owners.get(secret);
      // The body's source is the one whose secret verified it: one secret, one source.
      if (other !== undefined && other !== s.name)
        problems.push({ pointer: `/sources/${i}/secretsFile`, message: `a secret of source "${s.name}" is also one of "${other}"` });
      owners.set(secret, s.name);
    }
    const token = s.netbox ? readText(base, s.netbox.tokenFile, `/sources/${i}/netbox/tokenFile`, problems).replace(/\r?\n$/, '') : null;
    return {
      name: s.name,
      source: `netbox://${s.name}`,
      secrets,
      netbox: s.netbox && token ? { url: s.netbox.url, token } : null,
      keyPrefix: several ? `${s.name}/` : '',
    };
  });
}

function readText(base: string, file: string, pointer: string, problems: ErrorDetail[]): string {
  try {
    return readFileSync(resolve(base, file), 'utf8');
  } catch (cause) {
    problems.push({ pointer, message: `cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}` });
    return '';
  }
}

/** Comma- or line-separated; whitespace around a secret is refused (NetBox signs with the exact secret). */
function secretList(text: string, pointer: string, problems: ErrorDetail[]): string[] {
  const items = text.replace(/\r?\n$/, '').split(/,|\r?\n/);
  const secrets: string[] = [];
  items.forEach((item, i) => {
    if (item !== item.trim()) problems.push({ pointer, message: `secret ${i + 1} has whitespace around it` });
    else if (item !== '' && item.length < MIN_SECRET_LENGTH)
      problems.push({ pointer, message: `secret ${i + 1} is shorter than ${MIN_SECRET_LENGTH} characters` });
    else if (item !== '') secrets.push(item);
  });
  if (text !== '' && secrets.length === 0) problems.push({ pointer, message: 'the file holds no secret' });
  return secrets;
}

/** Entries with the same brokers and prefix are one route: one name, one set of lanes, one order per root. */
function routeOf(
  entry: FederationFile['routes'][number],
  i: number,
  routes: Map<string, RouteSpec>,
  defaultOutboxLimit: number,
  problems: ErrorDetail[],
): RouteSpec {
  const brokers = entry.brokers.split(',');
  const destination = `${entry.topicPrefix}@${brokers.join(',')}`;
  const name = entry.name ?? destination;
  const byDestination = [...routes.values()].find((r) => `${r.topicPrefix}@${r.brokers.join(',')}` === destination);
  const byName = routes.get(name);
  if (byDestination && byDestination.name !== name && entry.name !== undefined) {
    problems.push({ pointer: `/routes/${i}/name`, message: `brokers and prefix are route "${byDestination.name}"'s: one destination, one name` });
  }
  if (byDestination) return byDestination;
  if (byName) {
    problems.push({ pointer: `/routes/${i}/name`, message: `route "${name}" already names another destination` });
    return byName;
  }
  const route = { name, brokers, topicPrefix: entry.topicPrefix, outboxLimit: entry.outboxLimit ?? defaultOutboxLimit };
  routes.set(name, route);
  return route;
}
