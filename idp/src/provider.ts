/**
 * The configured oidc-provider: static clients, the users file as accounts, JWT access tokens for the receiver's
 * audience (RFC 8707 resource indicators) and consent granted by the provider itself for its own clients.
 * Model: panva/node-oidc-provider's example and docs/README.md (v8).
 */
import Provider, { errors, type KoaContext, type TokenLike } from 'oidc-provider';
import { claimsOf, type User } from './accounts.js';
import type { PrivateJwks } from './keys.js';
import type { Clients } from './setup.js';
import type { Settings } from './settings.js';

export interface ProviderInput {
  settings: Settings;
  keys: PrivateJwks;
  users: User[];
  clients: Clients;
  cookieKeys: string[];
}

const OIDC_SCOPES = 'openid offline_access profile email groups';
/** The one scope the receiver's resource server knows; what a caller may do comes from the IAM policy. */
export const API_SCOPE = 'unicop';

export function buildProvider({ settings, keys, users, clients, cookieKeys }: ProviderInput): Provider {
  const byName = new Map(users.map((u) => [u.username, u]));
  const { audience } = settings;

  const provider = new Provider(settings.issuer, {
    clients: [
      {
        // NetBox (social-auth) reads the user from the userinfo endpoint, so its access token stays opaque
        client_id: clients.netbox.clientId,
        client_secret: clients.netbox.clientSecret,
        redirect_uris: settings.netboxUrls.map((u) => `${u}/oauth/complete/oidc/`),
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        // a person at a terminal (and the tests): public, PKCE, any loopback port (RFC 8252 §7.3)
        client_id: clients.cli.clientId,
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
      {
        client_id: clients.machine.clientId,
        client_secret: clients.machine.clientSecret,
        redirect_uris: [],
        grant_types: ['client_credentials'],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: keys,
    cookies: { keys: cookieKeys },
    scopes: OIDC_SCOPES.split(' '),
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    // the ID token carries the scope's claims too, not only userinfo (the code flow would leave them out)
    conformIdTokenClaims: false,
    findAccount: (_ctx: unknown, sub: string) => {
      const user = byName.get(sub);
      return user && { accountId: user.username, claims: () => claimsOf(user) };
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        // the NetBox client asks for an access token for userinfo; every other client gets the API's JWT
        useGrantedResource: (ctx: KoaContext) => ctx.oidc.client?.clientId !== clients.netbox.clientId,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource !== audience) throw new errors.InvalidTarget();
          return { scope: API_SCOPE, audience, accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    extraTokenClaims: (_ctx: unknown, token: TokenLike) => {
      const user = token.accountId ? byName.get(token.accountId) : undefined;
      return user ? { preferred_username: user.username, groups: user.groups } : undefined;
    },
    loadExistingGrant: async (ctx: KoaContext) => {
      const { client, session, result } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (existing) return existing;
      // every client here is configured by this program: consent is the provider's to give
      return ctx.oidc.provider.Grant.find(await grantEverything(ctx.oidc.provider, client.clientId, session.accountId, audience));
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600, RefreshToken: 86400, ClientCredentials: 600 },
    // refresh tokens for the CLI client when it asks for offline_access
    issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }, code: { scopes: Set<string> }) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    renderError: (ctx: KoaContext, out: Record<string, string>) => {
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `error: ${out.error ?? 'unknown'}\n${out.error_description ?? ''}\n`;
    },
  });
  return provider;
}

/** Saves a grant of every scope this provider knows to `clientId` for `accountId`; resolves with its id. */
export async function grantEverything(provider: Provider, clientId: string, accountId: string, audience: string, grantId?: string): Promise<string> {
  const grant = (grantId && (await provider.Grant.find(grantId))) || new provider.Grant({ clientId, accountId });
  grant.addOIDCScope(OIDC_SCOPES);
  grant.addResourceScope(audience, API_SCOPE);
  return grant.save();
}
