import { v5 as uuidv5 } from 'uuid';
import { EVENT_DATASCHEMA, EVENT_TYPES, formatSequence, type CapExceededData, type CapExceededEvent, type ObjectEvent } from '../model/event.js';

/** Namespace of cap notice ids: UUIDv5 of `<root key>\n<refused event id>` (never changes). */
const CAP_NOTICE_NAMESPACE = '5d0e6f1a-93b2-4c7d-8e4f-2a1b3c9d7e60';

/** What a refusal records for its notice until the refused event is stored. */
export type CapNotice = Pick<CapExceededData, 'cap' | 'admitted'>;

/**
 * The `unicop.inventory.cap_exceeded` that follows a refused event in its root's stream: same key
 * (partition) and the next sequence, so a reader of the root sees the refusal right after the event
 * that caused it. Its id comes from the refused event's, so it is the same however often it is built.
 */
export function capExceededEvent(refused: ObjectEvent, notice: CapNotice, sequence: number, now: number): CapExceededEvent {
  const { root, scope } = refused.data;
  return {
    specversion: '1.0',
    id: uuidv5(`${refused.partitionkey}\n${refused.id}`, CAP_NOTICE_NAMESPACE),
    source: refused.source,
    type: EVENT_TYPES.capExceeded,
    subject: root.key,
    time: new Date(now).toISOString(),
    datacontenttype: 'application/json',
    dataschema: EVENT_DATASCHEMA,
    partitionkey: refused.partitionkey,
    sequence: formatSequence(sequence),
    data: { root, scope, cap: notice.cap, admitted: notice.admitted, eventId: refused.id, superseded: false },
  };
}
