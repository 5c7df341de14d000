import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import { createVerifier, sign } from '../../../src/pipeline/verify/verify-signature.js';
import { UnicopError } from '../../../src/errors.js';

const raw = Buffer.from('{"event":"created"}');
const verify = createVerifier(['current-secret', 'next-secret']);

function code(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof UnicopError);
    return error.code;
  }
}

describe('verify-signature', () => {
  it('computes what NetBox sends: hex HMAC-SHA512 of the exact bytes', () => {
    assert.equal(sign(raw, 'current-secret'), createHmac('sha512', 'current-secret').update(raw).digest('hex'));
  });
  it('accepts a signature made with any configured secret (rotation)', () => {
    assert.equal(
      code(() => verify(raw, sign(raw, 'current-secret'))),
      undefined,
    );
    assert.equal(
      code(() => verify(raw, sign(raw, 'next-secret'))),
      undefined,
    );
  });
  it('accepts upper-case hex', () => {
    assert.equal(
      code(() => verify(raw, sign(raw, 'next-secret').toUpperCase())),
      undefined,
    );
  });
  it('refuses a missing or empty signature', () => {
    assert.equal(
      code(() => verify(raw, undefined)),
      'UNICOP_VERIFY_SIGNATURE_MISSING',
    );
    assert.equal(
      code(() => verify(raw, '')),
      'UNICOP_VERIFY_SIGNATURE_MISSING',
    );
  });
  it('refuses a signature that is not 128 hex characters', () => {
    assert.equal(
      code(() => verify(raw, 'abc')),
      'UNICOP_VERIFY_SIGNATURE_MALFORMED',
    );
    assert.equal(
      code(() => verify(raw, 'z'.repeat(128))),
      'UNICOP_VERIFY_SIGNATURE_MALFORMED',
    );
    assert.equal(
      code(() => verify(raw, sign(raw, 'current-secret') + '00')),
      'UNICOP_VERIFY_SIGNATURE_MALFORMED',
    );
  });
  it('refuses a signature from a retired secret or over other bytes', () => {
    assert.equal(
      code(() => verify(raw, sign(raw, 'retired-secret'))),
      'UNICOP_VERIFY_SIGNATURE_MISMATCH',
    );
    assert.equal(
      code(() => verify(Buffer.from('{"event":"deleted"}'), sign(raw, 'current-secret'))),
      'UNICOP_VERIFY_SIGNATURE_MISMATCH',
    );
  });
});
