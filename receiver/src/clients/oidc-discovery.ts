import got from 'got';
import { requestFailure } from './request-error.js';

/**
 * The provider's `jwks_uri` from `<issuer>/.well-known/openid-configuration` (OpenID Connect
 * Discovery 1.0 §4). The document must name the same issuer (§4.3: otherwise another provider's
 * keys could be trusted for this one's tokens). Throws a `ClientRequestError` (no headers kept) or an
 * Error saying what is wrong with the document.
 */
export async function discoverJwksUri(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let doc: { issuer?: unknown; jwks_uri?: unknown };
  try {
    doc = await got.get(url, { timeout: { request: 5_000 }, retry: { limit: 0 }, responseType: 'json' }).json();
  } catch (error) {
    throw requestFailure('oidc', 'GET', url, error);
  }
  if (doc.issuer !== issuer) throw new Error(`the discovery document names issuer ${JSON.stringify(doc.issuer)}, not ${issuer}`);
  if (typeof doc.jwks_uri !== 'string' || !/^https?:\/\//.test(doc.jwks_uri)) throw new Error('the discovery document has no http(s) jwks_uri');
  return doc.jwks_uri;
}
