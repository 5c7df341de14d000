/**
 * `Authorization: <scheme> <credentials>` as RFC 7235 §2.1 defines it, for the one-credential schemes
 * the receiver takes (Bearer, RFC 6750; Basic, RFC 7617): the scheme is case-insensitive, one or more
 * spaces separate it from the credentials, and the credentials are one run of visible characters —
 * anything after them (`Bearer <token> junk`) makes the header unusable rather than ignored.
 */
const HEADER = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) +([\x21-\x7e]{1,4096})$/;

export interface Authorization {
  /** Lower case: `bearer`, `basic`, … */
  scheme: string;
  credentials: string;
}

export function parseAuthorization(header: string | undefined): Authorization | null {
  const m = header === undefined ? null : HEADER.exec(header);
  if (!m?.[1] || !m[2]) return null;
  return { scheme: m[1].toLowerCase(), credentials: m[2] };
}
