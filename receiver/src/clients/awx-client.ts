import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { RETRY_POLICIES } from '../retry/policies.js';
import got, { type Got, type OptionsOfJSONResponseBody } from 'got';
import { requestFailure } from './request-error.js';

/** The fields of an AWX job (`GET /api/v2/jobs/<id>/`, awx/api/serializers.py JobSerializer) the poller reads. */
export interface AwxJob {
  id: number;
  status: string;
  extra_vars?: string;
  started?: string | null;
  finished?: string | null;
  result_traceback?: string | null;
}

interface Page<T> {
  results: T[];
}

/**
 * AWX's API for the outcome poller: no retries inside (the poller asks again next round, and counts
 * failures). Failures are `ClientRequestError`s: method, URL without query, status or transport code.
 */
export class AwxClient {
  private readonly http: Got;
  private readonly prefixUrl: string;

  constructor(baseUrl: string, token: string) {
    this.prefixUrl = `${baseUrl.replace(/\/+$/, '')}/api/v2`;
    this.http = got.extend({
      prefixUrl: this.prefixUrl,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      timeout: { request: 10_000 },
      retry: { limit: RETRY_POLICIES['http-client'].retries },
      // Polls are seconds apart; a kept-alive socket the server (gunicorn, nginx) already closed fails
      // as "socket hang up". A fresh connection per poll costs nothing at this rate.
      agent: { http: new HttpAgent({ keepAlive: false }), https: new HttpsAgent({ keepAlive: false }) },
      responseType: 'json',
    });
  }

  private async get<T>(path: string, options: OptionsOfJSONResponseBody = {}): Promise<T> {
    try {
      return await this.http.get(path, options).json<T>();
    } catch (error) {
      throw requestFailure('awx', 'GET', `${this.prefixUrl}/${path}`, error);
    }
  }

  async job(id: number): Promise<AwxJob> {
    return this.get<AwxJob>(`jobs/${id}/`);
  }

  /** Jobs ansible-rulebook launched for an event uuid (its `eda-event-uuid-<uuid>` label), newest first. */
  async jobsForEvent(uuid: string): Promise<AwxJob[]> {
    const page = await this.get<Page<AwxJob>>('jobs/', { searchParams: { labels__name: `eda-event-uuid-${uuid}`, order_by: '-id' } });
    return page.results;
  }
}
