import { UnicopError } from '../errors.js';

/** NetBox's `User.username` is at most 150 characters (Django's AbstractUser). */
export const ON_BEHALF_OF_MAX = 150;
/** Raw header bound: every character of the name %-encoded as up to 4 UTF-8 bytes of 3 characters each. */
const RAW_MAX = ON_BEHALF_OF_MAX * 12;
/** Visible ASCII and space only: anything else must arrive %-encoded (HTTP header values are bytes, not text). */
const RAW = /^[\x20-\x7e]+$/;
/**
 * Control, format, surrogate, private-use and unassigned code points, and line/paragraph separators:
 * nothing a person's name needs and everything a log or page forger would use.
 */
const UNPRINTABLE = /[\p{C}\p{Zl}\p{Zp}]/u;

/**
 * The person a trusted caller (the NetBox plugin with its service token) acts for, from
 * `X-Unicop-On-Behalf-Of` (ARCHITECTURE.md, "Identity and access"): the NetBox username, UTF-8
 * %-encoded where it is not visible ASCII (`alice` and `a.b@c` pass as they are). Null when the
 * header is absent. Anything else than 1..150 printable characters without surrounding spaces is
 * `UNICOP_API_ON_BEHALF_OF_INVALID` (400): a name the receiver could not record faithfully is refused,
 * never cleaned up.
 */
export function readOnBehalfOf(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  const raw = Array.isArray(header) ? (header.length === 1 ? header[0]! : '') : header;
  let name: string | null = null;
  if (raw.length <= RAW_MAX && RAW.test(raw)) {
    try {
      name = decodeURIComponent(raw);
    } catch {
      name = null;
    }
  }
  const length = name === null ? 0 : [...name].length;
  if (name === null || length < 1 || length > ON_BEHALF_OF_MAX || UNPRINTABLE.test(name) || name.trim() !== name) {
    throw new UnicopError(
      'UNICOP_API_ON_BEHALF_OF_INVALID',
      `X-Unicop-On-Behalf-Of must be a user name of 1..${ON_BEHALF_OF_MAX} printable characters (UTF-8 %-encoded beyond visible ASCII), once`,
    );
  }
  return name;
}
