import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/log.js';

function capture(secrets: string[] = []) {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
  return { log: createLogger('trace', sink, secrets), text: () => lines.join('') };
}

describe('log', () => {
  it('redacts signature and authorization headers wherever they are logged', () => {
    const { log, text } = capture();
    log.info({ headers: { 'x-hook-signature': 'abc123', authorization: 'Bearer s3cret', 'content-type': 'application/json' } }, 'request');
    log.info({ req: { headers: { 'x-hook-signature': 'abc123' } } }, 'request');
    assert.ok(!text().includes('abc123') && !text().includes('s3cret'), text());
    assert.ok(text().includes('[redacted]') && text().includes('application/json'));
  });

  it('writes no secret it was given, whatever object or message carries it, in plain, JSON-escaped or Basic form', () => {
    const token = 'nbt_MARKER0token.with"quote\\and-slash';
    const notify = 'MARKER1-notify-token-0123456789';
    const { log, text } = capture([token, notify]);
    // the shape of an HTTP client error: request options several levels deep, headers in an array
    const clientError = Object.assign(new Error(`GET failed with Token ${token}`), {
      options: { context: { deep: [{ headers: { Authorization: `Token ${token}` } }] } },
      cause: { config: { auth: token } },
    });
    log.warn({ err: clientError }, 'poll failed');
    for (const user of ['awx', 'ab', 'abcd', 'a-longer-user-name']) {
      log.debug({ header: `Basic ${Buffer.from(`${user}:${notify}`).toString('base64')}` }, 'notification');
    }
    log.error(`constant message that quotes ${notify} by mistake`);
    const written = text();
    assert.ok(written.length > 0);
    for (const marker of ['MARKER0', 'MARKER1', Buffer.from(notify).toString('base64').slice(2, 20)]) {
      assert.ok(!written.includes(marker), `${marker} reached the log:\n${written}`);
    }
    for (const user of ['awx', 'ab', 'abcd', 'a-longer-user-name']) {
      const encoded = Buffer.from(`${user}:${notify}`).toString('base64');
      assert.ok(!written.includes(encoded.slice(8, 32)), `the Basic form after ${user}: reached the log`);
    }
  });
});
