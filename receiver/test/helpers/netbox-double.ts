import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ObjectChangeRow } from '../../src/model/netbox-changelog.js';

/** gunicorn's default `limit_request_line`: a longer request line is refused with 400. */
export const REQUEST_LINE_LIMIT = 4094;
/** Django's DATA_UPLOAD_MAX_NUMBER_FIELDS: more query fields are refused with 400. */
const QUERY_FIELDS_LIMIT = 1000;
/** NetBox's default MAX_PAGE_SIZE. */
const MAX_PAGE_SIZE = 1000;

export interface NetboxDouble {
  url: string;
  /** Path and query of every request, in order. */
  requests: string[];
  /** The changelog (`/api/core/object-changes/`). */
  rows: ObjectChangeRow[];
  /** Objects NetBox holds, by list endpoint (`/api/dcim/interfaces/`) and id. */
  objects: Map<string, Map<number, Record<string, unknown>>>;
  /** A status to answer instead (a fault), or null to answer normally. */
  fail: (path: string, query: URLSearchParams) => number | null;
  /** List endpoints that ignore the `id` filter (as NetBox ignores a filter it does not know). */
  unfiltered: Set<string>;
  close(): Promise<void>;
}

/**
 * The part of NetBox's REST API the changelog catch-up reads, as NetBox 4.7 behind gunicorn
 * answers it: `/api/status/`, the event rule `unicop`, the changelog with cursor (`start`) or
 * `id__gt` paging, `changed_object_type` and multi-value `id` filters and `?fields=`, object lists
 * with the `id` filter (offset paging, unknown filters ignored as django-filter does) and object
 * details (404 once gone). Request lines over gunicorn's limit and queries over Django's field
 * limit are refused as they would be, so a client that builds them fails here too.
 */
export async function startNetboxDouble(options: { version?: string; ruleTypes: string[] }): Promise<NetboxDouble> {
  const double: NetboxDouble = { url: '', requests: [], rows: [], objects: new Map(), fail: () => null, unfiltered: new Set(), close: async () => undefined };
  const server = createServer((req, res) => answer(double, options, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  double.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  double.close = () => new Promise((resolve) => server.close(() => resolve()));
  return double;
}

function answer(double: NetboxDouble, options: { version?: string; ruleTypes: string[] }, req: IncomingMessage, res: ServerResponse): void {
  const send = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const target = req.url ?? '/';
  double.requests.push(target);
  if (`${req.method} ${target} HTTP/1.1`.length > REQUEST_LINE_LIMIT) return send(400, { detail: 'Request Line is too large' });
  const url = new URL(target, double.url);
  const query = url.searchParams;
  if ([...query.keys()].length > QUERY_FIELDS_LIMIT) return send(400, { detail: 'TooManyFieldsSent' });
  const fault = double.fail(url.pathname, query);
  if (fault !== null) return send(fault, { detail: 'fault' });

  if (url.pathname === '/api/status/') return send(200, { 'netbox-version': options.version ?? '4.7.3' });
  if (url.pathname === '/api/extras/event-rules/') {
    return send(200, { count: 1, next: null, results: [{ name: 'unicop', enabled: true, object_types: options.ruleTypes }] });
  }
  if (url.pathname === '/api/core/object-changes/') {
    let rows = [...double.rows].sort((a, b) => a.id - b.id);
    if (query.has('start')) rows = rows.filter((r) => r.id >= Number(query.get('start')));
    if (query.has('id__gt')) rows = rows.filter((r) => r.id > Number(query.get('id__gt')));
    const types = query.getAll('changed_object_type');
    if (types.length > 0) rows = rows.filter((r) => types.includes(r.changed_object_type));
    const fields = query.get('fields')?.split(',');
    const page = paged(double.url, url, filterIds(rows, query));
    return send(200, {
      ...page,
      results: page.results.map((r) => (fields ? Object.fromEntries(fields.filter((f) => f in r).map((f) => [f, r[f as keyof ObjectChangeRow]])) : r)),
    });
  }
  for (const [list, objects] of double.objects) {
    if (url.pathname === list) {
      const all = [...objects.values()].sort((a, b) => Number(a.id) - Number(b.id));
      return send(200, paged(double.url, url, double.unfiltered.has(list) ? all : filterIds(all, query)));
    }
    const id = url.pathname.startsWith(list) ? Number(url.pathname.slice(list.length).replace(/\/$/, '')) : NaN;
    if (Number.isInteger(id)) return objects.has(id) ? send(200, objects.get(id)) : send(404, { detail: 'No object matches the given query.' });
  }
  send(404, { detail: 'Not found.' });
}

/** NetBox's multi-value `id` filter (`?id=1&id=2`); without it, everything. */
function filterIds<T>(items: T[], query: URLSearchParams): T[] {
  const ids = query.getAll('id').map(Number);
  return ids.length === 0 ? items : items.filter((item) => ids.includes(Number((item as { id: unknown }).id)));
}

/** One page: cursor paging (`start`) on the changelog, offset paging elsewhere; `next` absolute, as NetBox links it. */
function paged<T extends { id?: unknown }>(base: string, url: URL, items: T[]): { count: number; next: string | null; results: T[] } {
  const limit = Math.min(Number(url.searchParams.get('limit') ?? 50), MAX_PAGE_SIZE);
  const offset = url.searchParams.has('start') ? 0 : Number(url.searchParams.get('offset') ?? 0);
  const results = items.slice(offset, offset + limit);
  let next: string | null = null;
  if (offset + limit < items.length) {
    const params = new URLSearchParams(url.searchParams);
    if (params.has('start')) params.set('start', String(Number(results.at(-1)!.id) + 1));
    else params.set('offset', String(offset + limit));
    next = `${base}${url.pathname}?${params.toString()}`;
  }
  return { count: items.length, next, results };
}
