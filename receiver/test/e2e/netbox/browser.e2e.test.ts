/**
 * The whole control loop as a person meets it, in a real browser: Debian's Chromium, headless, driven by
 * playwright-core (no browser download). A signed-in user edits an interface through NetBox's form; the
 * device's UNICOP panel shows the reconcile in flight and then `succeeded` — run by ansible-rulebook's
 * local executor with the sample policy and playbook (eda/policies, eda/playbooks); pressing Reconcile
 * starts a second attempt credited to that user. Screenshots go to var/test-artifacts/browser/.
 *
 * Needs (it FAILS, never skips): what receiver-under-test.ts needs, UNICOP_RECEIVER_TOKEN given to
 * `scripts/netbox up` (the panel's token), `scripts/eda install`, and Chromium (UNICOP_TEST_CHROMIUM,
 * default /usr/bin/chromium; scripts/lib/browser/ensure-chromium installs it).
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { localEdaEnvironment, rulebookLog, runEda } from '../../helpers/eda.js';
import { NETBOX_URL, makeDevice, netbox, requireNetbox, runTag, type NetboxObject } from '../../helpers/netbox.js';
import { waitFor } from '../../helpers/wait-for.js';
import { API_TOKEN, RECEIVER_URL, TOPIC_PREFIX, startReceiver, stopReceiver } from './receiver-under-test.js';

const REPO = new URL('../../../../', import.meta.url).pathname;
const ARTIFACTS = join(REPO, 'var/test-artifacts/browser');
const CHROMIUM = process.env.UNICOP_TEST_CHROMIUM ?? '/usr/bin/chromium';
const IN_FLIGHT = ['pending', 'requested', 'running'];
/** A page counts as there once its DOM is: `load` also waits for every image and font, which tells nothing here. */
const LOADED = { waitUntil: 'domcontentloaded' } as const;

