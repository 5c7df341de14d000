import { strict as assert } from 'node:assert';
import express from 'express';
import supertest from 'supertest';
import { isUnicopError } from '../../../src/errors.js';
import { rawBodyOf, readBody } from '../../../src/pipeline/ingest/read-body.js';

/** A tiny app around the stage: echoes the byte count, or the error code. */
function app(limit: number) {
  const a = express();
  a.post('/', ...readBody(limit), (req, res) => {
    res.json({ bytes: rawBodyOf(req).length });
  });
  a.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(isUnicopError(err) ? err.httpStatus : 500).json({ code: isUnicopError(err) ? err.code : 'other' });
  });
  return supertest(a);
}

describe('ingest read-body', () => {
  it('keeps the exact bytes of a JSON body', async () => {
    const res = await app(1024).post('/').set('content-type', 'application/json; charset=utf-8').send('{"a": 1}');
    assert.deepEqual(res.body, { bytes: 8 });
  });
  it('accepts +json media types', async () => {
    assert.equal((await app(1024).post('/').set('content-type', 'application/vnd.netbox+json').send('{}')).status, 200);
  });
  it('refuses other media types with 415 before reading', async () => {
    for (const type of ['text/plain', 'application/jsonx', 'multipart/form-data; boundary=x']) {
      const res = await app(1024).post('/').set('content-type', type).send('{}');
      assert.deepEqual([res.status, res.body.code], [415, 'UNICOP_INGEST_UNSUPPORTED_MEDIA_TYPE'], type);
    }
  });
  it('refuses a body over the limit with 413', async () => {
    const res = await app(16)
      .post('/')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ pad: 'x'.repeat(64) }));
    assert.deepEqual([res.status, res.body.code], [413, 'UNICOP_INGEST_BODY_TOO_LARGE']);
  });
  it('refuses compressed bodies (the signature covers what was sent)', async () => {
    const res = await app(1024).post('/').set('content-type', 'application/json').set('content-encoding', 'gzip').send('{}');
    assert.deepEqual([res.status, res.body.code], [415, 'UNICOP_INGEST_UNSUPPORTED_MEDIA_TYPE']);
  });
});
