import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload } from 'jose';
import { UnicopError } from '../errors.js';
import { tokenError } from './jose-errors.js';
import type { Principal } from './principal.js';

/**
 * Asymmetric algorithms only (RFC 7518 §3, RFC 8037): `none` and HS* are never taken, so a token
 * "signed" with the provider's public key as an HMAC secret fails before any key is looked at.
 */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
/** Seconds of clock difference tolerated on `exp`, `nbf` and `iat` between the provider and the receiver. */
export const CLOCK_SKEW_S = 30;
/** After a failed discovery, calls answer 503 for this long before it is tried again (a down provider is not hammered). */
const DISCOVERY_RETRY_MS = 10_000;

export interface OidcOptions {
  issuer: string;
  audience: string;
  /** `UNICOP_OIDC_JWKS_URL`; null: discovered from the issuer on first use. */
  jwksUrl: string | null;
  discover: (issuer: string) => Promise<string>;
  groupsClaim: string;
  usernameClaim: string;
  /** Counted as `unicop_oidc_jwks_fetches_total`. */
  onJwksFetch: () => void;
  /**
   * Least time between two key set fetches (jose's cooldown, default 30 s): a token with an unknown
   * `kid` refetches at most this often, so a storm of made-up kids cannot make the receiver hammer the provider.
   */
  cooldownMs?: number;
  now?: () => number;
}

export type OidcVerifier = (jwt: string) => Promise<Principal>;

/** One verifier built at start-up; the key set is cached and refreshed by jose (`createRemoteJWKSet`). */
export function createOidcVerifier(o: OidcOptions): OidcVerifier {
  const now = o.now ?? Date.now;
  let keys: ReturnType<typeof createRemoteJWKSet> | null = o.jwksUrl === null ? null : keySet(o.jwksUrl);
  let discovering: Promise<void> | null = null;
  let failedAt = -Infinity;

  function keySet(url: string): ReturnType<typeof createRemoteJWKSet> {
    return createRemoteJWKSet(new URL(url), {
      cooldownDuration: o.cooldownMs ?? 30_000,
      timeoutDuration: 5_000,
      [customFetch]: (input, init) => {
        o.onJwksFetch();
        return fetch(input, init);
      },
    });
  }

  async function resolveKeys(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (keys) return keys;
    if (now() - failedAt < DISCOVERY_RETRY_MS) throw unavailable();
    discovering ??= o.discover(o.issuer).then(
      (url) => {
        keys = keySet(url);
      },
      (cause: unknown) => {
        failedAt = now();
        discovering = null;
        throw unavailable(cause);
      },
    );
    await discovering;
    return keys as unknown as ReturnType<typeof createRemoteJWKSet>;
  }

  return async (jwt) => {
    const jwks = await resolveKeys();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, jwks, {
        issuer: o.issuer,
        audience: o.audience,
        algorithms: [...ALLOWED_ALGORITHMS],
        clockTolerance: CLOCK_SKEW_S,
        // A token without an expiry would be good forever.
        requiredClaims: ['exp'],
        currentDate: new Date(now()),
      }));
    } catch (error) {
      throw tokenError(error);
    }
    return principalOf(payload, o.usernameClaim, o.groupsClaim);
  };
}

function principalOf(payload: JWTPayload, usernameClaim: string, groupsClaim: string): Principal {
  const name = payload[usernameClaim];
  if (typeof name !== 'string' || name.length < 1 || name.length > 150) {
    throw new UnicopError('UNICOP_API_TOKEN_INVALID', `the token names no user (claim ${usernameClaim})`);
  }
  const groups = payload[groupsClaim] ?? [];
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) {
    throw new UnicopError('UNICOP_API_TOKEN_INVALID', `the token's ${groupsClaim} claim is not a list of names`);
  }
  return { kind: 'user', name, groups };
}

function unavailable(cause?: unknown): UnicopError {
  return new UnicopError('UNICOP_API_OIDC_UNAVAILABLE', "the identity provider's discovery document could not be read", { cause });
}
