import { UnicopError } from '../errors.js';
import { parseAuthorization } from '../api/authorization-header.js';
import type { TokenCheck } from '../api/authenticate.js';
import type { AccessPolicy } from './access-policy.js';
import type { OidcVerifier } from './oidc-verifier.js';
import type { Principal } from './principal.js';

/** `header.payload.signature`, base64url each (RFC 7515 §7.1): the shape of a JWT, nothing verified yet. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export type Authenticate = (authorization: string | undefined) => Promise<Principal>;

/**
 * The /v1 bearer → principal. With an IAM policy: a JWT-shaped bearer goes to the OIDC verifier
 * (when OIDC is configured), anything else is looked up among the policy's service tokens. Without
 * one: `UNICOP_API_TOKENS`, all or nothing, exactly as before the policy existed.
 */
export function createBearerAuthenticator(
  mode: { kind: 'static'; check: TokenCheck } | { kind: 'policy'; policy: () => AccessPolicy; oidc: OidcVerifier | null },
): Authenticate {
  if (mode.kind === 'static') {
    return (authorization) => Promise.resolve({ kind: 'static', fingerprint: mode.check(authorization) });
  }
  return async (authorization) => {
    const parsed = parseAuthorization(authorization);
    if (parsed?.scheme !== 'bearer') throw new UnicopError('UNICOP_API_TOKEN_MISSING', 'Authorization: Bearer <token> is required');
    if (mode.oidc && JWT_SHAPE.test(parsed.credentials)) return mode.oidc(parsed.credentials);
    const name = mode.policy().tokenName(parsed.credentials);
    if (name === null) throw new UnicopError('UNICOP_API_TOKEN_INVALID', 'the bearer is not a service token of the IAM policy');
    return { kind: 'token', name };
  };
}
