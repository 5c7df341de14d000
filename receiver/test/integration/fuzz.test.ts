import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { ERROR_CODES } from '../../src/errors.js';
import { sign } from '../../src/pipeline/verify/verify-signature.js';
import { allFixtures, RETIRED_SECRET, TEST_SECRET } from '../helpers/fixtures.js';
import { listen } from '../helpers/http.js';
import { consume } from '../helpers/kafka.js';
import { startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Property-based fuzzing of POST /v1/netbox/webhooks through a whole receiver (real socket, real
 * SQLite, real Kafka): bodies mutated from every fixture (keys dropped, values replaced by other
 * types, huge strings, deep nesting, unicode, NUL; bytes truncated, flipped, spliced) and random
 * bytes, signed, unsigned or wrongly signed, with an occasional odd Content-Type or
 * Content-Encoding. `UNICOP_FUZZ_RUNS` (default 500) sets the number of cases, `UNICOP_FUZZ_SEED`
 * replays a failing run (fast-check prints the seed and the shrunk case).
 */
const RUNS = Number(process.env.UNICOP_FUZZ_RUNS ?? 500);
const SEED = process.env.UNICOP_FUZZ_SEED === undefined ? undefined : Number(process.env.UNICOP_FUZZ_SEED);
/** heapUsed after a full GC may grow at most this much over the whole run (nothing is kept per request). */
const HEAP_GROWTH_LIMIT = 32 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const FIXTURES = allFixtures();
const KNOWN_CODES = new Set(Object.keys(ERROR_CODES));

type Json = unknown;
/** `under`: the subtree the path starts from (the body itself when the fixture has no such key). */
type Op =
  | { kind: 'drop'; under: string; path: number[] }
  | { kind: 'set'; under: string; path: number[]; value: Json }
  | { kind: 'insert'; under: string; path: number[]; key: string; value: Json }
  | { kind: 'fresh'; requestId: string };
type ByteOp =
  | { kind: 'none' }
  | { kind: 'truncate'; keep: number }
  | { kind: 'flip'; flips: { at: number; xor: number }[] }
  | { kind: 'splice'; at: number; bytes: Uint8Array };
type Origin = { kind: 'fixture'; index: number; ops: Op[]; bytes: ByteOp } | { kind: 'random'; raw: Uint8Array };
type Signing = 'valid' | 'none' | 'retired' | 'garbage';
interface Case {
  origin: Origin;
  signing: Signing;
  garbage: string;
  contentType: string | undefined;
  contentEncoding: string | undefined;
}

function nested(depth: number): Json {
  let v: Json = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

const valueArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 2 ** 53 + 1, -1e21, 1e308, '', '0', '11', 'null', [], {}, [null], { id: '1' }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 64 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 16 }).map((s) => `${s}\u0000${s}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 1_300_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }).map(nested) },
);

const pathArb = fc.array(fc.nat(), { minLength: 0, maxLength: 4 });
/** Half of the edits go inside `data`, the snapshots or the context, where a body can stay schema-valid. */
const underArb = fc.constantFrom('', '', '', 'data', 'data', 'data.device', 'snapshots.postchange', 'snapshots.prechange', 'request', 'context.unicop');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('drop' as const), under: underArb, path: pathArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), under: underArb, path: pathArb, value: valueArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      under: underArb,
      path: pathArb,
      key: fc.string({ unit: 'grapheme', maxLength: 12 }),
      value: valueArb,
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('fresh' as const), requestId: fc.uuid() }) },
);
const byteOpArb: fc.Arbitrary<ByteOp> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), keep: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('flip' as const),
      flips: fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('splice' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    }),
  },
);
const originArb: fc.Arbitrary<Origin> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.record({
      kind: fc.constant('fixture' as const),
      index: fc.nat(FIXTURES.length - 1),
      ops: fc.array(opArb, { minLength: 0, maxLength: 3 }),
      bytes: byteOpArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('random' as const),
      raw: fc.oneof(
        fc.uint8Array({ maxLength: 4096 }),
        fc.json().map((s) => new Uint8Array(Buffer.from(s))),
        fc.string({ unit: 'grapheme', maxLength: 512 }).map((s) => new Uint8Array(Buffer.from(s))),
      ),
    }),
  },
);
const caseArb: fc.Arbitrary<Case> = fc.record({
  origin: originArb,
  signing: fc.oneof({ weight: 10, arbitrary: fc.constant<Signing>('valid') }, { weight: 1, arbitrary: fc.constantFrom<Signing>('none', 'retired', 'garbage') }),
  garbage: fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 160 }), fc.stringMatching(/^[0-9a-f]{0,130}$/)),
  contentType: fc.oneof(
    { weight: 15, arbitrary: fc.constant('application/json') },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        undefined,
        '',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/cloudevents+json',
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'application/jsonp',
        'application/json; charset=utf-16',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }) },
  ),
  contentEncoding: fc.oneof({ weight: 20, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity') }),
});

/** The node the path leads to, with its parent and key (stops early at a leaf or an empty container). */
function locate(root: Json, path: number[]): { parent: Record<string, Json> | Json[]; key: string | number } | null {
  let parent: Record<string, Json> | Json[] | null = null;
  let key: string | number = '';
  let node = root;
  for (const step of path) {
    if (node === null || typeof node !== 'object') break;
    const container = node as Record<string, Json> | Json[];
    const keys = Array.isArray(container) ? container.map((_, i) => i) : Object.keys(container);
    if (keys.length === 0) break;
    key = keys[step % keys.length] as string | number;
    parent = container;
    node = (container as Record<string | number, Json>)[key];
  }
  return parent ? { parent, key } : null;
}

function apply(body: Record<string, Json>, op: Op): void {
  if (op.kind === 'fresh') {
    if (body.request && typeof body.request === 'object') (body.request as Record<string, Json>).id = op.requestId;
    if ('request_id' in body) body.request_id = op.requestId;
    return;
  }
  let base: Json = body;
  for (const k of op.under ? op.under.split('.') : []) {
    const next = base !== null && typeof base === 'object' ? (base as Record<string, Json>)[k] : undefined;
    if (next === null || typeof next !== 'object') break;
    base = next;
  }
  const at = locate(base, op.path);
  if (op.kind === 'insert') {
    const target = at ? (at.parent as Record<string | number, Json>)[at.key] : base;
    if (Array.isArray(target)) target.push(op.value);
    else if (target !== null && typeof target === 'object') (target as Record<string, Json>)[op.key] = op.value;
    else if (at) (at.parent as Record<string | number, Json>)[at.key] = { [op.key]: op.value };
    return;
  }
  if (!at) return;
  if (op.kind === 'drop') {
    if (Array.isArray(at.parent)) at.parent.splice(Number(at.key), 1);
    else delete at.parent[String(at.key)];
  } else {
    (at.parent as Record<string | number, Json>)[at.key] = op.value;
  }
}

function bytesOf(origin: Origin): Buffer {
  if (origin.kind === 'random') return Buffer.from(origin.raw);
  const body = structuredClone(FIXTURES[origin.index]?.body ?? {}) as Record<string, Json>;
  for (const op of origin.ops) apply(body, op);
  const raw = Buffer.from(JSON.stringify(body));
  const pos = (f: number): number => Math.min(raw.length - 1, Math.floor(f * raw.length));
  switch (origin.bytes.kind) {
    case 'none':
      return raw;
    case 'truncate':
      return raw.subarray(0, Math.floor(origin.bytes.keep * raw.length));
    case 'flip':
      for (const f of origin.bytes.flips) raw[pos(f.at)] = (raw[pos(f.at)] ?? 0) ^ f.xor;
      return raw;
    case 'splice':
      return Buffer.concat([raw.subarray(0, pos(origin.bytes.at)), Buffer.from(origin.bytes.bytes), raw.subarray(pos(origin.bytes.at))]);
  }
}

function signatureOf(c: Case, raw: Buffer): string | undefined {
  switch (c.signing) {
    case 'valid':
      return sign(raw, TEST_SECRET);
    case 'retired':
      return sign(raw, RETIRED_SECRET);
    case 'garbage':
      return c.garbage;
    case 'none':
      return undefined;
  }
}

describe(`fuzz: ${RUNS} mutated and random webhook bodies through a real receiver`, function () {
  this.timeout(Math.max(180_000, RUNS * 200));
  let t: TestReceiver;
  let server: Awaited<ReturnType<typeof listen>>;
  const accepted = new Set<string>();
  let kept = 0;
  const seen = new Map<string, number>();

  before(async () => {
    t = startTestReceiver();
    server = await listen(t.receiver.app);
  });
  after(async () => {
    await server?.close();
    await t?.close();
  });

  async function post(raw: Buffer, headers: Record<string, string | undefined>): Promise<{ status: number; retryAfter: string | null; text: string }> {
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = v;
    const res = await fetch(`${server.url}/v1/netbox/webhooks`, { method: 'POST', headers: h, body: raw });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), text: await res.text() };
  }

  /** The properties every answer must have; counts new accepts and kept rejects. */
  function check(c: Case | null, res: { status: number; retryAfter: string | null; text: string }): void {
    const where = `answer ${res.status} ${res.text.slice(0, 300)}`;
    if (res.status >= 500) {
      assert.equal(res.status, 503, `no 5xx but 503: ${where}`);
      assert.ok(res.retryAfter && Number(res.retryAfter) > 0, `503 without Retry-After: ${where}`);
    }
    const body = JSON.parse(res.text) as Record<string, unknown>;
    if (res.status >= 200 && res.status < 300) {
      assert.ok(c === null || c.signing === 'valid', `a body without a valid signature was stored: ${where}`);
      assert.ok((res.status === 202 && body.result === 'accepted') || (res.status === 200 && body.result === 'duplicate'), where);
      if (body.result === 'accepted') accepted.add(String(body.id));
      seen.set(`${res.status} ${String(body.result)}`, (seen.get(`${res.status} ${String(body.result)}`) ?? 0) + 1);
      return;
    }
    assert.deepEqual(Object.keys(body), ['error'], `error body shape: ${where}`);
    const error = body.error as { code: unknown; message: unknown; details: unknown };
    assert.deepEqual(Object.keys(error).sort(), ['code', 'details', 'message'], `error body shape: ${where}`);
    assert.ok(typeof error.code === 'string' && KNOWN_CODES.has(error.code), `unknown code: ${where}`);
    assert.equal(typeof error.message, 'string', where);
    assert.ok(Array.isArray(error.details), where);
    assert.equal(ERROR_CODES[error.code as keyof typeof ERROR_CODES].httpStatus, res.status, `status of ${String(error.code)}: ${where}`);
    if (/^UNICOP_(VALIDATE|NORMALIZE)_/.test(String(error.code))) {
      assert.ok(c === null || c.signing === 'valid', `an unauthenticated body reached validation: ${where}`);
      kept++;
    }
    seen.set(`${res.status} ${String(error.code)}`, (seen.get(`${res.status} ${String(error.code)}`) ?? 0) + 1);
  }

  it('never answers 5xx (but 503 + Retry-After), always with a catalogue error body; memory stays flat', async () => {
    // warm-up: every fixture once, as NetBox sends it (loads the schemas, fills caches)
    for (const f of FIXTURES) {
      check(null, await post(f.raw, { 'content-type': 'application/json', 'x-hook-signature': sign(f.raw, TEST_SECRET) }));
    }
    gc();
    const before = process.memoryUsage();
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const raw = bytesOf(c.origin);
        const res = await post(raw, {
          'content-type': c.contentType,
          'content-encoding': c.contentEncoding,
          'x-hook-signature': signatureOf(c, raw),
        });
        check(c, res);
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
    gc();
    const after = process.memoryUsage();
    const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
    console.log(
      `      answers: ${[...seen]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ×${v}`)
        .join(', ')}`,
    );
    console.log(
      `      after a full GC: heapUsed ${mib(before.heapUsed)} → ${mib(after.heapUsed)}, arrayBuffers ${mib(before.arrayBuffers)} → ${mib(after.arrayBuffers)}; ` +
        `rss ${mib(before.rss)} → ${mib(after.rss)} (not asserted: allocator high-water mark of the 1 MB bodies)`,
    );
    assert.ok(after.heapUsed - before.heapUsed < HEAP_GROWTH_LIMIT, `heap grew by ${mib(after.heapUsed - before.heapUsed)} over ${RUNS} cases`);
    assert.ok(
      after.arrayBuffers - before.arrayBuffers < HEAP_GROWTH_LIMIT,
      `buffers grew by ${mib(after.arrayBuffers - before.arrayBuffers)} over ${RUNS} cases`,
    );
  });

  it('published exactly the accepted events, and kept every authenticated reject', async () => {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200, 'the receiver still answers');
    await waitFor(() => t.receiver.store.depth() === 0, 60_000, 'outbox drained');
    // at-least-once: a batch the relay had to resend may leave a second copy of an id; ids must match exactly
    const events = await consume(t.topics.events, accepted.size, { timeoutMs: 60_000, settleMs: 1000 });
    const published = new Set(events.map((m) => String(m.value.id)));
    assert.deepEqual(
      [...published].filter((id) => !accepted.has(id)),
      [],
      'only events answered 202 were published (nothing for a rejected body)',
    );
    assert.deepEqual(
      [...accepted].filter((id) => !published.has(id)),
      [],
      'every event answered 202 was published',
    );
    const notices = await consume(t.topics.rejected, kept, { timeoutMs: 60_000, settleMs: 1000 });
    assert.equal(new Set(notices.map((m) => String(m.value.id))).size, kept, 'every authenticated reject is on the rejected topic, once');
    console.log(
      `      ${accepted.size} accepted → ${published.size} ids published (${events.length - published.size} extra copies); ` +
        `${kept} authenticated rejects → ${notices.length} notices`,
    );
  });

  it('still accepts a fresh valid webhook afterwards', async () => {
    const body = structuredClone(FIXTURES.find((f) => f.version === '4.7' && f.action === 'updated')?.body) as Record<string, Json> & {
      request: Record<string, Json>;
    };
    body.request.id = randomUUID();
    const raw = Buffer.from(JSON.stringify(body));
    const res = await post(raw, { 'content-type': 'application/json', 'x-hook-signature': sign(raw, TEST_SECRET) });
    assert.equal(res.status, 202, res.text);
  });
});
