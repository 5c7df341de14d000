import { createHmac, timingSafeEqual } from 'node:crypto';
import { UnicopError } from '../../errors.js';

export const SIGNATURE_HEADER = 'x-hook-signature';
const HEX_SHA512 = /^[0-9a-f]{128}$/i;

export type Verifier = (raw: Buffer, signature: string | undefined) => void;

/**
 * NetBox signs the exact body bytes: hex HMAC-SHA512 keyed with the webhook secret
 * (`netbox/extras/webhooks.py generate_signature`). Any configured secret may match, so a secret
 * can be rotated: add the new one, switch NetBox, remove the old one.
 * Comparison is constant-time over the digest bytes.
 */
export function createVerifier(secrets: readonly string[]): Verifier {
  const keys = secrets.map((s) => Buffer.from(s, 'utf8'));
  return (raw, signature) => {
    if (signature === undefined || signature === '') {
      throw new UnicopError('UNICOP_VERIFY_SIGNATURE_MISSING', 'X-Hook-Signature header is missing');
    }
    if (!HEX_SHA512.test(signature)) {
      throw new UnicopError('UNICOP_VERIFY_SIGNATURE_MALFORMED', 'X-Hook-Signature must be 128 hex characters (HMAC-SHA512)');
    }
    const given = Buffer.from(signature, 'hex');
    let matched = false;
    for (const key of keys) {
      // No early exit: the time taken does not tell which secret matched.
      matched = timingSafeEqual(createHmac('sha512', key).update(raw).digest(), given) || matched;
    }
    if (!matched) {
      throw new UnicopError('UNICOP_VERIFY_SIGNATURE_MISMATCH', 'X-Hook-Signature does not match any configured secret');
    }
  };
}

/** Development mode (`UNICOP_INSECURE_NO_SIGNATURE=1` and no secret): every body passes. */
export const acceptUnsigned: Verifier = () => undefined;

/** What NetBox would send for `raw` under `secret`; used by tests, the README example and tools. */
export function sign(raw: Buffer | string, secret: string): string {
  return createHmac('sha512', secret).update(raw).digest('hex');
}
