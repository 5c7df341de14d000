/**
 * A real NetBox for the e2e tests (scripts/netbox up): its REST API with the v2 token, a browser-like
 * session for UI form posts, RQ queue figures, and the events the receiver made of NetBox's changes.
 */
import { strict as assert } from 'node:assert';
import { consume, topicSize, type Received } from './kafka.js';
import { waitFor } from './wait-for.js';

export const NETBOX_URL = (process.env.NETBOX_URL ?? '').replace(/\/+$/, '');
const NETBOX_TOKEN = process.env.NETBOX_TOKEN ?? '';

export interface NetboxObject {
  id: number;
  [key: string]: unknown;
}

export interface NetboxList<T = NetboxObject> {
  count: number;
  next: string | null;
  results: T[];
}

/** An event as the receiver put it on `unicop.events.v1`, with its Kafka coordinates. */
export type NetboxEvent = Received['value'] & {
  id: string;
  subject: string;
  type: string;
  sequence: string;
  partitionkey: string;
  offset: number;
  partition: number;
  data: {
    action: string;
    object: { type: string; id: number };
    root: { key: string };
    scope: { tenant: string | null; site: string | null; region: string | null };
    actor: { user: string | null; requestId: string | null };
    netbox: { changelogId: number | null; via: 'webhook' | 'changelog' };
  };
};

export function requireNetbox(): void {
  assert.ok(NETBOX_URL, 'NETBOX_URL is not set: run scripts/netbox up and load var/netbox/env');
  assert.ok(NETBOX_TOKEN, 'NETBOX_TOKEN is not set: run scripts/netbox up and load var/netbox/env');
}

/** NETBOX_TOKEN from scripts/netbox is a v2 token (nbt_…): Bearer; a 40-hex v1 token: Token. */
export function authorization(): string {
  return NETBOX_TOKEN.startsWith('nbt_') ? `Bearer ${NETBOX_TOKEN}` : `Token ${NETBOX_TOKEN}`;
}

/** One REST call; any non-2xx answer fails the test with NetBox's own message. */
export async function netbox<T = NetboxObject>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${NETBOX_URL}/api/${path}`, {
    method,
    headers: { authorization: authorization(), accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} /api/${path} → ${res.status}: ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : null) as T;
}

/** Every row of a paged list. */
export async function netboxAll<T = NetboxObject>(path: string): Promise<T[]> {
  const out: T[] = [];
  let next: string | null = `${path}${path.includes('?') ? '&' : '?'}limit=500`;
  while (next) {
    const page: NetboxList<T> = await netbox<NetboxList<T>>('GET', next);
    out.push(...page.results);
    next = page.next ? page.next.slice(page.next.indexOf('/api/') + '/api/'.length) : null;
  }
  return out;
}

/** The newest changelog id (0 when empty): rows above it were made after this call. */
export async function latestChangelogId(): Promise<number> {
  const page = await netbox<NetboxList>('GET', 'core/object-changes/?ordering=-id&limit=1');
  return page.results[0]?.id ?? 0;
}

export interface QueueStats {
  jobs: number;
  started_jobs: number;
  scheduled_jobs: number;
  failed_jobs: number;
}

/**
 * The RQ queue that carries changes to the receiver, as NetBox reports it: the plugin's batch queue
 * (`delivery = batch`, what `scripts/netbox bootstrap` sets up; one job per NetBox request).
 */
export async function deliveryQueue(): Promise<QueueStats> {
  return netbox<QueueStats>('GET', 'core/background-queues/unicop_netbox.batches/');
}

/**
 * A logged-in browser session (Django's login form and CSRF cookie), for UI form posts: what a person
 * clicking in NetBox sends.
 */
export class NetboxSession {
  private cookies = new Map<string, string>();

  static async login(user: string, password: string): Promise<NetboxSession> {
    const session = new NetboxSession();
    const form = await session.get('/login/');
    const res = await session.post('/login/', { csrfmiddlewaretoken: csrfToken(form), username: user, password, next: '/' });
    assert.equal(res.status, 302, `login as ${user} → ${res.status} (wrong NETBOX_ADMIN_PASSWORD?)`);
    assert.ok(session.cookies.has('sessionid'), 'login set a session cookie');
    return session;
  }

  async get(path: string): Promise<string> {
    const res = await this.request('GET', path);
    const text = await res.text();
    assert.equal(res.status, 200, `GET ${path} → ${res.status}`);
    return text;
  }

  /** Posts a form the way a browser does (CSRF token in the body, Referer set); redirects are not followed. */
  async post(path: string, fields: Record<string, string | string[]>): Promise<{ status: number; text: string }> {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) body.append(name, v);
    const res = await this.request('POST', path, body);
    return { status: res.status, text: await res.text() };
  }

  /** The CSRF token of the form on page `path`. */
  async csrf(path: string): Promise<string> {
    return csrfToken(await this.get(path));
  }

  /** GETs `path`, then posts `fields` with the form's own CSRF token. */
  async submit(path: string, fields: Record<string, string | string[]>): Promise<{ status: number; text: string }> {
    return this.post(path, { csrfmiddlewaretoken: await this.csrf(path), ...fields });
  }

  private async request(method: string, path: string, body?: URLSearchParams): Promise<Response> {
    const res = await fetch(`${NETBOX_URL}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        referer: `${NETBOX_URL}${path}`,
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body,
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return res;
  }
}

