import { errors } from 'jose';
import { UnicopError, type ErrorCode } from '../errors.js';

/**
 * One 401 code per kind of bad token (docs/errors.md), so a caller can tell a clock problem from a
 * wrong audience. Messages are fixed strings: never the token, its claims or jose's own text (which
 * may quote a claim value).
 */
export function tokenError(error: unknown): UnicopError {
  const [code, message] = classify(error);
  return new UnicopError(code, message);
}

function classify(error: unknown): [ErrorCode, string] {
  if (error instanceof errors.JWTExpired) return ['UNICOP_API_TOKEN_EXPIRED', 'the token has expired'];
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return ['UNICOP_API_TOKEN_NOT_YET_VALID', 'the token is not valid yet'];
    if (error.claim === 'iss') return ['UNICOP_API_TOKEN_ISSUER', 'the token is from another issuer'];
    if (error.claim === 'aud') return ['UNICOP_API_TOKEN_AUDIENCE', 'the token is for another audience'];
    return ['UNICOP_API_TOKEN_INVALID', `the token's ${error.claim} claim is missing or unusable`];
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return ['UNICOP_API_TOKEN_ALGORITHM', 'the token is not signed with an allowed asymmetric algorithm'];
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return ['UNICOP_API_TOKEN_KEY_UNKNOWN', "no key of the provider's key set matches the token"];
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || !(error instanceof errors.JOSEError) || error.code === 'ERR_JOSE_GENERIC') {
    // Anything not from jose's checks is the key set fetch itself failing (fetch's TypeError, a non-200 answer: jose's generic error).
    return ['UNICOP_API_OIDC_UNAVAILABLE', "the identity provider's key set could not be fetched"];
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return ['UNICOP_API_TOKEN_INVALID', 'the token signature does not verify'];
  return ['UNICOP_API_TOKEN_INVALID', 'the token is malformed'];
}
