/** `2026-03-06T15:11:23.503186+00:00` and the like: NetBox (DRF) keeps microseconds. */
const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A string that sorts like the instant it names, to the microsecond (JavaScript dates stop at the
 * millisecond, and two saves of one object can fall into the same millisecond). Null when the
 * value is not an ISO 8601 timestamp with an offset.
 */
export function versionKey(timestamp: string | null | undefined): string | null {
  if (typeof timestamp !== 'string') return null;
  const m = ISO.exec(timestamp);
  if (!m) return null;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds) || seconds < 0) return null;
  const micros = BigInt(seconds) * 1000n + BigInt((m[2] ?? '').padEnd(6, '0').slice(0, 6));
  return micros.toString().padStart(20, '0');
}
