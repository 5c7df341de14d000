import { createHmac, timingSafeEqual } from 'node:crypto';
import { UnicopError } from '../../errors.js';

export const SIGNATURE_HEADER = 'x-hook-signature';
const HEX_SHA512 = /^[0-9a-f]{128}$/i;

/** Checks a body's signature; returns the index of the source whose secret signed it. */
export type Verifier = (raw: Buffer, signature: string | undefined) => number;

/**
 * NetBox signs the exact body bytes: hex HMAC-SHA512 keyed with the webhook secret
 * (`netbox/extras/webhooks.py generate_signature`). Any configured secret may match, so a secret
 * can be rotated: add the new one, switch NetBox, remove the old one. With several sources the
 * secret that matched names the source (the federation file refuses a secret shared by two).
 * Comparison is constant-time over the digest bytes, and every secret is tried.
 */
export function createSourceVerifier(sources: readonly { secrets: readonly string[] }[]): Verifier {
  const keys = sources.flatMap((source, index) => source.secrets.map((s) => ({ key: Buffer.from(s, 'utf8'), index })));
  return (raw, signature) => {
    if (signature === undefined || signature === '') {
      throw new UnicopError('UNICOP_VERIFY_SIGNATURE_MISSING', 'X-Hook-Signature header is missing');
    }
    if (!HEX_SHA512.test(signature)) {
      throw new UnicopError('UNICOP_VERIFY_SIGNATURE_MALFORMED', 'X-Hook-Signature must be 128 hex characters (HMAC-SHA512)');
    }
    const given = Buffer.from(signature, 'hex');
    let matched = -1;
    for (const { key, index } of keys) {
      // No early exit: the time taken does not tell which secret matched.
      const equal = timingSafeEqual(createHmac('sha512', key).update(raw).digest(), given);
      if (equal && matched === -1) matched = index;
    }
    if (matched === -1) {
      throw new UnicopError('UNICOP_VERIFY_SIGNATURE_MISMATCH', 'X-Hook-Signature does not match any configured secret');
    }
    return matched;
  };
}

/** One source's secrets (UNICOP_WEBHOOK_SECRETS). */
export function createVerifier(secrets: readonly string[]): Verifier {
  return createSourceVerifier([{ secrets }]);
}

/** Development mode (`UNICOP_INSECURE_NO_SIGNATURE=1` and no secret): every body passes. */
export const acceptUnsigned: Verifier = () => 0;

/** What NetBox would send for `raw` under `secret`; used by tests, the README example and tools. */
export function sign(raw: Buffer | string, secret: string): string {
  return createHmac('sha512', secret).update(raw).digest('hex');
}
