import type { IHeaders } from 'kafkajs';

/**
 * Headers the relay adds to every record (docs/topics.md "Headers"): where the record came from in
 * the outbox, so a lane's next holder finds in Kafka how far the lane was published.
 */
export const RELAY_HEADERS = {
  /** The row's outbox position (decimal): positions grow in commit order within a store. */
  position: 'outbox_pos',
  /** The lane's transactional id (lane-transactions.ts): which lane published the record. */
  lane: 'relay_lane',
} as const;

/** What a committed record says about its outbox row, when a relay lane published it. */
export interface RecordOrigin {
  lane: string;
  pos: number;
  messageId: string;
}

const text = (value: IHeaders[string]): string | undefined => {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined ? undefined : v.toString();
};

/** The record's origin from its headers; null for a record no relay lane wrote (before these headers, another producer). */
export function originOf(headers: IHeaders | undefined): RecordOrigin | null {
  if (!headers) return null;
  const lane = text(headers[RELAY_HEADERS.lane]);
  const pos = text(headers[RELAY_HEADERS.position]);
  const messageId = text(headers.message_uuid);
  if (!lane || !pos || !messageId || !/^[1-9][0-9]{0,15}$/.test(pos)) return null;
  return { lane, pos: Number(pos), messageId };
}
