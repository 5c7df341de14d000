import { createHash } from 'node:crypto';

/**
 * What does not describe desired state (docs/desired-state.md, "Canonical form"): when NetBox
 * touched the object, where its page is, how it is shown, and counts NetBox derives from other
 * objects. An update that changes none of the remaining fields keeps the root's desiredVersion.
 */
const LEFT_OUT = new Set(['created', 'last_updated', 'url', 'display_url', 'display']);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * The desired-state form of a NetBox REST representation: the fields above and counts (`*_count`, `count_*`) left out
 * at every depth; a nested object with an `id` (NetBox's brief form of a related object) reduced to
 * that id; a choice (`{value, label}`) reduced to its value; a list of related objects (tags,
 * tagged VLANs: a set in NetBox) sorted by id. Keys are sorted when serialized (`canonicalJson`).
 */
export function canonicalState(current: Readonly<Record<string, unknown>>): Record<string, Json> {
  return reduceFields(current);
}

function reduceFields(value: Readonly<Record<string, unknown>>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [key, field] of Object.entries(value)) {
    if (LEFT_OUT.has(key) || isCount(key) || field === undefined) continue;
    out[key] = reduce(field);
  }
  return out;
}

/** A field's value: the representation itself is never reduced to its id, only what it nests. */
function reduce(value: unknown): Json {
  if (Array.isArray(value)) {
    const items = value.map((v) => reduce(v));
    const related = value.length > 0 && value.every(isBrief);
    return related ? [...items].sort((a, b) => Number(a) - Number(b) || String(a).localeCompare(String(b))) : items;
  }
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (isBrief(object)) return object.id as Json;
    if (isChoice(object)) return object.value as Json;
    return reduceFields(object);
  }
  return value as Json;
}

/**
 * A count NetBox derives from other objects: `device_count`, and the `count_ipaddresses` /
 * `count_fhrp_groups` of an interface — which change when an IP is assigned to it, not when the
 * interface does (found by the NetBox e2e test comparing the spine with NetBox's API).
 */
function isCount(key: string): boolean {
  return key.endsWith('_count') || key.startsWith('count_');
}

function isBrief(value: unknown): value is { id: number | string } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'number' || typeof id === 'string';
}

function isChoice(value: Record<string, unknown>): boolean {
  return 'value' in value && 'label' in value && Object.keys(value).length === 2;
}

/** JSON with keys sorted at every depth and no whitespace (RFC 8785's ordering for ASCII keys). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * `sha256:<hex>` of the canonical JSON of a root's members, sorted by key: `[{"key":…,"state":…},…]`.
 * `state` is each member's canonical JSON as stored, so this is `canonicalJson` of the parsed list.
 */
export function desiredVersion(members: readonly { member: string; state: string }[]): string {
  const sorted = [...members].sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
  const hash = createHash('sha256').update('[');
  sorted.forEach((m, i) => hash.update(`${i === 0 ? '' : ','}{"key":${JSON.stringify(m.member)},"state":${m.state}}`));
  return `sha256:${hash.update(']').digest('hex')}`;
}
