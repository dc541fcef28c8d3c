// First-run setup and the root status page, in Chromium (docs/setup.md). `parley serve` on an empty data
// folder prints a setup link; / and /console/ point to the setup page. The link's token fills the form
// from the URL's fragment (which then leaves the address bar); a wrong token is refused and writes
// nothing; a common password is refused with the reason; the setup, typed with the keyboard, shows the
// signing key's secret once with the embed and token-signing snippets filled in with the real workspace
// id and key id (and the secret signs a token the widget API accepts). The same link a second time, or
// a form loaded before, is refused. The new administrator signs in to the console; / is then a status
// page. Roles and labels, axe-core on each page, screenshots docs/screenshots/setup-*.png.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  api, axeViolations, cli, consoleSignIn, eventually, launchBrowser, newPage, screenshot, signToken, startParley,
} from './harness.mjs';

async function noAxeViolations(page, what) {
  assert.deepEqual(await axeViolations(page), [], `axe-core on ${what}`);
}

const PASSWORD = 'amber lanterns over quiet water';

describe('first-run setup', () => {
  let parley, browser, link, token;

  before(async () => {
    [parley, browser] = await Promise.all([startParley({ demo: false }), launchBrowser()]);
    // The link is printed on standard output right after the server listens.
    await eventually(() => {
      const m = /(http:\/\/\S+\/setup#token=([A-Za-z0-9_-]{43}))/.exec(parley.log());
      assert.ok(m, 'serve printed a setup link');
      [, link, token] = m;
    });
  });
  after(async () => { await browser?.close(); await parley?.close(); });

  // fillSetup types the form with the keyboard, from the business name on.
  async function fillSetup(page, { password = PASSWORD } = {}) {
    await page.getByLabel('Business name').focus();
    await page.keyboard.type('Harbour Books');
    await page.keyboard.press('Tab');
    await page.keyboard.type('https://www.harbour-books.example');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Ada Harbour');
    await page.keyboard.press('Tab');
    await page.keyboard.type('ada@harbour-books.example');
    await page.keyboard.press('Tab');
    await page.keyboard.type(password);
    await page.keyboard.press('Tab');
    await page.keyboard.type(password);
    await page.keyboard.press('Tab');
    assert.equal(await page.getByRole('button', { name: 'Set up Parley' }).evaluate((el) => el === document.activeElement), true,
      'Tab reaches the button after the password confirmation');
  }

  async function workspaces() {
    return (await cli(parley.dataDir, 'workspace', 'list')).workspaces ?? [];
  }

  test('before setup: / and /console/ point to the setup page', async () => {
    const page = await newPage(browser);
    await page.goto(parley.url + '/');
    await page.getByRole('heading', { level: 1, name: /^Parley / }).waitFor();
    assert.match(await page.locator('main').innerText(), /not set up yet/);
    assert.equal(await page.getByRole('link', { name: 'Open the setup page' }).getAttribute('href'), '/setup');
    await noAxeViolations(page, 'the root page before setup');
    await screenshot(page, 'setup-root-pending');

    await page.goto(parley.url + '/console/');
    assert.equal(new URL(page.url()).pathname, '/console/login');
    await page.getByRole('heading', { level: 1, name: 'Set up Parley' }).waitFor();
    assert.match(await page.locator('main').innerText(), /Finish setup with the link parley serve printed/);
    assert.equal(await page.getByLabel('Password').count(), 0, 'no sign-in form while nobody can sign in');
    await noAxeViolations(page, 'the sign-in page before setup');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('the whole flow: a wrong token, a common password, the setup, the same link again, sign-in, status page', async () => {
    // A wrong token (a link of another run) is refused and writes nothing.
    const wrong = await newPage(browser);
    const wrongToken = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await wrong.goto(parley.url + '/setup#token=' + wrongToken);
    assert.equal(await wrong.getByLabel('Setup token').inputValue(), wrongToken, 'the token comes from the fragment');
    assert.equal(new URL(wrong.url()).hash, '', 'the fragment leaves the address bar');
    await fillSetup(wrong);
    const [refused] = await Promise.all([
      wrong.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/setup'),
      wrong.keyboard.press('Enter'),
    ]);
    assert.equal(refused.status(), 403);
    const alert = wrong.getByRole('alert');
    assert.match(await alert.innerText(), /This setup link is not valid/);
    assert.equal(await alert.getAttribute('data-code'), 'setup_token_invalid');
    assert.equal(await wrong.getByLabel('Setup token').getAttribute('aria-invalid'), 'true');
    assert.equal(await wrong.getByLabel('Business name').inputValue(), 'Harbour Books', 'what was typed stays');
    assert.equal(await wrong.getByLabel('Password', { exact: true }).inputValue(), '', 'the password is never sent back');
    assert.deepEqual(await workspaces(), [], 'a wrong token writes nothing');
    await noAxeViolations(wrong, 'the setup page refusing a token');
    await screenshot(wrong, 'setup-wrong-token');

    // A form loaded from the right link now, submitted after the setup is done elsewhere (below).
    const late = await newPage(browser);
    await late.goto(link);
    await late.getByRole('heading', { level: 1, name: 'Set up Parley' }).waitFor();

    // The right link: the form is filled from it, a common password is refused with the reason.
    const page = await newPage(browser);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: parley.url });
    await page.goto(link);
    assert.equal(await page.getByLabel('Setup token').inputValue(), token);
    assert.equal(new URL(page.url()).hash, '');
    await noAxeViolations(page, 'the setup form');
    await screenshot(page, 'setup-form');
    await fillSetup(page, { password: 'password1234' });
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'commonly used password' }).waitFor();
    assert.deepEqual(await workspaces(), [], 'a refused password writes nothing');
    assert.equal(await page.getByLabel('Setup token').inputValue(), token, 'the token stays for the next try');
    await page.getByLabel('Password', { exact: true }).focus();
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');

    await page.getByRole('heading', { level: 1, name: 'Parley is set up' }).waitFor();
    const [ws] = await workspaces();
    assert.ok(ws, 'the setup created a workspace');
    assert.equal(ws.name, 'Harbour Books');
    assert.deepEqual(ws.settings.allowed_origins, ['https://www.harbour-books.example']);
    const keys = (await cli(parley.dataDir, 'key', 'list', '--workspace', ws.id)).keys;
    assert.equal(keys.length, 1);
    const kid = keys[0].kid ?? keys[0].id;
    const secret = (await page.locator('#setup-secret').innerText()).trim();
    assert.match(secret, /^psk_/);
    const embed = (await page.locator('#setup-embed').innerText()).trim();
    assert.equal(embed, `<script src="${parley.url}/widget.js" data-workspace="${ws.id}" async></script>`);
    const signing = await page.locator('#setup-signing').innerText();
    assert.match(signing, new RegExp(`keyid: '${kid}'`));
    assert.match(signing, new RegExp(`aud: '${ws.id}'`));
    assert.ok(!signing.includes(secret), 'the snippet reads the secret from the environment, not from its code');
    assert.ok(!(await page.content()).includes(token), 'the result page does not repeat the setup token');

    // Copy buttons, by keyboard.
    await page.getByRole('button', { name: 'Copy the embed snippet' }).focus();
    await page.keyboard.press('Enter');
    await eventually(async () => assert.equal(await page.evaluate(() => navigator.clipboard.readText()), embed));
    await page.getByRole('button', { name: 'Copy the secret' }).click();
    await eventually(async () => assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret));
    await noAxeViolations(page, 'the setup result');
    await screenshot(page, 'setup-done');

    // The secret shown signs tokens the widget API accepts.
    const session = await api(parley.url, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: ws.id }) });
    assert.equal(session.status, 201);
    const login = await api(parley.url, session.data.session_token, '/v1/widget/login', {
      method: 'POST', body: JSON.stringify({ token: signToken({ secret, kid }, { sub: 'reader-1', email: 'reader@example.com', aud: ws.id }) }),
    });
    assert.equal(login.status, 200, JSON.stringify(login.data));
    assert.equal(login.data.identity.level, 'verified');

    // The same link again: the page is gone.
    const again = await newPage(browser);
    const res = await again.goto(link);
    assert.equal(res.status(), 404);
    await again.getByRole('heading', { level: 1, name: 'Parley is set up' }).waitFor();
    assert.match(await again.getByRole('alert').innerText(), /already set up/);
    await noAxeViolations(again, 'the setup page after setup');
    await screenshot(again, 'setup-gone');

    // The form loaded before the setup: refused, nothing more written.
    await fillSetup(late);
    const [lateRes] = await Promise.all([
      late.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/setup'),
      late.keyboard.press('Enter'),
    ]);
    assert.equal(lateRes.status(), 404);
    assert.match(await late.getByRole('alert').innerText(), /already set up/);
    assert.equal((await workspaces()).length, 1);

    // The administrator signs in to the console with what they chose.
    await page.getByRole('link', { name: 'Go to the console' }).click();
    await page.waitForURL((u) => u.pathname === '/console/login');
    await consoleSignIn(page, parley.url, { email: 'ada@harbour-books.example', password: PASSWORD });
    assert.match(await page.locator('header').innerText(), /Ada Harbour/);
    assert.match(await page.locator('header').innerText(), /Harbour Books/);

    // The root page is a status page now.
    const root = await newPage(browser);
    await root.goto(parley.url + '/');
    await root.getByRole('heading', { level: 1, name: /^Parley / }).waitFor();
    assert.doesNotMatch(await root.locator('main').innerText(), /not set up/);
    for (const [name, href] of [['Agent console', '/console/'], ['Health check', '/healthz'], ['HTTP API reference', '/v1/openapi.json']]) {
      assert.equal(await root.getByRole('link', { name }).getAttribute('href'), href);
    }
    assert.ok(await root.getByRole('link', { name: 'Documentation' }).count(), 'a link to the documentation');
    await noAxeViolations(root, 'the root status page');
    await screenshot(root, 'setup-status');

    for (const p of [wrong, late, page, again, root]) assert.deepEqual(p.errors, [], 'no script errors');
    for (const p of [wrong, late, page, again, root]) await p.context().close();
  });
});
