/**
 * The posting side of `scripts/chaos`: NetBox-like webhooks built and signed one request at a time
 * (never all up front: 100,000 bodies of ~6 KB would be 600 MB), posted with bounded concurrency,
 * retried the way NetBox with RQ retries would (503 → wait `Retry-After`, connection refused or
 * reset → try again until a 2xx), and every answer counted.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { FIXTURE_REPLAY_ENV, interfaceUpdate, TEST_SECRET } from '../../receiver/test/helpers/fixtures.js';
import { sign } from '../../receiver/src/pipeline/verify/verify-signature.js';
import type { JsonObject } from '../../receiver/src/model/netbox-webhook.js';

export const SECRET = TEST_SECRET;
/** The bodies keep the fixture's capture timestamp: receivers sent them widen their replay window. */
export const REPLAY_ENV = FIXTURE_REPLAY_ENV;
/** Device ids of the roots (`dcim.device:<id>`): far from the fixtures' own ids. */
const DEVICE_BASE = 100_000;
const INTERFACE_BASE = 1_000_000;
/** Interfaces per device: the events of one root touch a few objects, like an edit session. */
const INTERFACES_PER_ROOT = 4;

type Template = JsonObject & { data: JsonObject & { device: JsonObject }; request: JsonObject };

export interface Body {
  raw: Buffer;
  signature: string;
  root: string;
}

/**
 * Event `i` is an update of one of the interfaces of device `DEVICE_BASE + i % roots`, with
 * `last_updated` growing with `i` and a fresh request id: every body is a new event. The template is
 * `interfaceUpdate()` of the test helpers (read once: it reads the fixture files on every call);
 * `make` applies the same edits it makes.
 */
export class Bodies {
  private readonly template: Template;

  constructor(readonly roots: number) {
    this.template = interfaceUpdate(1, 1, 0) as Template;
  }

  make(i: number): Body {
    const r = i % this.roots;
    const deviceId = DEVICE_BASE + r;
    const interfaceId = INTERFACE_BASE + r * INTERFACES_PER_ROOT + (Math.floor(i / this.roots) % INTERFACES_PER_ROOT);
    const t = this.template;
    const lastUpdated = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString().replace('Z', '000+00:00');
    const body = {
      ...t,
      data: { ...t.data, id: interfaceId, last_updated: lastUpdated, description: `v${i}`, device: { ...t.data.device, id: deviceId } },
      request: { ...t.request, id: randomUUID() },
    };
    const raw = Buffer.from(JSON.stringify(body));
    return { raw, signature: sign(raw, SECRET), root: `dcim.device:${deviceId}` };
  }
}

export interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** One POST of the exact bytes; rejects on connection errors (refused, reset, timeout). */
export function post(url: string, body: Body, timeoutMs = 60_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/v1/netbox/webhooks`,
      {
        method: 'POST',
        agent,
        timeout: timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': body.raw.length, 'x-hook-signature': body.signature },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const retryAfter = res.headers['retry-after'];
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body.raw);
  });
}

export interface RunOptions {
  url: () => string;
  events: number;
  concurrency: number;
  bodies: Bodies;
  /** Events started per second (first attempts only); unset: as fast as the receiver answers. */
  rate?: number;
  /** Called after every 2xx with the number of events stored so far. */
  onStored?: (stored: number) => void;
  /** Called after every 503. */
  onBackpressure?: () => void;
  /** How long one event may keep being retried before the client gives up (counted, never silent). */
  giveUpMs?: number;
}

export interface RunResult {
  /** Event id → sequence, for every event the receiver answered 202 or 200 for. */
  stored: Map<string, { root: string; sequence: number }>;
  accepted: number;
  duplicates: number;
  /** 503 answers, and those of them without `Retry-After` (a contract break). */
  backpressure: number;
  backpressureWithoutRetryAfter: number;
  retryAfterValues: Set<string>;
  connectionErrors: number;
  /** Any other answer: a bug (4xx for a valid signed body, 500, …); the first few are kept. */
  unexpected: number;
  unexpectedSample: string[];
  gaveUp: number;
  firstPostAt: number;
  lastStoredAt: number;
  finishedAt: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Posts `events` events, each until a 2xx (or give-up), with at most `concurrency` in flight. */
export async function postAll(options: RunOptions): Promise<RunResult> {
  const r: RunResult = {
    stored: new Map(),
    accepted: 0,
    duplicates: 0,
    backpressure: 0,
    backpressureWithoutRetryAfter: 0,
    retryAfterValues: new Set(),
    connectionErrors: 0,
    unexpected: 0,
    unexpectedSample: [],
    gaveUp: 0,
    firstPostAt: Date.now(),
    lastStoredAt: 0,
    finishedAt: 0,
  };
  const giveUpMs = options.giveUpMs ?? 300_000;
  let next = 0;
  const one = async (i: number): Promise<void> => {
    if (options.rate) {
      const due = r.firstPostAt + (i * 1000) / options.rate;
      if (due > Date.now()) await sleep(due - Date.now());
    }
    const body = options.bodies.make(i); // the same bytes on every retry: a retry is a redelivery
    const deadline = Date.now() + giveUpMs;
    for (;;) {
      if (Date.now() > deadline) {
        r.gaveUp++;
        return;
      }
      let answer: Answer;
      try {
        answer = await post(options.url(), body);
      } catch {
        r.connectionErrors++;
        await sleep(100);
        continue;
      }
      if (answer.status === 202 || answer.status === 200) {
        const parsed = JSON.parse(answer.body) as { result: string; id: string; root: string; sequence: number };
        if (parsed.result === 'accepted') r.accepted++;
        else r.duplicates++;
        r.stored.set(parsed.id, { root: parsed.root, sequence: parsed.sequence });
        r.lastStoredAt = Date.now();
        options.onStored?.(r.stored.size);
        return;
      }
      if (answer.status === 503) {
        r.backpressure++;
        options.onBackpressure?.();
        const seconds = Number(answer.retryAfter);
        if (answer.retryAfter === undefined || !Number.isFinite(seconds)) r.backpressureWithoutRetryAfter++;
        else r.retryAfterValues.add(answer.retryAfter);
        await sleep(Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000);
        continue;
      }
      r.unexpected++;
      if (r.unexpectedSample.length < 5) r.unexpectedSample.push(`${answer.status} ${answer.body.slice(0, 300)}`);
      return;
    }
  };
  const worker = async (): Promise<void> => {
    while (next < options.events) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.events) }, worker));
  r.finishedAt = Date.now();
  return r;
}