export function csrfToken(html: string): string {
  const match = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(html);
  assert.ok(match?.[1], 'the page has a CSRF token');
  return match[1];
}

/** Every event on the topic so far, in Kafka order per partition. */
export async function allEvents(topic: string): Promise<NetboxEvent[]> {
  const size = await topicSize(topic);
  const received = await consume(topic, size, { timeoutMs: 30_000, settleMs: 0 });
  return received
    .map((r) => ({ ...r.value, partitionkey: r.key, partition: r.partition, offset: Number(r.offset) }) as NetboxEvent)
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** Reads the whole topic (shared by all tests of a run) until `match` finds what it needs. */
export async function eventsUntil<T>(topic: string, match: (events: NetboxEvent[]) => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return waitFor(async () => match(await allEvents(topic)), timeoutMs, what);
}

/** Asserts one root's events are in Kafka order with gapless, increasing sequences (ARCHITECTURE.md "ordering"). */
export function assertRootOrder(events: NetboxEvent[], root: string): NetboxEvent[] {
  const mine = events.filter((e) => e.partitionkey === root);
  assert.ok(mine.length > 0, `events for ${root}`);
  assert.equal(new Set(mine.map((e) => e.partition)).size, 1, `${root}: one partition`);
  const sequences = mine.map((e) => Number(e.sequence));
  assert.deepEqual(
    sequences,
    sequences.map((_, i) => (sequences[0] ?? 0) + i),
    `${root}: sequences gapless and increasing in offset order`,
  );
  return mine;
}

/** A short random tag that keeps names unique across runs against the same NetBox. */
export function runTag(): string {
  return Math.random().toString(16).slice(2, 10);
}

/** A site (with `siteFields`, e.g. its region) and a device on it (with the manufacturer, type and role NetBox requires), named after `tag`. */
export async function makeDevice(tag: string, siteFields: Record<string, unknown> = {}): Promise<{ site: NetboxObject; device: NetboxObject }> {
  const site = await netbox('POST', 'dcim/sites/', { name: `e2e-${tag}`, slug: `e2e-${tag}`, status: 'active', ...siteFields });
  const manufacturer = await netbox('POST', 'dcim/manufacturers/', { name: `e2e-m-${tag}`, slug: `e2e-m-${tag}` });
  const deviceType = await netbox('POST', 'dcim/device-types/', { manufacturer: manufacturer.id, model: `e2e-t-${tag}`, slug: `e2e-t-${tag}` });
  const role = await netbox('POST', 'dcim/device-roles/', { name: `e2e-r-${tag}`, slug: `e2e-r-${tag}` });
  const device = await netbox('POST', 'dcim/devices/', { name: `e2e-d-${tag}`, device_type: deviceType.id, role: role.id, site: site.id, status: 'active' });
  return { site, device };
}

/** `count` sites named `<name>-<i>` in one bulk REST request. */
export async function makeSites(name: string, count: number): Promise<NetboxObject[]> {
  const sites = Array.from({ length: count }, (_, i) => ({ name: `${name}-${i}`, slug: `${name}-${i}`, status: 'active' }));
  return netbox<NetboxObject[]>('POST', 'dcim/sites/', sites);
}

/** Deletes the given sites in one bulk REST request (nothing to do for none). */
export async function deleteSites(sites: readonly NetboxObject[]): Promise<void> {
  if (sites.length > 0)
    await netbox(
      'DELETE',
      'dcim/sites/',
      sites.map((site) => ({ id: site.id })),
    );
}
