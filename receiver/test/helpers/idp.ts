/**
 * The local OpenID provider (scripts/idp, program in idp/) for tests: start it with a private data dir and port,
 * read its env file, log a user in through its real login form (authorization code + PKCE over HTTP) and sign
 * tokens with its real private key, so tests can craft expired, not-yet-valid or wrong-audience tokens.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import got, { type Response } from 'got';
import { importJWK, SignJWT, type JWK, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { CookieJar } from './cookie-jar.js';
import { freePort } from './process.js';

const REPO = new URL('../../../', import.meta.url).pathname;
const run = promisify(execFile);

export interface Idp {
  issuer: string;
  audience: string;
  dataDir: string;
  env: Record<string, string>;
  /** The generated password of a user (alice, bob, carol, dave). */
  password(user: string): string;
  /** scripts/idp rotate: a new signing key in front; resolves with the new kid once the provider answers again. */
  rotate(): Promise<string>;
  stop(): Promise<void>;
}

/** `scripts/idp up` with a private data dir and port; `stop()` runs `down` and removes the data dir. */
export async function startIdp(extraEnv: Record<string, string> = {}): Promise<Idp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'unicop-test-idp-'));
  const env = { ...process.env, IDP_DATA_DIR: dataDir, IDP_PORT: String(await freePort()), ...extraEnv };
  const script = (verb: string): Promise<{ stdout: string }> => run(join(REPO, 'scripts/idp'), [verb], { env, cwd: REPO });
  const { stdout } = await script('up');
  const last = stdout.trim().split('\n').at(-1) ?? '';
  if (!last.startsWith('UNICOP_OIDC_ISSUER=')) throw new Error(`scripts/idp up printed no issuer as its last line: ${stdout}`);
  const values = readEnvFile(join(dataDir, 'env'));
  return {
    issuer: last.slice('UNICOP_OIDC_ISSUER='.length),
    audience: values.UNICOP_OIDC_AUDIENCE ?? '',
    dataDir,
    env: values,
    password: (user) => passwordOf(values, user),
    rotate: async () => {
      await script('rotate');
      return privateKeys(dataDir)[0]?.kid ?? '';
    },
    stop: async () => {
      await script('down');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The provider already running for this run (scripts/test starts it before NetBox, which is configured with it):
 * read from the env file in IDP_DATA_DIR (default var/idp). `stop()` leaves it running.
 */
export function runningIdp(dataDir = process.env.IDP_DATA_DIR ?? join(REPO, 'var/idp')): Idp {
  const values = readEnvFile(join(dataDir, 'env'));
  const issuer = values.UNICOP_OIDC_ISSUER;
  if (!issuer) throw new Error(`no UNICOP_OIDC_ISSUER in ${join(dataDir, 'env')}: run scripts/idp up first`);
  return {
    issuer,
    audience: values.UNICOP_OIDC_AUDIENCE ?? '',
    dataDir,
    env: values,
    password: (user) => passwordOf(values, user),
    rotate: () => Promise.reject(new Error('rotate the shared provider with scripts/idp rotate')),
    stop: () => Promise.resolve(),
  };
}

function passwordOf(values: Record<string, string>, user: string): string {
  const value = values[`IDP_PASSWORD_${user.toUpperCase()}`];
  if (!value) throw new Error(`the provider has no user ${user}`);
  return value;
}

export function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

function privateKeys(dataDir: string): JWK[] {
  return (JSON.parse(readFileSync(join(dataDir, 'keys.json'), 'utf8')) as { keys: JWK[] }).keys;
}

/**
 * A JWT signed with the provider's current private key (its kid in the header), with `iss`, `aud`, `iat` and a
 * 5-minute `exp` filled in unless `claims` sets them (set one to undefined to leave it out).
 */
export async function signWithProviderKey(idp: Idp, claims: JWTPayload, header: Partial<JWTHeaderParameters> = {}): Promise<string> {
  const jwk = privateKeys(idp.dataDir)[0];
  if (!jwk) throw new Error('the provider has no signing key');
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = { iss: idp.issuer, aud: idp.audience, iat: now, exp: now + 300, ...claims };
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'at+jwt', ...header }).sign(await importJWK(jwk, 'RS256'));
}

/** A browser: one cookie jar, redirects followed across hosts (NetBox and the provider), errors returned, not thrown. */
export class Browser {
  readonly jar = new CookieJar();

  get(url: string, stopAt?: string): Promise<Response<string>> {
    return got(url, this.options(stopAt));
  }

  postForm(url: string, form: Record<string, string>, stopAt?: string): Promise<Response<string>> {
    return got.post(url, { ...this.options(stopAt), form });
  }

  /** On the provider's login page `page`, posts the credentials (redirects followed unless they lead to `stopAt`). */
  submitLogin(page: Response<string>, user: string, password: string, stopAt?: string): Promise<Response<string>> {
    const action = /<form method="post" action="([^"]+)"/.exec(page.body)?.[1];
    if (!action) throw new Error(`no login form at ${page.url} (status ${page.statusCode}): ${page.body.slice(0, 300)}`);
    return this.postForm(new URL(action, page.url).toString(), { username: user, password }, stopAt);
  }

  private options(stopAt?: string) {
    return {
      cookieJar: this.jar,
      throwHttpErrors: false,
      // as browsers do: a POST answered 301/302 continues as a GET (got only rewrites 303 by default)
      methodRewriting: true,
      followRedirect: (res: { headers: Record<string, string | string[] | undefined> }) => {
        const location = res.headers.location;
        return !(stopAt && typeof location === 'string' && location.startsWith(stopAt));
      },
      retry: { limit: 0 },
    } as const;
  }
}

export class LoginRefused extends Error {}

/**
 * Logs `user` in through the provider's login form as the public client `unicop-cli` (authorization code + PKCE)
 * and returns the access token: a JWT for the receiver's audience.
 */
export async function loginForToken(idp: Idp, user: string, password: string): Promise<{ accessToken: string; idToken: string }> {
  const clientId = idp.env.IDP_CLI_CLIENT_ID ?? 'unicop-cli';
  // a loopback redirect on any port (RFC 8252 §7.3): nothing needs to listen, the code is read from the Location
  const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(`${idp.issuer}/auth`);
  authorize.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid profile email groups',
    state: randomBytes(8).toString('hex'),
    nonce: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const browser = new Browser();
  const form = await browser.get(authorize.toString(), redirectUri);
  const done = await browser.submitLogin(form, user, password, redirectUri);
  const location = done.headers.location;
  if (done.statusCode === 401) throw new LoginRefused(`the provider refused ${user}'s login`);
  if (typeof location !== 'string' || !location.startsWith(redirectUri)) {
    throw new Error(`login of ${user} did not come back with a code (status ${done.statusCode}): ${done.body.slice(0, 300)}`);
  }
  const code = new URL(location).searchParams.get('code');
  if (!code) throw new Error(`no code in ${location}`);
  const tokens = await got
    .post(`${idp.issuer}/token`, {
      form: { grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier },
      retry: { limit: 0 },
    })
    .json<{ access_token: string; id_token: string }>();
  return { accessToken: tokens.access_token, idToken: tokens.id_token };
}
