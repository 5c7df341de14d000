/**
 * Who is calling the /v1 API, once authenticated: a person from the identity provider (with the
 * groups its token names), a service token of the IAM policy, or — without a policy — one of
 * `UNICOP_API_TOKENS`, named by its fingerprint.
 */
export type Principal = { kind: 'user'; name: string; groups: readonly string[] } | { kind: 'token'; name: string } | { kind: 'static'; fingerprint: string };

/** The principal as audit messages, `requestedBy` and `actor.principal` name it; never a secret. */
export function principalId(p: Principal): string {
  if (p.kind === 'user') return `user:${p.name}`;
  if (p.kind === 'token') return `token:${p.name}`;
  return p.fingerprint;
}

/** The audit key of a caller that could not be authenticated (any bad or missing credential). */
export const ANONYMOUS = 'anonymous';
