import { createHash, timingSafeEqual } from 'node:crypto';
import { UnicopError } from '../errors.js';

/**
 * AWX cannot sign its notifications, so they carry a static credential
 * (`UNICOP_AWX_NOTIFY_TOKEN`): either `Authorization: Bearer <token>` (a static header in the
 * notification template) or HTTP Basic with the token as password (the template's username and
 * password fields). Compared in constant time over SHA-256 digests.
 */
export function createNotifyCheck(token: string | undefined): (authorization: string | undefined) => void {
  const expected = token === undefined ? null : createHash('sha256').update(token).digest();
  return (authorization) => {
    if (expected === null) throw new UnicopError('UNICOP_AWX_DISABLED', 'AWX notifications are disabled: set UNICOP_AWX_NOTIFY_TOKEN');
    const presented = credentialOf(authorization);
    if (presented === null) throw new UnicopError('UNICOP_AWX_UNAUTHENTICATED', 'a Bearer or Basic credential is required');
    if (!timingSafeEqual(createHash('sha256').update(presented).digest(), expected)) {
      throw new UnicopError('UNICOP_AWX_UNAUTHENTICATED', 'the credential is not UNICOP_AWX_NOTIFY_TOKEN');
    }
  };
}

function credentialOf(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const [scheme, value] = authorization.split(' ', 2);
  if (!value) return null;
  if (scheme?.toLowerCase() === 'bearer') return value;
  if (scheme?.toLowerCase() !== 'basic') return null;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : decoded.slice(colon + 1);
}
