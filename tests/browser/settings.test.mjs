// Workspace settings as a visitor meets them on a business's own website (another origin than
// Parley's): onboarding, setUser, hiding the widget until login, allowed email domains, login errors,
// and requiring a verified identity.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  QUEUE_STUB, apiView, embedPage, launchBrowser, launcher, messageBox, newPage, openChat, panel, screenshot,
  send, shadowText, signToken, sleep, startParley, startSite, whenReady, widget, workspace,
} from './harness.mjs';

// login calls Parley.login in the page and returns what it settled with.
function login(page, token) {
  return page.evaluate((t) => window.Parley.login(t).then(
    (identity) => ({ ok: true, identity }),
    (e) => ({ ok: false, isError: e instanceof Error, code: e.code, message: e.message }),
  ), token);
}

// loginAndCapture also returns the server's own answer to the login call.
async function loginAndCapture(page, token) {
  const response = page.waitForResponse((r) => r.url().endsWith('/v1/widget/login') && r.request().method() === 'POST');
  const result = await login(page, token);
  const res = await response;
  return { result, status: res.status(), body: await res.json() };
}

// watchLauncher records, from the first paint on, whether the launcher was ever visible.
const WATCH_LAUNCHER = `(() => {
  window.__launcherSeen = false;
  const tick = () => {
    const host = document.querySelector('parley-chat');
    const l = host && host.shadowRoot && host.shadowRoot.querySelector('.launcher');
    if (l && l.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) window.__launcherSeen = true;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();`;

