import { strict as assert } from 'node:assert';
import { MAX_JSON_DEPTH, parseJson } from '../../../src/pipeline/validate/parse-json.js';
import { UnicopError } from '../../../src/errors.js';

function codeOf(raw: Buffer): string | undefined {
  try {
    parseJson(raw);
    return undefined;
  } catch (error) {
    assert.ok(error instanceof UnicopError);
    return error.code;
  }
}

describe('parse-json', () => {
  it('parses an object', () => {
    assert.deepEqual(parseJson(Buffer.from('{"a":[1,{"b":"}"}]}')), { a: [1, { b: '}' }] });
  });
  it('refuses truncated and non-JSON bodies', () => {
    assert.equal(codeOf(Buffer.from('{"event": "crea')), 'UNICOP_VALIDATE_MALFORMED_JSON');
    assert.equal(codeOf(Buffer.from('event=created')), 'UNICOP_VALIDATE_MALFORMED_JSON');
    assert.equal(codeOf(Buffer.alloc(0)), 'UNICOP_VALIDATE_MALFORMED_JSON');
  });
  it('refuses invalid UTF-8 instead of replacing it', () => {
    assert.equal(codeOf(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), 'UNICOP_VALIDATE_MALFORMED_JSON');
  });
  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} and accepts exactly that depth`, () => {
    const nested = (n: number) => Buffer.from('['.repeat(n) + ']'.repeat(n));
    assert.equal(codeOf(nested(MAX_JSON_DEPTH)), undefined);
    assert.equal(codeOf(nested(MAX_JSON_DEPTH + 1)), 'UNICOP_VALIDATE_TOO_DEEP');
    assert.equal(codeOf(Buffer.from('['.repeat(100_000))), 'UNICOP_VALIDATE_TOO_DEEP');
  });
  it('does not count brackets inside strings, escaped quotes included', () => {
    const s = JSON.stringify({ s: '[[[[\\"'.repeat(100) });
    assert.equal(codeOf(Buffer.from(s)), undefined);
  });
});
