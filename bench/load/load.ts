/**
 * HTTP load with autocannon: every request carries the next pre-signed body of a `Pool`
 * (`requests[0].setupRequest`), so each request is a new event and nothing is signed while the
 * clock runs (unless the pool runs dry; `late` counts those). Latencies are recorded at
 * microsecond resolution from autocannon's `response` event (autocannon's own histogram rounds
 * to whole milliseconds); for rate-limited runs autocannon's coordinated-omission-corrected p99
 * is kept as well.
 */
import autocannon from 'autocannon';
import type { Pool } from './payloads.js';
import { percentile } from './stats.js';

export const WEBHOOK_PATH = '/v1/netbox/webhooks';

export interface LoadOptions {
  /** Several URLs: the connections are spread over them round-robin (autocannon's URL array). */
  url: string | readonly string[];
  pool: Pool;
  connections: number;
  durationS: number;
  /** Requests per second over all connections (autocannon `overallRate`); unlimited when absent. */
  overallRate?: number;
}

export interface LoadResult {
  connections: number;
  overallRate: number | null;
  seconds: number;
  sent: number;
  byStatus: Record<string, number>;
  ok: number;
  /** 202 responses (new events stored). */
  accepted: number;
  acceptedPerSecond: number;
  okPerSecond: number;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** autocannon's p99 (whole ms; corrected for coordinated omission when a rate is set). */
  autocannonP99Ms: number;
  /** Bodies signed during the run because the pre-signed pool ran out. */
  late: number;
  startedAt: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const lateBefore = options.pool.late;
  const samples: number[] = [];
  const startedAt = Date.now();
  let instance: autocannon.Instance | undefined;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        // autocannon takes an array of URLs too (lib/run.js: connection i goes to url i mod n); its types say string
        url: (typeof options.url === 'string' ? `${options.url}${WEBHOOK_PATH}` : options.url.map((u) => `${u}${WEBHOOK_PATH}`)) as string,
        method: 'POST',
        connections: options.connections,
        duration: options.durationS,
        ...(options.overallRate ? { overallRate: options.overallRate } : {}),
        timeout: 30,
        headers: { 'content-type': 'application/json' },
        requests: [
          {
            method: 'POST',
            setupRequest: (request) => {
              const b = options.pool.next();
              request.body = b.raw;
              request.headers = { ...request.headers, 'content-type': 'application/json', 'x-hook-signature': b.signature };
              return request;
            },
          },
        ],
      },
      (error: unknown, result: autocannon.Result) => (error ? reject(error as Error) : resolve(result)),
    );
  });
  instance?.on('response', (_client, status, _bytes, responseTime) => {
    if (status >= 200 && status < 300) samples.push(responseTime);
  });
  const result = await finished;
  const byStatus: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) byStatus[code] = s.count ?? 0;
  const seconds = result.duration;
  const ok = result['2xx'];
  const accepted = byStatus['202'] ?? 0;
  return {
    connections: options.connections,
    overallRate: options.overallRate ?? null,
    seconds,
    sent: result.requests.sent,
    byStatus,
    ok,
    accepted,
    acceptedPerSecond: accepted / seconds,
    okPerSecond: ok / seconds,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: {
      p50: percentile(samples, 50),
      p90: percentile(samples, 90),
      p99: percentile(samples, 99),
      max: percentile(samples, 100),
    },
    autocannonP99Ms: result.latency.p99,
    late: options.pool.late - lateBefore,
    startedAt,
  };
}
