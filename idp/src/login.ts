/**
 * The login form: GET /interaction/:uid shows it, POST /interaction/:uid/login checks the user name and password
 * against the users file. A wrong password answers 401 with the form again; nothing else ever logs anyone in
 * (devInteractions, which accepts any name, stays off).
 */
import type Provider from 'oidc-provider';
import type { KoaContext } from 'oidc-provider';
import type { IncomingMessage } from 'node:http';
import { passwordMatches, type User } from './accounts.js';
import { grantEverything } from './provider.js';

const ROUTE = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/;
const MAX_FORM_BYTES = 8 * 1024;

export function loginMiddleware(provider: Provider, users: User[], audience: string): (ctx: KoaContext, next: () => Promise<void>) => Promise<void> {
  const byName = new Map(users.map((u) => [u.username, u]));
  return async (ctx, next) => {
    const match = ROUTE.exec(ctx.path);
    if (!match) return next();
    ctx.set('cache-control', 'no-store');
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== match[1]) {
      ctx.status = 400;
      ctx.body = 'interaction does not match this browser session\n';
      return;
    }
    if (details.prompt.name === 'consent' && ctx.method === 'GET' && !match[2]) {
      // every client is this provider's own: consent is given, never asked (native clients always reach here)
      const { client_id: clientId } = details.params as { client_id: string };
      const accountId = details.session?.accountId;
      if (!accountId) throw new Error('consent without a logged-in session');
      const grantId = await grantEverything(provider, clientId, accountId, audience, details.grantId);
      return finish(ctx, provider, { consent: { grantId } });
    }
    if (details.prompt.name !== 'login') {
      ctx.status = 400;
      ctx.body = `unsupported prompt ${details.prompt.name}\n`;
      return;
    }
    if (ctx.method === 'GET' && !match[2]) return page(ctx, details.uid, 200, '');
    if (ctx.method !== 'POST' || !match[2]) {
      ctx.status = 405;
      return;
    }
    const form = new URLSearchParams(await readBody(ctx.req));
    const user = byName.get(form.get('username') ?? '');
    if (!user || !passwordMatches(user, form.get('password') ?? '')) return page(ctx, details.uid, 401, 'Invalid user name or password.');
    return finish(ctx, provider, { login: { accountId: user.username } });
  };
}

async function finish(ctx: KoaContext, provider: Provider, result: Record<string, unknown>): Promise<void> {
  const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(to);
}

function page(ctx: KoaContext, uid: string, status: number, error: string): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = `<!doctype html>
<html><head><meta charset="utf-8"><title>UNICOP local sign-in</title></head>
<body><h1>Sign in (local OpenID provider)</h1>
${error ? `<p role="alert">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label>User name <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form></body></html>
`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new Error('login form too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
