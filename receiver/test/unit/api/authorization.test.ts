import { strict as assert } from 'node:assert';
import { createTokenCheck } from '../../../src/api/authenticate.js';
import { parseAuthorization } from '../../../src/api/authorization-header.js';
import { createNotifyCheck } from '../../../src/api/notify-auth.js';
import { UnicopError } from '../../../src/errors.js';

const TOKEN = 'unicop-unit-api-token-0123456789';
const NOTIFY = 'unicop-unit-notify-token-0123456789';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    assert.ok(error instanceof UnicopError, String(error));
    return error.code;
  }
}

describe('Authorization header (RFC 7235)', () => {
  it('reads the scheme in any case and one run of credentials, nothing after it', () => {
    assert.deepEqual(parseAuthorization('bEaReR abc.def'), { scheme: 'bearer', credentials: 'abc.def' });
    assert.deepEqual(parseAuthorization('Bearer   abc'), { scheme: 'bearer', credentials: 'abc' });
    for (const bad of [undefined, '', 'Bearer', 'Bearer ', 'Bearer abc junk', 'Bearer abc ', ' Bearer abc', 'Bearer\tabc']) {
      assert.equal(parseAuthorization(bad), null, JSON.stringify(bad));
    }
  });

  it('takes the roots API token with the Bearer scheme in any case, and refuses trailing junk', () => {
    const check = createTokenCheck([TOKEN]);
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) assert.match(check(`${scheme} ${TOKEN}`), /^token:[0-9a-f]{12}$/);
    assert.equal(
      codeOf(() => check(`Bearer ${TOKEN} junk`)),
      'UNICOP_API_TOKEN_MISSING',
    );
    assert.equal(
      codeOf(() => check(basic('x', TOKEN))),
      'UNICOP_API_TOKEN_MISSING',
    );
    assert.equal(
      codeOf(() => check('Bearer not-the-token')),
      'UNICOP_API_TOKEN_INVALID',
    );
  });

  it('takes an AWX notification with Bearer in any case, and refuses trailing junk', () => {
    const check = createNotifyCheck(NOTIFY, undefined);
    for (const scheme of ['Bearer', 'bearer'])
      assert.equal(
        codeOf(() => check(`${scheme} ${NOTIFY}`)),
        null,
      );
    assert.equal(
      codeOf(() => check(`Bearer ${NOTIFY} junk`)),
      'UNICOP_AWX_UNAUTHENTICATED',
    );
    assert.equal(
      codeOf(() => check(`Bearer ${NOTIFY}x`)),
      'UNICOP_AWX_UNAUTHENTICATED',
    );
  });

  it('takes HTTP Basic only with the configured user name and the notify token as password', () => {
    assert.equal(
      codeOf(() => createNotifyCheck(NOTIFY, undefined)(basic('awx', NOTIFY))),
      'UNICOP_AWX_UNAUTHENTICATED',
      'no user configured: Basic is refused',
    );
    const check = createNotifyCheck(NOTIFY, 'awx');
    assert.equal(
      codeOf(() => check(basic('awx', NOTIFY))),
      null,
    );
    assert.equal(
      codeOf(() => check(`basic ${Buffer.from(`awx:${NOTIFY}`).toString('base64')}`)),
      null,
    );
    assert.equal(
      codeOf(() => check(basic('anyone', NOTIFY))),
      'UNICOP_AWX_UNAUTHENTICATED',
    );
    assert.equal(
      codeOf(() => check(basic('', NOTIFY))),
      'UNICOP_AWX_UNAUTHENTICATED',
    );
    assert.equal(
      codeOf(() => check(basic('awx', 'wrong'))),
      'UNICOP_AWX_UNAUTHENTICATED',
    );
    assert.equal(
      codeOf(() => check(`Basic ${Buffer.from(NOTIFY).toString('base64')}`)),
      'UNICOP_AWX_UNAUTHENTICATED',
      'no colon',
    );
  });
});
