import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/log.js';

describe('log', () => {
  it('redacts signature and authorization headers wherever they are logged', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    const log = createLogger('info', sink);
    log.info({ headers: { 'x-hook-signature': 'abc123', authorization: 'Bearer s3cret', 'content-type': 'application/json' } }, 'request');
    log.info({ req: { headers: { 'x-hook-signature': 'abc123' } } }, 'request');
    const text = lines.join('');
    assert.ok(!text.includes('abc123') && !text.includes('s3cret'), text);
    assert.ok(text.includes('[redacted]') && text.includes('application/json'));
  });
});