describe('workspace settings on another website', () => {
  let parley, browser, site;
  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
  });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); });

  test('onboarding asks for a name and a valid email before the first message', async () => {
    const w = await workspace(parley.dataDir, 'Onboard Co', '--onboarding', 'on');
    const url = site.set('/onboarding', embedPage(parley.url, w.id, { title: 'Onboard Co' }));
    const page = await newPage(browser);
    try {
      await page.goto(url);
      await whenReady(page);
      await openChat(page);
      const form = panel(page).getByRole('form', { name: 'Introduce yourself' });
      await form.waitFor({ state: 'visible' });
      assert.equal(await messageBox(page).count(), 0, 'no composer before onboarding');
      assert.ok(await panel(page).getByText('Hi there!', { exact: true }).isVisible());
      await screenshot(page, 'onboarding');

      const name = form.getByRole('textbox', { name: 'Name', exact: true });
      const email = form.getByRole('textbox', { name: 'Email', exact: true });
      const start = form.getByRole('button', { name: 'Start chat' });
      await start.click();
      const alerts = form.getByRole('alert');
      assert.deepEqual(await alerts.allTextContents(), ['Please enter your name.', 'Please enter a valid email address.']);
      assert.equal(await name.getAttribute('aria-invalid'), 'true');
      assert.ok(await name.evaluate((el) => el.getRootNode().activeElement === el), 'focus moves to the first field to fix');

      await name.fill('Ada Lovelace');
      await email.fill('ada@example');
      await start.click();
      assert.deepEqual(await alerts.allTextContents(), ['Please enter a valid email address.']);
      assert.equal(await email.getAttribute('aria-invalid'), 'true');
      assert.equal(await messageBox(page).count(), 0);

      await email.fill('ada@example.com');
      await start.click();
      await messageBox(page).waitFor({ state: 'visible' });
      assert.equal(await form.count(), 0, 'the form is gone');
      await panel(page).getByText('Hi Ada!', { exact: true }).waitFor();
      const sent = await send(page, 'Hello from Ada');

      const view = await apiView(page, parley.url, w.id);
      assert.equal(view.identity.level, 'identified');
      assert.equal(view.identity.email, 'ada@example.com');
      assert.equal(view.identity.name, 'Ada Lovelace');
      const stored = view.conversations[0].messages.find((m) => m.id === sent.id);
      assert.equal(stored.trusted, false, 'a claimed identity is never trusted');
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('setUser called before the widget loads skips onboarding', async () => {
    const w = await workspace(parley.dataDir, 'SetUser Co', '--onboarding', 'on');
    const head = QUEUE_STUB + `<script>
      window.__setUser = window.Parley.setUser({ name: 'Grace Hopper', email: 'grace@example.com' });
    </script>`;
    const url = site.set('/setuser', embedPage(parley.url, w.id, { head, title: 'SetUser Co' }));
    const page = await newPage(browser);
    try {
      await page.goto(url);
      await whenReady(page);
      const identity = await page.evaluate(() => window.__setUser);
      assert.equal(identity.level, 'identified');
      await openChat(page);
      await messageBox(page).waitFor({ state: 'visible' });
      assert.equal(await panel(page).getByRole('form', { name: 'Introduce yourself' }).count(), 0);
      assert.deepEqual(await shadowText(page, '.hello'), ['Hi Grace!']);
      await send(page, 'Hello from Grace');
      const view = await apiView(page, parley.url, w.id);
      assert.equal(view.identity.level, 'identified');
      assert.equal(view.identity.email, 'grace@example.com');
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('onboarding still asks for what setUser left out (a name alone), keeping what it gave', async () => {
    const w = await workspace(parley.dataDir, 'Partial Co', '--onboarding', 'on');
    const head = QUEUE_STUB + `<script>window.Parley.setUser({ name: 'Grace Hopper' });</script>`;
    const url = site.set('/setuser-partial', embedPage(parley.url, w.id, { head, title: 'Partial Co' }));
    const page = await newPage(browser);
    try {
      await page.goto(url);
      await whenReady(page);
      await openChat(page);
      const form = panel(page).getByRole('form', { name: 'Introduce yourself' });
      await form.waitFor({ state: 'visible' });
      assert.equal(await messageBox(page).count(), 0, 'no composer while the email is missing');
      const name = form.getByRole('textbox', { name: 'Name', exact: true });
      assert.equal(await name.inputValue(), 'Grace Hopper', 'what the page gave is kept');
      await form.getByRole('textbox', { name: 'Email', exact: true }).fill('grace@example.com');
      await form.getByRole('button', { name: 'Start chat' }).click();
      await messageBox(page).waitFor({ state: 'visible' });
      await send(page, 'Hello from Grace');
      const view = await apiView(page, parley.url, w.id);
      assert.equal(view.identity.email, 'grace@example.com');
      assert.equal(view.identity.name, 'Grace Hopper');
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('setUser called before the widget loads: the onboarding form never shows, even on a slow network', async () => {
    const w = await workspace(parley.dataDir, 'SetUser Slow Co', '--onboarding', 'on');
    const head = QUEUE_STUB + `<script>window.Parley.setUser({ name: 'Grace Hopper', email: 'grace@example.com' });</script>`;
    const url = site.set('/setuser-slow', embedPage(parley.url, w.id, { head, title: 'SetUser Slow Co' }));
    const page = await newPage(browser);
    try {
      // The identify call takes a second, as it may on a phone.
      await page.route('**/v1/widget/identify', async (route) => { await sleep(1000); await route.continue(); });
      await page.goto(url);
      await launcher(page).waitFor({ state: 'visible' });
      await launcher(page).click();
      await panel(page).waitFor({ state: 'visible' });
      const form = panel(page).getByRole('form', { name: 'Introduce yourself' });
      assert.equal(await form.isVisible(), false, 'the visitor is asked to introduce themselves although the site already did (setUser)');
      await panel(page).getByText('Hi Grace!', { exact: true }).waitFor({ state: 'visible' });
      await messageBox(page).waitFor({ state: 'visible' });
      assert.equal(await form.count(), 0);
    } finally {
      await page.context().close();
    }
  });

  test('hide until login: no widget for anonymous visitors; it appears after Parley.login', async () => {
    const w = await workspace(parley.dataDir, 'Hidden Co', '--hide-until-login');
    const url = site.set('/hidden', embedPage(parley.url, w.id, { head: QUEUE_STUB, title: 'Hidden Co' }));
    const page = await newPage(browser);
    try {
      await page.goto(url);
      const identity = await whenReady(page);
      assert.equal(identity.level, 'anonymous');
      assert.equal(await widget(page).isVisible(), false, 'the widget is hidden');
      assert.equal(await launcher(page).count(), 0, 'no launcher');

      const r = await login(page, signToken(w, { sub: 'u-ada', email: 'ada@example.com', name: 'Ada Lovelace' }));
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.identity.level, 'verified');
      await launcher(page).waitFor({ state: 'visible' });
      await openChat(page);
      await widget(page).getByText('Signed in as Ada Lovelace (ada@example.com)', { exact: true }).waitFor();
      await send(page, 'Hello, I am signed in');
    } finally {
      await page.context().close();
    }
  });

  test('hide until login: the launcher does not flash before the widget knows the settings', async () => {
    const w = await workspace(parley.dataDir, 'Hidden Slow Co', '--hide-until-login');
    const url = site.set('/hidden-slow', embedPage(parley.url, w.id, { head: QUEUE_STUB, title: 'Hidden Slow Co' }));
    const page = await newPage(browser);
    try {
      await page.addInitScript(WATCH_LAUNCHER);
      // Starting the session takes a moment, as it may on a slow network.
      await page.route('**/v1/widget/sessions', async (route) => { await sleep(700); await route.continue(); });
      await page.goto(url);
      await whenReady(page);
      assert.equal(await widget(page).isVisible(), false);
      assert.equal(await page.evaluate(() => window.__launcherSeen), false,
        'the launcher was visible to an anonymous visitor while the session was starting');
    } finally {
      await page.context().close();
    }
  });

  test('allowed email domains: hidden until a verified email of an allowed domain logs in', async () => {
    const w = await workspace(parley.dataDir, 'Bank', '--allowed-email-domains', 'bank.example');
    const url = site.set('/bank', embedPage(parley.url, w.id, { head: QUEUE_STUB, title: 'Bank' }));
    const page = await newPage(browser);
    try {
      await page.goto(url);
      await whenReady(page);
      assert.equal(await widget(page).isVisible(), false, 'hidden while anonymous');

      const evil = await login(page, signToken(w, { sub: 'u-evil', email: 'ada@evil.example', name: 'Ada Evil' }));
      assert.equal(evil.ok, false);
      assert.equal(evil.isError, true);
      assert.equal(evil.code, 'email_domain_not_allowed');
      assert.match(evil.message, /\S/);
      assert.equal(await widget(page).isVisible(), false, 'still hidden after a refused login');
      assert.equal(await launcher(page).count(), 0);

      const eve = await login(page, signToken(w, { sub: 'u-eve', email: 'eve@bank.example', name: 'Eve Banker' }));
      assert.equal(eve.ok, true, JSON.stringify(eve));
      await launcher(page).waitFor({ state: 'visible' });
      await openChat(page);
      await send(page, 'Hello from the bank');
    } finally {
      await page.context().close();
    }
  });

  test('login errors reject with the server\'s code and message; the session is unchanged', async () => {
    const w = await workspace(parley.dataDir, 'Errors Co');
    const url = site.set('/errors', embedPage(parley.url, w.id, { head: QUEUE_STUB, title: 'Errors Co' }));
    const page = await newPage(browser);
    try {
      await page.goto(url);
      await whenReady(page);
      const now = Math.floor(Date.now() / 1000);

      const expired = await loginAndCapture(page, signToken(w, { sub: 'u1', email: 'ada@example.com', iat: now - 400, exp: now - 180 }));
      assert.equal(expired.status, 401);
      assert.equal(expired.result.ok, false);
      assert.equal(expired.result.isError, true);
      assert.equal(expired.result.code, 'token_expired');
      assert.equal(expired.result.message, expired.body.error.message, '.message is the server\'s message');
      assert.match(expired.result.message, /expired/);

      const forged = await loginAndCapture(page, signToken({ kid: w.kid, secret: 'psk_' + 'x'.repeat(43) }, { sub: 'u1', email: 'ada@example.com' }));
      assert.equal(forged.status, 401);
      assert.equal(forged.result.isError, true);
      assert.equal(forged.result.code, 'token_bad_signature');
      assert.equal(forged.result.message, forged.body.error.message);

      const view = await apiView(page, parley.url, w.id);
      assert.equal(view.identity.level, 'anonymous', 'a bad token grants nothing');
      await openChat(page);
      assert.equal(await widget(page).getByText(/Signed in as/).count(), 0);
      await send(page, 'still here');
    } finally {
      await page.context().close();
    }
  });

  test('without a login URL there is no "Sign in" link', async () => {
    const plain = await workspace(parley.dataDir, 'No Login Co', '--first-message', 'Ask us anything.');
    const strict = await workspace(parley.dataDir, 'No Login Strict Co', '--require-verified');
    const page = await newPage(browser);
    try {
      for (const w of [plain, strict]) {
        await page.goto(site.set('/nologin-' + w.id, embedPage(parley.url, w.id, { title: 'No login URL' })));
        await whenReady(page);
        await openChat(page);
        await panel(page).getByText('Hi there!', { exact: true }).waitFor();
        const links = await panel(page).getByRole('link').evaluateAll((els) => els.map((a) => `${a.textContent} → ${a.href}`));
        assert.deepEqual(links, [], 'a "Sign in" link although the workspace has no login URL (it points at the page itself)');
      }
    } finally {
      await page.context().close();
    }
  });

  test('require verified: a sign-in prompt instead of the composer until login', async () => {
    const loginURL = site.url + '/login';
    const w = await workspace(parley.dataDir, 'Verified Co', '--require-verified', '--login-url', loginURL);
    const url = site.set('/verified', embedPage(parley.url, w.id, { head: QUEUE_STUB, title: 'Verified Co' }));
    const page = await newPage(browser);
    try {
      await page.goto(url);
      await whenReady(page);
      await openChat(page);
      await panel(page).getByText('Please sign in to chat with us.', { exact: true }).waitFor({ state: 'visible' });
      const links = panel(page).getByRole('link', { name: 'Sign in', exact: true });
      assert.equal(await links.count(), 1);
      assert.equal(await links.getAttribute('href'), loginURL);
      assert.equal(await messageBox(page).count(), 0, 'no composer');
      await screenshot(page, 'require-verified');

      const r = await login(page, signToken(w, { sub: 'u-ada', email: 'ada@example.com', name: 'Ada Lovelace' }));
      assert.equal(r.ok, true, JSON.stringify(r));
      await messageBox(page).waitFor({ state: 'visible' });
      assert.equal(await panel(page).getByText('Please sign in to chat with us.').count(), 0);
      const sent = await send(page, 'Verified hello');
      const view = await apiView(page, parley.url, w.id);
      const stored = view.conversations[0].messages.find((m) => m.id === sent.id);
      assert.equal(stored.trusted, true);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });
});
