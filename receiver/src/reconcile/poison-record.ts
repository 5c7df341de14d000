import { v5 as uuidv5 } from 'uuid';
import type { UnicopError } from '../errors.js';
import type { RejectRecord } from '../pipeline/outbox/outbox-store.js';
import { boundedExcerpt } from './bounded-excerpt.js';

const POISON_ID_NAMESPACE = '6f0e4c2a-3b1d-4e5f-8a7b-9c0d1e2f3a4b';
export const RECORD_REJECTED_DATASCHEMA = 'https://unicop.dev/schemas/record-rejected.v1.schema.json';

/** Where a record sits in Kafka: what an operator needs to find it again. */
export interface KafkaCoordinates {
  topic: string;
  partition: number;
  offset: string;
}

/** The seen-table key that makes keeping a redelivered poison record idempotent. */
export function poisonSeenKey(at: KafkaCoordinates): string {
  return `kafka:${at.topic}/${at.partition}/${at.offset}`;
}

/**
 * The reject for a record of the events topic the reconciler cannot read: a notice for
 * `<prefix>.rejected.v1` like the webhook pipeline's (`keepReject` in pipeline/pipeline.ts), with
 * the Kafka coordinates and a bounded excerpt instead of the body. The id is derived from the
 * coordinates, so a redelivery names the same reject.
 */
export function poisonReject(source: string, at: KafkaCoordinates, raw: Buffer, error: UnicopError, now: number): RejectRecord {
  const id = uuidv5(poisonSeenKey(at), POISON_ID_NAMESPACE);
  const notice = {
    specversion: '1.0',
    id,
    source,
    type: 'unicop.record.rejected',
    subject: at.topic,
    time: new Date(now).toISOString(),
    datacontenttype: 'application/json',
    dataschema: RECORD_REJECTED_DATASCHEMA,
    data: { code: error.code, message: error.message, details: error.details, kafka: at, body: boundedExcerpt(raw) },
  };
  return { id, source, code: error.code, message: error.message, details: JSON.stringify(error.details), body: raw, value: JSON.stringify(notice) };
}
