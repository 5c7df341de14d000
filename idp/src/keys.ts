/** RS256 signing keys as a private JWKS; the kid is the key's RFC 7638 thumbprint. */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

export interface PrivateJwks {
  keys: JWK[];
}

/** At most this many keys stay published: a rotation drops the oldest beyond it. */
export const MAX_KEYS = 3;

export async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'RS256', use: 'sig' };
}

/** The new key goes first: oidc-provider signs with the first key of an algorithm, verifiers still find the old one. */
export async function rotate(jwks: PrivateJwks): Promise<PrivateJwks> {
  return { keys: [await newSigningKey(), ...jwks.keys].slice(0, MAX_KEYS) };
}
