import { UnicopError, isUnicopError } from '../errors.js';
import { EVENT_TYPES } from '../model/event.js';
import { parseJson } from '../pipeline/validate/parse-json.js';

/** What the reconciler needs of one record of `<prefix>.events.v1`. */
export type EventReading =
  | { kind: 'change'; id: string; rootKey: string; rootType: string; objectType: string | null }
  /** A superseded event, or a type the reconciler does not act on (v1 is additive: newer types are ignored). */
  | { kind: 'ignored' }
  /** Cannot be read at all: kept as a reject and skipped, never retried (it would block its partition). */
  | { kind: 'poison'; error: UnicopError };

const HANDLED: ReadonlySet<string> = new Set(Object.values(EVENT_TYPES));

/**
 * Reads one record's bytes with the webhook pipeline's parser (strict UTF-8, nesting bounded
 * before parsing, so a deeply nested record is refused the same way every time), then checks only
 * the fields the reconciler uses. A type it does not know is ignored, not poison: compatibility
 * within v1 is additive (ARCHITECTURE.md "Domain event envelope").
 */
export function readEventRecord(raw: Buffer): EventReading {
  let parsed: unknown;
  try {
    parsed = parseJson(raw);
  } catch (error) {
    if (isUnicopError(error)) return { kind: 'poison', error };
    throw error;
  }
  if (!isObject(parsed)) return invalid('/', 'the record is not a JSON object');
  if (typeof parsed.id !== 'string' || parsed.id === '') return invalid('/id', 'missing or not a string');
  if (typeof parsed.type !== 'string') return invalid('/type', 'missing or not a string');
  if (!HANDLED.has(parsed.type)) return { kind: 'ignored' };
  const data = parsed.data;
  if (!isObject(data)) return invalid('/data', 'missing or not an object');
  if (data.superseded === true) return { kind: 'ignored' };
  const root = data.root;
  if (!isObject(root) || typeof root.key !== 'string' || typeof root.type !== 'string') return invalid('/data/root', 'needs string key and type');
  if (data.action === 'reconcile') return { kind: 'change', id: parsed.id, rootKey: root.key, rootType: root.type, objectType: null };
  const object = data.object;
  if (!isObject(object) || typeof object.type !== 'string') return invalid('/data/object/type', 'missing or not a string');
  return { kind: 'change', id: parsed.id, rootKey: root.key, rootType: root.type, objectType: object.type };
}

function invalid(pointer: string, message: string): EventReading {
  return { kind: 'poison', error: new UnicopError('UNICOP_RECONCILE_RECORD_INVALID', 'the record is not an event envelope the reconciler can read', { details: [{ pointer, message }] }) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
