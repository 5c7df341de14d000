import { strict as assert } from 'node:assert';
import { fixture, RETIRED_SECRET, signed, TEST_SECRET } from '../helpers/fixtures.js';
import { consume, topicSize } from '../helpers/kafka.js';
import { assertMatchesOpenapi } from '../helpers/openapi.js';
import { postRaw, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { sign } from '../../src/pipeline/verify/verify-signature.js';
import { waitFor } from '../helpers/wait-for.js';

type Body = Record<string, unknown>;
const base = (): Body & { data: Body } => structuredClone(fixture('4.7', 'dcim.interface', 'updated').body) as Body & { data: Body };

interface Case {
  name: string;
  raw: () => Buffer;
  /** Signature header: computed over the bytes with TEST_SECRET unless given. */
  signature?: (raw: Buffer) => string | undefined;
  contentType?: string;
  status: number;
  code: string;
}

const json = (value: unknown) => () => Buffer.from(JSON.stringify(value));
const withData = (patch: Body) => json({ ...base(), data: { ...base().data, ...patch } });
const without = (key: string) => json(Object.fromEntries(Object.entries(base()).filter(([k]) => k !== key)));

const CASES: Case[] = [
  { name: 'no signature', raw: json(base()), signature: () => undefined, status: 401, code: 'UNICOP_VERIFY_SIGNATURE_MISSING' },
  { name: 'empty signature', raw: json(base()), signature: () => '', status: 401, code: 'UNICOP_VERIFY_SIGNATURE_MISSING' },
  {
    name: 'wrong signature',
    raw: json(base()),
    signature: (r) => sign(Buffer.concat([r, Buffer.from(' ')]), TEST_SECRET),
    status: 401,
    code: 'UNICOP_VERIFY_SIGNATURE_MISMATCH',
  },
  {
    name: 'signature from a retired secret',
    raw: json(base()),
    signature: (r) => sign(r, RETIRED_SECRET),
    status: 401,
    code: 'UNICOP_VERIFY_SIGNATURE_MISMATCH',
  },
  { name: 'SHA-256 instead of SHA-512', raw: json(base()), signature: () => 'a'.repeat(64), status: 401, code: 'UNICOP_VERIFY_SIGNATURE_MALFORMED' },
  { name: 'non-hex signature', raw: json(base()), signature: () => 'g'.repeat(128), status: 401, code: 'UNICOP_VERIFY_SIGNATURE_MALFORMED' },
  {
    name: 'sha512= prefixed signature',
    raw: json(base()),
    signature: (r) => `sha512=${sign(r, TEST_SECRET)}`,
    status: 401,
    code: 'UNICOP_VERIFY_SIGNATURE_MALFORMED',
  },
  { name: 'unsigned garbage', raw: () => Buffer.from('not json at all'), signature: () => undefined, status: 401, code: 'UNICOP_VERIFY_SIGNATURE_MISSING' },
  { name: 'truncated JSON', raw: () => Buffer.from(JSON.stringify(base()).slice(0, 200)), status: 400, code: 'UNICOP_VALIDATE_MALFORMED_JSON' },
  { name: 'non-JSON text', raw: () => Buffer.from('event=created&id=1'), status: 400, code: 'UNICOP_VALIDATE_MALFORMED_JSON' },
  { name: 'empty body', raw: () => Buffer.alloc(0), status: 400, code: 'UNICOP_VALIDATE_MALFORMED_JSON' },
  { name: 'invalid UTF-8', raw: () => Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]), status: 400, code: 'UNICOP_VALIDATE_MALFORMED_JSON' },
  { name: 'wrong content type', raw: json(base()), contentType: 'text/plain', status: 415, code: 'UNICOP_INGEST_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'form content type', raw: json(base()), contentType: 'application/x-www-form-urlencoded', status: 415, code: 'UNICOP_INGEST_UNSUPPORTED_MEDIA_TYPE' },
  {
    name: 'body over the limit',
    raw: () => Buffer.from(JSON.stringify({ ...base(), pad: 'x'.repeat(70_000) })),
    status: 413,
    code: 'UNICOP_INGEST_BODY_TOO_LARGE',
  },
  { name: 'a JSON array', raw: json([base()]), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'a JSON string', raw: json('created'), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'JSON null', raw: json(null), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  {
    name: 'no data.id',
    raw: json({ ...base(), data: Object.fromEntries(Object.entries(base().data).filter(([k]) => k !== 'id')) }),
    status: 400,
    code: 'UNICOP_VALIDATE_SCHEMA',
  },
  { name: 'data.id as a string', raw: withData({ id: '11' }), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'data.id zero', raw: withData({ id: 0 }), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'data.id negative', raw: withData({ id: -4 }), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'data not an object', raw: json({ ...base(), data: [1, 2] }), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'unknown event', raw: json({ ...base(), event: 'renamed' }), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'job event (out of scope)', raw: json({ ...base(), event: 'job_ended' }), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'event as a number', raw: json({ ...base(), event: 1 }), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'no object_type', raw: without('object_type'), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'malformed object_type', raw: json({ ...base(), object_type: 'DCIM/Device' }), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'no timestamp', raw: without('timestamp'), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'timestamp not a date', raw: json({ ...base(), timestamp: 'yesterday' }), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'snapshots not an object', raw: json({ ...base(), snapshots: 'none' }), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'unknown top-level key', raw: json({ ...base(), injected: true }), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'bad context.unicop root', raw: json({ ...base(), context: { unicop: { root: 'device 42; drop' } } }), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  { name: 'very long object_type', raw: json({ ...base(), object_type: `dcim.${'a'.repeat(5000)}` }), status: 400, code: 'UNICOP_VALIDATE_SCHEMA' },
  {
    name: 'deeply nested JSON',
    raw: () => Buffer.from(JSON.stringify({ ...base(), data: { ...base().data, custom_fields: { x: JSON.parse('['.repeat(200) + ']'.repeat(200)) } } })),
    status: 400,
    code: 'UNICOP_VALIDATE_TOO_DEEP',
  },
];

describe(`bad inputs (${CASES.length} cases): status, code, and nothing published`, function () {
  this.timeout(60_000);
  let t: TestReceiver;
  let authenticatedRejects = 0;
  before(() => {
    t = startTestReceiver({ UNICOP_MAX_BODY_BYTES: '65536' });
  });
  after(async () => {
    await t.close();
  });

  for (const c of CASES) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const raw = c.raw();
      const signature = c.signature ? c.signature(raw) : sign(raw, TEST_SECRET);
      const res = await postRaw(t, raw, { 'content-type': c.contentType ?? 'application/json', 'x-hook-signature': signature });
      assert.equal(res.status, c.status, JSON.stringify(res.body));
      assert.equal(res.body.error.code, c.code);
      assertMatchesOpenapi('POST', '/v1/netbox/webhooks', res);
      if (c.code === 'UNICOP_VALIDATE_SCHEMA') assert.ok(res.body.error.details.length > 0, 'schema errors name a pointer');
      if (c.status === 400) authenticatedRejects++;
    });
  }

  it('publishes no event for any of them; authenticated ones are kept on the rejected topic', async () => {
    const rejected = await consume(t.topics.rejected, authenticatedRejects, { timeoutMs: 20_000 });
    assert.equal(rejected.length, authenticatedRejects);
    for (const r of rejected) {
      assert.equal(r.value.type, 'unicop.webhook.rejected');
      assert.match(String((r.value.data as { code: string }).code), /^UNICOP_VALIDATE_/);
    }
    await waitFor(() => t.receiver.store.depth() === 0, 10_000, 'outbox drained');
    assert.equal(await topicSize(t.topics.events), 0, 'no domain event was published');
  });

  it('accepts an object type the policy does not know, as its own root', async () => {
    const { raw, signature } = signed({ ...base(), object_type: 'netbox_dns.zone', data: { ...base().data, id: 77 } });
    const res = await postRaw(t, raw, { 'content-type': 'application/json', 'x-hook-signature': signature });
    assert.equal(res.status, 202);
    assert.equal(res.body.root, 'netbox_dns.zone:77');
  });

  it('answers unknown routes with 404 and an error code', async () => {
    const res = await t.http.get('/v1/nothing');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'UNICOP_HTTP_NOT_FOUND');
  });
});
