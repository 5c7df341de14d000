import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { RETRY_POLICIES } from '../retry/policies.js';
import got, { type Got, type OptionsOfJSONResponseBody } from 'got';
import type { ObjectChangeRow } from '../model/netbox-changelog.js';
import { ClientRequestError, requestFailure, statusFailure, withoutQuery } from './request-error.js';

interface Page<T> {
  next: string | null;
  count?: number | null;
  results: T[];
}

export interface ChangelogQuery {
  /** Rows with an id strictly greater than this. */
  afterId: number;
  objectTypes: readonly string[];
  pageSize: number;
  /** NetBox 4.6+ cursor paging (`?start=`); `id__gt` + `ordering=id` before. */
  cursor: boolean;
  /** Only these fields of each row (`?fields=`, NetBox 4.0+); every field when absent. */
  fields?: readonly string[];
}

/**
 * The longest path + query a GET by id list may have: gunicorn refuses a request line over 4094
 * bytes (`limit_request_line`), and NetBox's base path and the `offset` of a next page come on top.
 */
export const MAX_PATH_CHARS = 3500;
/** Ids per GET at most: one page at NetBox's default MAX_PAGE_SIZE (1000), below Django's 1000 query fields. */
export const MAX_IDS_PER_REQUEST = 900;

/** One page of a keyset-paged object list (`listPage`). */
export interface ObjectPage {
  results: ({ id: number } & Record<string, unknown>)[];
  /** False on the last page. */
  more: boolean;
  /** NetBox's `count`: objects from this page on (`id > afterId`); null when it gave none. */
  remaining: number | null;
}

export interface NetboxClientOptions {
  /** Awaited before every HTTP request (a snapshot's rate cap); counts them too. */
  beforeRequest?: () => Promise<void>;
}

/**
 * The NetBox REST calls the receiver makes. No retries inside: the caller (catch-up) polls again
 * on its interval and counts every failure. Every failure is a `ClientRequestError`, which says
 * method, URL without query, status or transport code, and nothing else (the token is a header).
 */
export class NetboxClient {
  private readonly http: Got;
  private readonly prefixUrl: string;
  /** NetBox may live under a path (`BASE_PATH`); its absolute links repeat it. */
  private readonly basePath: string;
  private readonly endpoints = new Map<string, string>();
  /** HTTP requests made so far (got's own retries included). */
  requests = 0;

  constructor(baseUrl: string, token: string, options: NetboxClientOptions = {}) {
    this.basePath = new URL(baseUrl).pathname.replace(/\/+$/, '');
    this.prefixUrl = baseUrl.replace(/\/+$/, '');
    this.http = got.extend({
      prefixUrl: this.prefixUrl,
      headers: {
        // NetBox 4.7 v2 tokens are `nbt_<key>.<secret>` and go as Bearer; v1 tokens as `Token`.
        authorization: token.startsWith('nbt_') ? `Bearer ${token}` : `Token ${token}`,
        accept: 'application/json',
      },
      timeout: { request: 15_000 },
      retry: { limit: RETRY_POLICIES['http-client'].retries },
      // Polls are seconds apart; a kept-alive socket the server (gunicorn, nginx) already closed fails
      // as "socket hang up". A fresh connection per poll costs nothing at this rate.
      agent: { http: new HttpAgent({ keepAlive: false }), https: new HttpsAgent({ keepAlive: false }) },
      responseType: 'json',
      hooks: {
        beforeRequest: [
          async () => {
            await options.beforeRequest?.();
            this.requests++;
          },
        ],
      },
    });
  }

  private async get<T>(path: string, options: OptionsOfJSONResponseBody = {}): Promise<T> {
    try {
      return await this.http.get(path, options).json<T>();
    } catch (error) {
      throw requestFailure('netbox', 'GET', `${this.prefixUrl}/${path}`, error);
    }
  }

  private relative(url: string): string {
    const parsed = new URL(url, 'http://netbox.invalid');
    const path = parsed.pathname.startsWith(`${this.basePath}/`) ? parsed.pathname.slice(this.basePath.length) : parsed.pathname;
    return `${path.replace(/^\/+/, '')}${parsed.search}`;
  }

  /** NetBox's version, e.g. "4.7.3" (`/api/status/`). */
  async version(): Promise<string> {
    const body = await this.get<{ 'netbox-version': string }>('api/status/');
    return body['netbox-version'];
  }

  /** The newest changelog row's id, 0 when the changelog is empty. */
  async latestChangeId(): Promise<number> {
    const page = await this.get<Page<{ id: number }>>('api/core/object-changes/?ordering=-id&limit=1');
    return page.results[0]?.id ?? 0;
  }

  /**
   * The object types of the event rule `name` (`/api/extras/event-rules/?name=`): what UNICOP covers.
   * Enabled or not: the plugin's batch delivery keeps the rule disabled and sends the same types as
   * batches, and a rule switched off by hand loses changes the catch-up is there to recover. Throws
   * when the rule is missing, so a catch-up never guesses.
   */
  async eventRuleObjectTypes(name: string): Promise<string[]> {
    const page = await this.get<Page<{ name: string; object_types: string[] }>>('api/extras/event-rules/', { searchParams: { name } });
    const rule = page.results.find((r) => r.name === name);
    if (!rule) throw new Error(`NetBox has no event rule "${name}": run \`netbox unicop_bootstrap\` or set UNICOP_CATCHUP_OBJECT_TYPES`);
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
    if (query.fields) params.set('fields', query.fields.join(','));
    let url: string | null = `api/core/object-changes/?${params.toString()}`;
    let yielded = 0;
    while (url && yielded < maxRows) {
      const page: Page<ObjectChangeRow> = await this.get<Page<ObjectChangeRow>>(url);
      for (const row of page.results) {
        yield row;
        if (++yielded >= maxRows) return;
      }
      // `next` is absolute; got's prefixUrl only takes relative paths.
      url = page.next ? this.relative(page.next) : null;
    }
  }

