import { readFileSync, readdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../../src/model/netbox-webhook.js';
import { sign } from '../../src/pipeline/verify/verify-signature.js';

export const FIXTURES_DIR = new URL('../fixtures/', import.meta.url);
export const TEST_SECRET = 'unicop-test-secret-0123456789';
export const RETIRED_SECRET = 'unicop-retired-secret-9876543210';
export const NEXT_SECRET = 'unicop-next-secret-abcdefghijk';
/**
 * Settings for receivers that are sent the captured fixtures: the bodies keep the timestamps NetBox
 * gave them when they were captured, so these receivers widen the replay window to its maximum
 * (10 years) rather than the bodies being rewritten — and keep their events as long, since the
 * event index is the dedupe a replayed body is checked against (config refuses a shorter retention).
 */
export const FIXTURE_REPLAY_ENV = { UNICOP_REPLAY_WINDOW_S: '315360000', UNICOP_RETENTION_DAYS: '3650' } as const;

export interface Fixture {
  version: string;
  objectType: string;
  action: string;
  file: string;
  raw: Buffer;
  body: JsonObject;
}

/** Every fixture body: `fixtures/netbox-<version>/<object type>/<action>.json`. */
export function allFixtures(): Fixture[] {
  const out: Fixture[] = [];
  for (const dir of readdirSync(FIXTURES_DIR)
    .filter((name) => name.startsWith('netbox-'))
    .sort()) {
    const version = dir.slice('netbox-'.length);
    const objectTypes = readdirSync(new URL(`${dir}/`, FIXTURES_DIR), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    for (const objectType of objectTypes.sort()) {
      for (const file of readdirSync(new URL(`${dir}/${objectType}/`, FIXTURES_DIR))
        .filter((f) => f.endsWith('.json'))
        .sort()) {
        const raw = readFileSync(new URL(`${dir}/${objectType}/${file}`, FIXTURES_DIR));
        out.push({
          version,
          objectType,
          action: file.replace(/\.json$/, ''),
          file: `${dir}/${objectType}/${file}`,
          raw,
          body: JSON.parse(raw.toString('utf8')) as JsonObject,
        });
      }
    }
  }
  return out;
}

export function fixture(version: string, objectType: string, action: string): Fixture {
  const found = allFixtures().find((f) => f.version === version && f.objectType === objectType && f.action === action);
  if (!found) throw new Error(`no fixture ${version}/${objectType}/${action}`);
  return found;
}

/**
 * `fixtures/netbox-<version>/world.json`, written by fixtures/capture/capture-fixtures.mjs next to the captured
 * bodies: the ids NetBox gave the world, the root each fixture folder belongs to (known from how the capture built
 * the objects, not read back from the bodies), the devices a cable joins and the changelog id of the with-context update.
 */
export interface CaptureWorld {
  netbox_version: string;
  objects: Record<string, { id: number; display: string; slug?: string }>;
  roots: Record<string, string>;
  cable_devices: string[];
  with_context: { file: string; request: string; changelog_id: number };
}

export function captureWorld(version: string): CaptureWorld {
  return JSON.parse(readFileSync(new URL(`netbox-${version}/world.json`, FIXTURES_DIR), 'utf8')) as CaptureWorld;
}

export function signed(body: unknown, secret = TEST_SECRET): { raw: Buffer; signature: string } {
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  return { raw, signature: sign(raw, secret) };
}

/**
 * A NetBox 4.7 interface update on device `deviceId`, version `n` of interface `interfaceId`:
 * a fresh request id and a `last_updated` that grows with `n`, so every call is a new event.
 */
export function interfaceUpdate(deviceId: number, interfaceId: number, n: number): JsonObject {
  const base = structuredClone(fixture('4.7', 'dcim.interface', 'updated').body) as JsonObject & {
    data: JsonObject & { device: JsonObject };
    request?: JsonObject;
  };
  const lastUpdated = new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString().replace('Z', '000+00:00');
  base.data = { ...base.data, id: interfaceId, last_updated: lastUpdated, description: `v${n}`, device: { ...base.data.device, id: deviceId } };
  base.request = { ...(base.request ?? {}), id: randomUUID() };
  return base;
}
