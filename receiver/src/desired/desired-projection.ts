import type { Logger } from '../log.js';
import type { EventEnvelope, ObjectEvent } from '../model/event.js';
import type { OutboxStore } from '../pipeline/outbox/outbox-store.js';
import { canonicalJson, canonicalState, desiredVersion } from './canonical.js';
import { objectStateMessage, rootDesiredJson, tombstoneId } from './desired-messages.js';
import type { DesiredStore } from './desired-store.js';

export interface DesiredProjectionOptions {
  store: DesiredStore;
  outbox: Pick<OutboxStore, 'insertMessage' | 'insertTombstone'>;
  /** CloudEvents `source` of the messages (UNICOP_SOURCE). */
  source: string;
  log: Logger;
}

/**
 * The desired-state view of the spine (ARCHITECTURE.md "Desired state", docs/desired-state.md),
 * kept in step with the event log by the group commit: in the transaction that stores each new
 * event, `project` writes the object's `unicop.object.state` (or its tombstone) for
 * `<prefix>.objects.v1` and notes its root; at the end of the transaction `settle` writes, for each
 * noted root whose canonical projection changed, one `unicop.root.desired` (or its tombstone) for
 * `<prefix>.roots.desired.v1`, naming the transaction's last event of that root. One per root and
 * transaction, not per event: the message lists every member, so per event a bulk change of N
 * members of one root would write N growing messages (O(N²) bytes). Superseded events (an older
 * version arriving late) and unmanaged objects (`managed: false`) change nothing, so a newer state
 * is never overwritten.
 */
export class DesiredProjection {
  /** Roots whose members changed in the open transaction, with the last event that changed them. */
  private readonly noted = new Map<string, { event: ObjectEvent; root: { type: string; id: number; key: string } }>();

  constructor(private readonly options: DesiredProjectionOptions) {}

  /** End of the transaction: each noted root's projection once (the group commit's settler). */
  settle(now: number): number {
    let rows = 0;
    for (const { event, root } of this.noted.values()) rows += this.refresh(event, root, now);
    this.noted.clear();
    return rows;
  }

  /** The transaction rolled back: what it noted never happened. */
  discard(): void {
    this.noted.clear();
  }

  private note(event: ObjectEvent, root: { type: string; id: number; key: string }): void {
    this.noted.delete(root.key); // re-inserted last: roots settle in the order of their last change
    this.noted.set(root.key, { event, root });
  }

  /** The group commit's projection: returns the outbox rows it added. */
  project(event: EventEnvelope, now: number): number {
    const { data } = event;
    if (!('object' in data) || data.superseded || data.managed === false) return 0;
    const objectEvent = event as ObjectEvent;
    return data.action === 'deleted' ? this.deleted(objectEvent, now) : this.changed(objectEvent, now);
  }

  private changed(event: ObjectEvent, now: number): number {
    const { store, outbox, source } = this.options;
    const key = event.subject;
    const root = event.data.root;
    const message = objectStateMessage(event, source);
    outbox.insertMessage('objects', key, message.id, JSON.stringify(message), now, event.data.route);
    const rows = 1;
    // NetBox never reuses an id: a deleted root's late component events keep its projection deleted.
    if (store.root(root.key)?.deleted) return rows;
    const previous = store.member(key);
    const state = canonicalJson(canonicalState(event.data.current));
    store.putMember({ member: key, root: root.key, state, eventId: event.id });
    // A member moved to another root (an interface to another device) leaves its old root too.
    if (previous && previous.root !== root.key) this.note(event, refOf(previous.root));
    if (!previous || previous.state !== state || previous.root !== root.key) this.note(event, root);
    return rows;
  }

  private deleted(event: ObjectEvent, now: number): number {
    const { store, outbox } = this.options;
    const key = event.subject;
    outbox.insertTombstone('objects', key, tombstoneId(event.id, key), now, event.data.route);
    let rows = 1;
    const previous = store.member(key);
    store.dropMember(key);
    if (key === event.data.root.key) {
      // The root itself: its projection goes; its components' own deletes tombstone their states.
      const known = store.root(key);
      store.dropMembers(key);
      store.putRoot(key, null, true, event.id, now);
      if (known?.deleted !== true) {
        outbox.insertTombstone('rootsDesired', key, tombstoneId(event.id, key), now, event.data.route);
        rows++;
      }
      return rows;
    }
    if (previous) this.note(event, refOf(previous.root));
    return rows;
  }

  /** Recomputes one root's desiredVersion; writes its message (or tombstone, when no member is left) when it changed. */
  private refresh(event: ObjectEvent, root: { type: string; id: number; key: string }, now: number): number {
    const { store, outbox, source } = this.options;
    const known = store.root(root.key);
    if (known?.deleted) return 0;
    const members = store.members(root.key);
    if (members.length === 0) {
      if (known?.desiredVersion == null) return 0;
      store.putRoot(root.key, null, false, event.id, now);
      outbox.insertTombstone('rootsDesired', root.key, tombstoneId(event.id, root.key), now, event.data.route);
      return 1;
    }
    const version = desiredVersion(members);
    if (known?.desiredVersion === version) return 0;
    store.putRoot(root.key, version, false, event.id, now);
    const message = rootDesiredJson(event, root, members, version, source);
    outbox.insertMessage('rootsDesired', root.key, message.id, message.json, now, event.data.route);
    this.options.log.debug({ root: root.key, desiredVersion: version, members: members.length, eventId: event.id }, 'root desired state changed');
    return 1;
  }
}

/** `dcim.device:42` or `nb-eu/dcim.device:42` → its reference (keys are checked by the envelope's schema before they get here). */
function refOf(key: string): { type: string; id: number; key: string } {
  const colon = key.lastIndexOf(':');
  return { type: key.slice(key.indexOf('/') + 1, colon), id: Number(key.slice(colon + 1)), key };
}
