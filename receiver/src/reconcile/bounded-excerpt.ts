import { createHash } from 'node:crypto';

/** Bodies kept for operators (orphan notifications, poison records) keep this much of their bytes. */
export const EXCERPT_BYTES = 4 * 1024;

export interface BoundedExcerpt {
  bytes: number;
  sha256: string;
  truncated: boolean;
  /** The first `EXCERPT_BYTES` bytes as UTF-8 (a character cut at the end becomes U+FFFD). */
  excerpt: string;
}

/**
 * A fixed-size stand-in for an input of any size: enough to recognise it (the excerpt) and to
 * match it against a copy elsewhere (byte count and sha256), never the whole input — an
 * unauthenticated-sized input must not become an unbounded row or message.
 */
export function boundedExcerpt(raw: Buffer): BoundedExcerpt {
  return {
    bytes: raw.length,
    sha256: createHash('sha256').update(raw).digest('hex'),
    truncated: raw.length > EXCERPT_BYTES,
    excerpt: raw.subarray(0, EXCERPT_BYTES).toString('utf8'),
  };
}