describe('the whole loop in a real browser (Chromium headless; the local executor runs the sample playbook)', function () {
  this.timeout(300_000);
  const work = mkdtempSync(join(tmpdir(), 'unicop-browser-'));
  const eda = localEdaEnvironment({
    prefix: TOPIC_PREFIX,
    dataDir: join(work, 'eda'),
    receiverUrl: RECEIVER_URL,
    notifyTokenFile: join(work, 'notify-token'),
    playbookDir: join(REPO, 'eda/playbooks'),
    renderDir: join(work, 'rendered'),
    netboxUrl: NETBOX_URL,
    netboxToken: process.env.NETBOX_TOKEN ?? '',
    shutdownDelay: '5',
  });
  let browser: Browser;
  let page: Page;

  before(async () => {
    requireNetbox();
    mkdirSync(ARTIFACTS, { recursive: true });
    const notify = randomBytes(24).toString('hex');
    writeFileSync(join(work, 'notify-token'), notify, { mode: 0o600 });
    await stopReceiver();
    await startReceiver({ UNICOP_RECONCILE_POLICY: join(REPO, 'eda/policies/local-reconcile-policy.json'), UNICOP_AWX_NOTIFY_TOKEN: notify });
    await runEda('up', eda);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  });
  after(async () => {
    await browser?.close();
    await runEda('down', eda).catch((error: unknown) => console.error(String(error)));
    await stopReceiver();
    await startReceiver(); // the suite's receiver as the other files expect it
    rmSync(work, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(`--- rulebook log\n${rulebookLog(join(work, 'eda'))}`);
  });

  /** The panel's state attribute now, reloading the page first when asked. */
  async function panelState(reload: boolean): Promise<string | null> {
    if (reload) await page.reload(LOADED);
    return page.locator('#unicop-panel').getAttribute('data-unicop-state', { timeout: 10_000 });
  }

  async function timeline(root: string): Promise<{ reconciles: { reconcileId: string; outcome: { result: string } | null }[] }> {
    const res = await fetch(`${RECEIVER_URL}/v1/roots/${root}/timeline?limit=50`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    assert.equal(res.status, 200);
    return (await res.json()) as { reconciles: { reconcileId: string; outcome: { result: string } | null }[] };
  }

  it('shows an interface edit reconciling its device, in flight then succeeded, and credits a Reconcile press to the user', async () => {
    const user = process.env.NETBOX_ADMIN_USER ?? 'admin';
    const tag = runTag();
    const { device } = await makeDevice(tag);
    const iface = await netbox<NetboxObject>('POST', 'dcim/interfaces/', { device: device.id, name: 'eth0', type: '1000base-t' });
    const root = `dcim.device:${device.id}`;
    // creating them already reconciles the device: let that settle, so what follows is the edit's doing
    await waitFor(async () => (await timeline(root)).reconciles.some((r) => r.outcome?.result === 'succeeded'), 120_000, 'the creation reconciled');
    const before = (await timeline(root)).reconciles.length;

    // a person signs in and edits the interface through NetBox's form
    await page.goto(`${NETBOX_URL}/login/?next=/`, LOADED);
    await page.fill('#id_username', user);
    await page.fill('#id_password', process.env.NETBOX_ADMIN_PASSWORD ?? '');
    await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login'), LOADED), page.click('button[type="submit"]')]);
    await page.goto(`${NETBOX_URL}/dcim/interfaces/${iface.id}/edit/`, LOADED);
    await page.fill('#id_description', `uplink ${tag}`);
    await Promise.all([page.waitForURL((url) => !url.pathname.endsWith('/edit/'), LOADED), page.click('button[type="submit"][name="_update"]')]);

    // the device's panel: in flight on the way, then succeeded by itself (htmx)
    await page.goto(`${NETBOX_URL}/dcim/devices/${device.id}/`, LOADED);
    // the creation's attempt ended as `succeeded`: reload until the edit's attempt shows (2 s debounce, then the run)
    const inFlight = await waitFor(
      async () => {
        const state = await panelState(true);
        return state !== null && IN_FLIGHT.includes(state) ? state : null;
      },
      60_000,
      "the panel shows the edit's reconcile in flight",
    );
    assert.ok(IN_FLIGHT.includes(inFlight));
    await page.screenshot({ path: join(ARTIFACTS, '1-in-flight.png'), fullPage: true });
    await waitFor(async () => (await panelState(false)) === 'succeeded', 120_000, 'the panel reaches succeeded without a reload (htmx)');
    assert.equal((await timeline(root)).reconciles.length, before + 1, 'one attempt for the edit');
    await page.screenshot({ path: join(ARTIFACTS, '2-succeeded.png'), fullPage: true });
    assert.match(
      readFileSync(join(work, 'rendered', `${root.replace(':', '-')}.conf`), 'utf8'),
      /eth0/,
      "the sample playbook rendered the device's interfaces",
    );

    // the timeline fits its card
    const card = await page.locator('#unicop-panel').boundingBox();
    const table = await page.locator('#unicop-timeline').boundingBox();
    const scroll = await page.locator('#unicop-timeline').evaluate((el) => el.scrollWidth);
    assert.ok(card && table, 'the panel has a timeline table');
    const widths = { card: card.width, table: table.width, scroll };
    assert.ok(
      widths.table <= widths.card && widths.scroll <= widths.card,
      `the timeline (${widths.table} px, scroll ${widths.scroll} px) fits its card (${widths.card} px)`,
    );

    // the person presses Reconcile: a second attempt, credited to them
    // The page is already at the device's URL, so waiting for that URL proves nothing: wait for the POST's redirect
    // to land, i.e. for the message it carries (a silent redirect never shows one: the wait fails).
    await page.click('#unicop-reconcile-button');
    const success = page.locator('#django-messages .toast-header.text-bg-success');
    await success
      .first()
      .waitFor({ state: 'attached', timeout: 30_000 })
      .catch(() => assert.fail('a success message, not a silent redirect'));
    assert.equal(new URL(page.url()).pathname, `/dcim/devices/${device.id}/`, 'back on the device page');
    await waitFor(
      async () => {
        const { reconciles } = await timeline(root);
        return reconciles.length >= before + 2 && reconciles.every((r) => r.outcome?.result === 'succeeded');
      },
      120_000,
      'the Reconcile press made one more attempt, and it succeeded',
    );
    await waitFor(async () => (await panelState(true)) === 'succeeded', 30_000, 'the panel shows it');
    const users = await page.locator('#unicop-timeline tr.unicop-event').evaluateAll((rows) =>
      rows.map((r) => ({
        action: r.querySelector('.unicop-event-action')?.textContent?.trim(),
        user: r.querySelector('.unicop-event-user')?.textContent?.trim(),
      })),
    );
    assert.ok(
      users.some((r) => r.action?.includes('reconcile') && r.user === user),
      `the reconcile row names ${user}: ${JSON.stringify(users)}`,
    );
    await page.screenshot({ path: join(ARTIFACTS, '3-reconciled-by-user.png'), fullPage: true });
    await page.locator('#unicop-panel').screenshot({ path: join(ARTIFACTS, '4-panel.png') });
  });
});