  /** Whole changelog rows with these ids; a row NetBox no longer keeps is absent. */
  async changeRows(ids: readonly number[]): Promise<ObjectChangeRow[]> {
    return this.listByIds<ObjectChangeRow>('api/core/object-changes/', ids);
  }

  /**
   * The objects with these ids from the list endpoint `listUrl` (e.g. `/api/dcim/interfaces/`, as
   * NetBox links it), by id, in their REST representation (the webhook's `data` format); an object
   * NetBox no longer has is absent.
   */
  async objectsByIds(listUrl: string, ids: readonly number[]): Promise<Map<number, Record<string, unknown>>> {
    const objects = await this.listByIds<{ id: number } & Record<string, unknown>>(this.relative(listUrl), ids);
    return new Map(objects.map((o) => [o.id, o]));
  }

  /**
   * Rows of the list endpoint `path` whose id is one of `ids`: NetBox's multi-value filter
   * (`?id=1&id=2`; it knows no `id__in`, and ignores a filter it does not know, which would list
   * everything), as many ids per GET as a request line takes, following `next` where NetBox's
   * MAX_PAGE_SIZE cuts a page. A row outside the ids asked for means the filter was not applied:
   * that answer is refused rather than paged through.
   */
  private async listByIds<T extends { id: number }>(path: string, ids: readonly number[]): Promise<T[]> {
    const rows: T[] = [];
    for (const batch of idBatches([...new Set(ids)], MAX_PATH_CHARS - this.basePath.length - path.length - '?limit=000'.length)) {
      const asked = new Set(batch);
      let url: string | null = `${path}?limit=${batch.length}&${batch.map((id) => `id=${id}`).join('&')}`;
      while (url) {
        const page: Page<T> = await this.get<Page<T>>(url);
        const stray = page.results.find((r) => !asked.has(r.id));
        if (stray) throw filterIgnored(`${this.prefixUrl}/${path}`);
        rows.push(...page.results);
        url = page.next ? this.relative(page.next) : null;
      }
    }
    return rows;
  }

  /**
   * Whether NetBox holds `<app_label>.<model>` `id` now: its REST list endpoint comes from
   * `/api/core/object-types/` (`rest_api_endpoint`, cached per type), then `GET <endpoint><id>/`.
   * An unknown type or a 404 is false; any other failure throws (the caller answers it as such).
   */
  async objectExists(objectType: string, id: number): Promise<boolean> {
    const endpoint = await this.listEndpoint(objectType);
    if (endpoint === null) return false;
    return (await this.object(`${endpoint.replace(/\/+$/, '')}/${id}/`)) !== null;
  }

  /**
   * Objects of `objectType` with an id above `afterId`, in id order, at most `limit` (NetBox caps it
   * at MAX_PAGE_SIZE): keyset paging (`id__gt` + `ordering=id`) stays correct while objects are
   * added or removed between pages, where offsets would skip or repeat. Throws when NetBox has no
   * REST endpoint for the type.
   */
  async listPage(objectType: string, afterId: number, limit: number): Promise<ObjectPage> {
    const endpoint = await this.listEndpoint(objectType);
    if (endpoint === null) throw new Error(`NetBox has no REST endpoint for ${objectType}`);
    const searchParams = { id__gt: String(afterId), ordering: 'id', limit: String(limit) };
    const page = await this.get<Page<{ id: number } & Record<string, unknown>>>(this.relative(endpoint), { searchParams });
    return { results: page.results, more: page.next !== null, remaining: typeof page.count === 'number' ? page.count : null };
  }

  private async listEndpoint(objectType: string): Promise<string | null> {
    const cached = this.endpoints.get(objectType);
    if (cached) return cached;
    const [app_label = '', model = ''] = objectType.split('.');
    const page = await this.get<Page<{ rest_api_endpoint?: string | null }>>('api/core/object-types/', { searchParams: { app_label, model } });
    const endpoint = page.results[0]?.rest_api_endpoint ?? null;
    if (endpoint) this.endpoints.set(objectType, endpoint);
    return endpoint;
  }

  /** An object's REST representation (the webhook's `data` format), or null when it is gone. */
  async object(apiUrl: string): Promise<Record<string, unknown> | null> {
    const path = this.relative(apiUrl);
    let res;
    try {
      res = await this.http.get(path, { throwHttpErrors: false });
    } catch (error) {
      throw requestFailure('netbox', 'GET', `${this.prefixUrl}/${path}`, error);
    }
    if (res.statusCode === 404) return null;
    if (res.statusCode >= 400) throw statusFailure('netbox', 'GET', `${this.prefixUrl}/${path}`, res.statusCode);
    return res.body as unknown as Record<string, unknown>;
  }
}

/** Ids split so each batch's `&id=<id>` list stays within `chars` and `MAX_IDS_PER_REQUEST`. */
export function idBatches(ids: readonly number[], chars: number): number[][] {
  const batches: number[][] = [];
  let batch: number[] = [];
  let length = 0;
  for (const id of ids) {
    const cost = `&id=${id}`.length;
    if (batch.length > 0 && (length + cost > chars || batch.length >= MAX_IDS_PER_REQUEST)) {
      batches.push(batch);
      batch = [];
      length = 0;
    }
    batch.push(id);
    length += cost;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** A 2xx answer listing ids not asked for (NetBox did not apply the id filter): a failed call like any other. */
function filterIgnored(url: string): ClientRequestError {
  return new ClientRequestError({ service: 'netbox', code: 'ID_FILTER_IGNORED', status: null, method: 'GET', url: withoutQuery(url) });
}
