/**
 * The outbox value of a tombstone (a compacted topic's "this key's state is gone"). The outbox's
 * `value` column is NOT NULL and every message is a JSON object, so the empty string can never be a
 * message: the outbox stores it for a tombstone and the relay publishes it as a Kafka null value.
 */
export const TOMBSTONE = '';
