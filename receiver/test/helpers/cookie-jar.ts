/**
 * A browser's cookie jar for got (its PromiseCookieJar interface): cookies per host and path, expiry and deletion
 * honoured. Enough for driving login flows on 127.0.0.1 (like a browser, it does not separate ports).
 */
interface Cookie {
  name: string;
  value: string;
  host: string;
  path: string;
  expires: number; // ms epoch; Infinity = session cookie
}

export class CookieJar {
  private cookies: Cookie[] = [];

  async setCookie(raw: string, url: string): Promise<void> {
    const where = new URL(url);
    const [pair = '', ...attributes] = raw.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const cookie: Cookie = {
      name: pair.slice(0, eq).trim(),
      value: pair.slice(eq + 1).trim(),
      host: where.hostname,
      path: defaultPath(where.pathname),
      expires: Infinity,
    };
    for (const attribute of attributes) {
      const [key = '', value = ''] = attribute.split('=').map((s) => s.trim());
      const lower = key.toLowerCase();
      if (lower === 'path' && value.startsWith('/')) cookie.path = value;
      if (lower === 'expires' && !Number.isNaN(Date.parse(value))) cookie.expires = Date.parse(value);
      if (lower === 'max-age' && /^-?\d+$/.test(value)) cookie.expires = Date.now() + Number(value) * 1000;
    }
    this.cookies = this.cookies.filter((c) => !(c.name === cookie.name && c.host === cookie.host && c.path === cookie.path));
    if (cookie.expires > Date.now()) this.cookies.push(cookie);
  }

  async getCookieString(url: string): Promise<string> {
    const where = new URL(url);
    const now = Date.now();
    return this.cookies
      .filter((c) => c.host === where.hostname && c.expires > now && pathMatches(where.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** The value of a cookie the host set (any path), for assertions. */
  value(host: string, name: string): string | undefined {
    return this.cookies.find((c) => c.host === host && c.name === name)?.value;
  }
}

// RFC 6265 §5.1.4
function defaultPath(pathname: string): string {
  const last = pathname.lastIndexOf('/');
  return last <= 0 ? '/' : pathname.slice(0, last);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}
