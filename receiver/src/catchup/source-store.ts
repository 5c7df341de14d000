import type { OutboxStore } from '../pipeline/outbox/outbox-store.js';
import type { CatchupStore } from './changelog-catchup.js';

/**
 * The catch-up's view of the store for one NetBox source: changelog ids are unique only within
 * their NetBox, so rows seen and the high-water marks are kept per source. The source of a
 * single-source set-up (`default`) keeps the names it always had. Subjects are looked up under the
 * source's key prefix, as its events store them.
 */
export function sourceCatchupStore(
  store: Pick<OutboxStore, 'changelogSeen' | 'markChangelogSeen' | 'state' | 'setState' | 'eventForRequest'>,
  source: { name: string; keyPrefix: string },
): CatchupStore {
  const prefix = source.name === 'default' ? '' : `${source.name}:`;
  return {
    changelogSeen: (id) => store.changelogSeen(source.name, id),
    markChangelogSeen: (id, eventId, now) => store.markChangelogSeen(source.name, id, eventId, now),
    eventForRequest: (requestId, subject) => store.eventForRequest(requestId, `${source.keyPrefix}${subject}`),
    state: (name) => store.state(`${prefix}${name}`),
    setState: (name, value) => store.setState(`${prefix}${name}`, value),
  };
}
