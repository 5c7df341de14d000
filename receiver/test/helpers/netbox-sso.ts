/**
 * Single sign-on into NetBox as a browser does it: NetBox's login page → its OIDC button (social-auth; a POST with
 * the page's CSRF token) → the provider's login form → back to NetBox with a code (scripts/netbox configures it).
 */
import { strict as assert } from 'node:assert';
import type { Response } from 'got';
import { Browser, type Idp } from './idp.js';
import { NETBOX_URL } from './netbox.js';

const SSO_FORM = /<form action="([^"]*\/oauth\/[^"]*oidc\/)" method="post"[^>]*>\s*<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"/;

/** Presses NetBox's OIDC button in `browser`; resolves with wherever that leads (the provider's login form). */
export async function startSso(browser: Browser): Promise<Response<string>> {
  const login = await browser.get(`${NETBOX_URL}/login/`);
  assert.equal(login.statusCode, 200, `NetBox /login/ → ${login.statusCode}`);
  const form = SSO_FORM.exec(login.body);
  assert.ok(form?.[1] && form[2], 'NetBox\'s login page offers "oidc" single sign-on (was scripts/netbox up run after scripts/idp up?)');
  return browser.postForm(new URL(form[1], `${NETBOX_URL}/`).toString(), { csrfmiddlewaretoken: form[2] });
}

/** Signs `user` in to NetBox through the provider; resolves with the browser that holds NetBox's session. */
export async function ssoLogin(idp: Idp, user: string, password: string): Promise<{ browser: Browser; landed: string }> {
  const browser = new Browser();
  const providerForm = await startSso(browser);
  assert.ok(providerForm.url.startsWith(`${idp.issuer}/interaction/`), `NetBox sent the browser to the provider's login form, not ${providerForm.url}`);
  const landed = await browser.submitLogin(providerForm, user, password);
  assert.equal(landed.statusCode, 200, `back in NetBox: ${landed.url} → ${landed.statusCode}: ${landed.body.slice(0, 300)}`);
  assert.equal(new URL(landed.url).origin, new URL(NETBOX_URL).origin, 'the browser ends on NetBox');
  return { browser, landed: landed.url };
}
