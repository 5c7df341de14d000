/**
 * The events a reconcile cycle covers, kept as a count plus a bounded sample: the first and the
 * last `EVENT_SAMPLE_EDGE` ids. A change storm of n events during one attempt used to re-publish
 * every id with every change (O(n²) bytes on the state topic, issue 9 item 3); with a sample each
 * state message and command stays under a fixed size whatever n is.
 *
 * Invariant: while `count <= 2 × EDGE` the sample holds every id in arrival order; beyond that it
 * holds exactly the first EDGE and the last EDGE ids. Dedupe of redelivered events never reads
 * the sample: it is the `reconcile_events_seen` table's job.
 */
export const EVENT_SAMPLE_EDGE = 32;
const FULL = 2 * EVENT_SAMPLE_EDGE;

/** The sample after one more id arrived (a new array; the input is not changed). */
export function appendToSample(sample: readonly string[], id: string): string[] {
  if (sample.length < FULL) return [...sample, id];
  // Keep the head, drop the oldest id of the tail.
  return [...sample.slice(0, EVENT_SAMPLE_EDGE), ...sample.slice(EVENT_SAMPLE_EDGE + 1), id];
}

/**
 * The sample of two cycles' events one after the other. Exact: `b` holds its own first and last
 * EDGE ids, which are all that can end up in the head or the tail of the concatenation.
 */
export function mergeSamples(a: readonly string[], b: readonly string[]): string[] {
  let merged = [...a];
  for (const id of b) merged = appendToSample(merged, id);
  return merged;
}

/** A plain id list (a record or state message written before samples existed) as a sample and its count. */
export function sampleOf(ids: readonly string[]): { sample: string[]; count: number } {
  if (ids.length <= FULL) return { sample: [...ids], count: ids.length };
  return { sample: [...ids.slice(0, EVENT_SAMPLE_EDGE), ...ids.slice(ids.length - EVENT_SAMPLE_EDGE)], count: ids.length };
}
