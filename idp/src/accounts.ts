/** The provider's users: generated passwords (scrypt-hashed on disk), e-mail and groups; `sub` is the user name. */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

export interface User {
  username: string;
  name: string;
  email: string;
  groups: string[];
  passwordHash: string;
}

/** Who exists on a fresh provider (idp/README.md documents them and what they are for). */
export const DEFAULT_USERS = [
  { username: 'alice', name: 'Alice Netops', groups: ['netops-emea'] },
  { username: 'bob', name: 'Bob Netops', groups: ['netops-amer'] },
  { username: 'carol', name: 'Carol Auditor', groups: ['auditors'] },
  { username: 'dave', name: 'Dave Nogroup', groups: [] },
] as const;

export const EMAIL_DOMAIN = 'example.net';

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64url')}$${scryptSync(password, salt, 32).toString('base64url')}`;
}

export function passwordMatches(user: User, password: string): boolean {
  const [kind, salt, hash] = user.passwordHash.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64url');
  const got = scryptSync(password, Buffer.from(salt, 'base64url'), want.length);
  return timingSafeEqual(want, got);
}

export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/** The claims a user's tokens and userinfo carry, per the scopes granted (oidc-provider filters them). */
export function claimsOf(user: User): Record<string, unknown> {
  return {
    sub: user.username,
    name: user.name,
    preferred_username: user.username,
    email: user.email,
    email_verified: true,
    groups: user.groups,
  };
}
