import { createHash, timingSafeEqual } from 'node:crypto';
import { UnicopError } from '../errors.js';
import { parseAuthorization } from './authorization-header.js';

/**
 * AWX cannot sign its notifications, so they carry a static credential
 * (`UNICOP_AWX_NOTIFY_TOKEN`): either `Authorization: Bearer <token>` (a static header in the
 * notification template) or HTTP Basic (the template's username and password fields) with the user
 * `UNICOP_AWX_NOTIFY_USER` and the token as password — Basic is refused while no user is configured,
 * so a template with any user name cannot pass. Compared in constant time over SHA-256 digests.
 */
export function createNotifyCheck(token: string | undefined, user: string | undefined): (authorization: string | undefined) => void {
  const expected = token === undefined ? null : digest(token);
  const expectedUser = user === undefined ? null : digest(user);
  return (authorization) => {
    if (expected === null) throw new UnicopError('UNICOP_AWX_DISABLED', 'AWX notifications are disabled: set UNICOP_AWX_NOTIFY_TOKEN');
    const parsed = parseAuthorization(authorization);
    if (parsed?.scheme === 'bearer') {
      if (!timingSafeEqual(digest(parsed.credentials), expected)) {
        throw new UnicopError('UNICOP_AWX_UNAUTHENTICATED', 'the credential is not UNICOP_AWX_NOTIFY_TOKEN');
      }
      return;
    }
    if (parsed?.scheme !== 'basic') throw new UnicopError('UNICOP_AWX_UNAUTHENTICATED', 'a Bearer or Basic credential is required');
    if (expectedUser === null) {
      throw new UnicopError('UNICOP_AWX_UNAUTHENTICATED', 'Basic credentials are refused: set UNICOP_AWX_NOTIFY_USER, or send Authorization: Bearer');
    }
    const decoded = Buffer.from(parsed.credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const userOk = timingSafeEqual(digest(colon < 0 ? '' : decoded.slice(0, colon)), expectedUser);
    const passwordOk = timingSafeEqual(digest(colon < 0 ? '' : decoded.slice(colon + 1)), expected);
    if (colon < 0 || !userOk || !passwordOk) {
      throw new UnicopError('UNICOP_AWX_UNAUTHENTICATED', 'the Basic credential is not UNICOP_AWX_NOTIFY_USER with UNICOP_AWX_NOTIFY_TOKEN');
    }
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
