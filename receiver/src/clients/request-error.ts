import { RequestError } from 'got';
import { UnicopError } from '../errors.js';

/** All a log line or an error may say about a failed call: never headers, body or query string. */
export interface RequestFailure {
  service: 'netbox' | 'awx' | 'oidc';
  /** The transport error (`ECONNREFUSED`, `ETIMEDOUT`, …), `HTTP_<status>`, or `ID_FILTER_IGNORED` (a list not filtered by the ids asked for). */
  code: string;
  status: number | null;
  method: string;
  /** Origin and path only: a query string may carry anything. */
  url: string;
}

/**
 * A NetBox or AWX call that failed. It deliberately keeps no `cause`: got's errors hold the request
 * options, headers included, and the `authorization` header is the NetBox or AWX token.
 */
export class ClientRequestError extends UnicopError {
  readonly request: RequestFailure;

  constructor(request: RequestFailure) {
    super('UNICOP_CLIENT_REQUEST_FAILED', `${request.service}: ${request.method} ${request.url} failed (${request.code})`);
    this.request = request;
  }
}

/** The safe description of whatever a got call threw. */
export function requestFailure(service: RequestFailure['service'], method: string, url: string, error: unknown): ClientRequestError {
  const status = error instanceof RequestError ? (error.response?.statusCode ?? null) : null;
  const code = status !== null ? `HTTP_${status}` : error instanceof RequestError ? error.code : 'UNKNOWN';
  return new ClientRequestError({ service, code, status, method, url: withoutQuery(url) });
}

/** A 4xx/5xx answer read with `throwHttpErrors: false`. */
export function statusFailure(service: RequestFailure['service'], method: string, url: string, status: number): ClientRequestError {
  return new ClientRequestError({ service, code: `HTTP_${status}`, status, method, url: withoutQuery(url) });
}

export function withoutQuery(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url.split(/[?#]/, 1)[0] ?? '';
  }
}
