import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import got, { type Got } from 'got';
import type { ObjectChangeRow } from '../model/netbox-changelog.js';

interface Page<T> {
  next: string | null;
  results: T[];
}

export interface ChangelogQuery {
  /** Rows with an id strictly greater than this. */
  afterId: number;
  objectTypes: readonly string[];
  pageSize: number;
  /** NetBox 4.6+ cursor paging (`?start=`); `id__gt` + `ordering=id` before. */
  cursor: boolean;
}

/**
 * The NetBox REST calls the receiver makes. No retries inside: the caller (catch-up) polls again
 * on its interval and counts every failure.
 */
export class NetboxClient {
  private readonly http: Got;
  /** NetBox may live under a path (`BASE_PATH`); its absolute links repeat it. */
  private readonly basePath: string;

  constructor(baseUrl: string, token: string) {
    this.basePath = new URL(baseUrl).pathname.replace(/\/+$/, '');
    this.http = got.extend({
      prefixUrl: baseUrl.replace(/\/+$/, ''),
      headers: {
        // NetBox 4.7 v2 tokens are `nbt_<key>.<secret>` and go as Bearer; v1 tokens as `Token`.
        authorization: token.startsWith('nbt_') ? `Bearer ${token}` : `Token ${token}`,
        accept: 'application/json',
      },
      timeout: { request: 15_000 },
      retry: { limit: 0 },
      // Polls are seconds apart; a kept-alive socket the server (gunicorn, nginx) already closed fails
      // as "socket hang up". A fresh connection per poll costs nothing at this rate.
      agent: { http: new HttpAgent({ keepAlive: false }), https: new HttpsAgent({ keepAlive: false }) },
      responseType: 'json',
    });
  }

  private relative(url: string): string {
    const parsed = new URL(url, 'http://netbox.invalid');
    const path = parsed.pathname.startsWith(`${this.basePath}/`) ? parsed.pathname.slice(this.basePath.length) : parsed.pathname;
    return `${path.replace(/^\/+/, '')}${parsed.search}`;
  }

  /** NetBox's version, e.g. "4.7.3" (`/api/status/`). */
  async version(): Promise<string> {
    const body = await this.http.get('api/status/').json<{ 'netbox-version': string }>();
    return body['netbox-version'];
  }

  /** The newest changelog row's id, 0 when the changelog is empty. */
  async latestChangeId(): Promise<number> {
    const page = await this.http.get('api/core/object-changes/?ordering=-id&limit=1').json<Page<{ id: number }>>();
    return page.results[0]?.id ?? 0;
  }

  /**
   * The object types of the event rule `name` (`/api/extras/event-rules/?name=`): what NetBox sends
   * webhooks for. Throws when the rule is missing or disabled, so a catch-up never guesses.
   */
  async eventRuleObjectTypes(name: string): Promise<string[]> {
    const page = await this.http
      .get('api/extras/event-rules/', { searchParams: { name } })
      .json<Page<{ name: string; enabled: boolean; object_types: string[] }>>();
    const rule = page.results.find((r) => r.name === name);
    if (!rule) throw new Error(`NetBox has no event rule "${name}": run \`netbox unicop_bootstrap\` or set UNICOP_CATCHUP_OBJECT_TYPES`);
    if (!rule.enabled) throw new Error(`the NetBox event rule "${name}" is disabled: NetBox sends no webhooks, so the catch-up does not guess`);
    return rule.object_types;
  }

  /** Changelog rows in id order, page by page, at most `maxRows`. */
  async *objectChanges(query: ChangelogQuery, maxRows: number): AsyncGenerator<ObjectChangeRow> {
    const params = new URLSearchParams({ limit: String(query.pageSize) });
    if (query.cursor) params.set('start', String(query.afterId + 1));
    else {
      params.set('id__gt', String(query.afterId));
      params.set('ordering', 'id');
    }
    for (const type of query.objectTypes) params.append('changed_object_type', type);
    let url: string | null = `api/core/object-changes/?${params.toString()}`;
    let yielded = 0;
    while (url && yielded < maxRows) {
      const page: Page<ObjectChangeRow> = await this.http.get(url).json<Page<ObjectChangeRow>>();
      for (const row of page.results) {
        yield row;
        if (++yielded >= maxRows) return;
      }
      // `next` is absolute; got's prefixUrl only takes relative paths.
      url = page.next ? this.relative(page.next) : null;
    }
  }

  /** An object's REST representation (the webhook's `data` format), or null when it is gone. */
  async object(apiUrl: string): Promise<Record<string, unknown> | null> {
    const res = await this.http.get(this.relative(apiUrl), { throwHttpErrors: false });
    if (res.statusCode === 404) return null;
    if (res.statusCode >= 400) throw new Error(`GET ${apiUrl} answered ${res.statusCode}`);
    return res.body as unknown as Record<string, unknown>;
  }
}
