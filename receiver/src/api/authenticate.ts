import { createHash, timingSafeEqual } from 'node:crypto';
import { UnicopError } from '../errors.js';
import { parseAuthorization } from './authorization-header.js';

export type TokenCheck = (authorization: string | undefined) => string;

/** A name for a token that says which one without revealing it (logs, `requestedBy`). */
export function fingerprint(token: string): string {
  return `token:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;
}

/**
 * Service-token check for the /v1/roots API (`UNICOP_API_TOKENS`): `Authorization: Bearer <token>`
 * (scheme in any case), compared in constant time against the SHA-256 of each configured token
 * (equal lengths, so `timingSafeEqual` applies and the token's length leaks nothing). Returns the
 * caller's fingerprint.
 */
export function createTokenCheck(tokens: readonly string[]): TokenCheck {
  const digests = tokens.map((t) => ({ digest: createHash('sha256').update(t).digest(), name: fingerprint(t) }));
  return (authorization) => {
    if (digests.length === 0) {
      throw new UnicopError('UNICOP_API_DISABLED', 'the roots API is disabled: set UNICOP_API_TOKENS');
    }
    const parsed = parseAuthorization(authorization);
    if (parsed?.scheme !== 'bearer') throw new UnicopError('UNICOP_API_TOKEN_MISSING', 'Authorization: Bearer <token> is required');
    const given = createHash('sha256').update(parsed.credentials).digest();
    let caller: string | null = null;
    for (const { digest, name } of digests) {
      if (timingSafeEqual(digest, given)) caller = name;
    }
    if (caller === null) throw new UnicopError('UNICOP_API_TOKEN_INVALID', 'the bearer token is not one of UNICOP_API_TOKENS');
    return caller;
  };
}
