// The console's administration pages as an administrator uses them, with a customer's widget on the
// business's website proving the effect: settings, rotating and revoking signing keys, the token
// checker, the identity log of refused logins, routing to a priority inbox, disabling an agent, and the
// identity report.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';

import {
  axeViolations, consoleAgent, consoleSignIn, createAgent, embedPage, eventually, launchBrowser, newPage, openChat, screenshot, send, signToken,
  startParley, startSite, whenReady, widgetLogin, workspace,
} from './harness.mjs';

const SECRET = /psk_[A-Za-z0-9_-]{40,}/g;

describe('agent console: administration', () => {
  let parley, browser, site, w, admin, customerURL;
  const pages = [];
  // adminPage is a tab of Robin's console (signed in once for the file; the previous tab is closed), or
  // a fresh sign-in of another agent.
  let session = null;
  let lastTab = null;
  async function adminPage(who = admin) {
    if (who !== admin) {
      const page = await newPage(browser);
      pages.push(page);
      await consoleSignIn(page, parley.url, who);
      return page;
    }
    session ??= await consoleAgent(browser, parley.url, admin);
    await lastTab?.close();
    lastTab = await session.tab();
    return lastTab;
  }
  async function customer(url = customerURL) {
    const page = await newPage(browser);
    pages.push(page);
    await page.goto(url);
    await whenReady(page);
    return page;
  }

  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Keys Co', '--login-url', site.url + '/login');
    admin = await createAgent(parley.dataDir, w.id, { email: 'root@keys.example', name: 'Robin Admin', role: 'admin' });
    customerURL = site.set('/', embedPage(parley.url, w.id, { title: 'Keys Co' }));
  });
  // Each test's customers (and other agents) leave with it; the browser and servers with the file.
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.context().close().catch(() => {});
  });
  after(async () => {
    await browser?.close(); await site?.close(); await parley?.close();
  });

  test('settings pages are there for an administrator', async () => {
    const page = await adminPage();
    for (const [path, heading] of [['/console/settings', 'Settings'], ['/console/settings/keys', 'Signing keys'],
      ['/console/identity', 'Identity log'], ['/console/report', 'Report']]) {
      await page.goto(parley.url + path);
      await page.getByRole('heading', { name: heading, exact: true }).first().waitFor({ state: 'visible' });
    }

    // An administrator edits the first message and the allowed origins; the customer's widget follows.
    await page.goto(parley.url + '/console/settings');
    const greeting = 'Welcome to Keys Co! Sign in first if it is about an order, so we know it is you.';
    await page.getByRole('textbox', { name: 'First message', exact: true }).fill(greeting);
    await page.getByRole('textbox', { name: 'Allowed website origins', exact: true }).fill(site.url);
    await page.getByRole('textbox', { name: 'Allowed email domains', exact: true }).fill('');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').filter({ hasText: /saved/i }).first().waitFor();
    assert.equal(await page.getByRole('textbox', { name: 'First message', exact: true }).inputValue(), greeting);
    await screenshot(page, 'console-settings');

    const cust = await customer();
    await openChat(cust);
    await cust.locator('parley-chat').getByText(greeting, { exact: true }).waitFor({ state: 'visible' });

    // A bad value is refused with a message next to the field, and nothing is saved.
    await page.getByRole('textbox', { name: 'Login URL', exact: true }).fill('javascript:alert(1)');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('alert').first().waitFor();
    assert.equal(await page.getByRole('textbox', { name: 'Login URL', exact: true }).getAttribute('aria-invalid'), 'true');
    await page.goto(parley.url + '/console/settings');
    assert.equal(await page.getByRole('textbox', { name: 'Login URL', exact: true }).inputValue(), site.url + '/login', 'the bad login URL was not saved');
    assert.deepEqual(page.errors, []);
  });

  test('key rotation: the new secret is shown once; old and new keys both sign in until the old is revoked', async () => {
    const page = await adminPage();
    await page.goto(parley.url + '/console/settings/keys');
    const oldRow = page.getByRole('row').filter({ hasText: w.kid });
    await oldRow.waitFor();
    assert.ok(!(await page.content()).includes(w.secret), 'an existing secret is never shown again');

    await oldRow.getByRole('button', { name: /^Rotate/ }).click();
    const secretBox = page.locator('[data-secret]');
    await secretBox.waitFor({ state: 'visible' });
    const fresh = { kid: await page.locator('[data-new-key]').getAttribute('data-new-key'), secret: (await secretBox.innerText()).trim() };
    assert.match(fresh.secret, /^psk_[A-Za-z0-9_-]{43}$/);
    assert.match(fresh.kid, /^k_[a-z2-7]{8}$/);
    assert.notEqual(fresh.kid, w.kid);
    const text = await page.locator('main').innerText();
    assert.deepEqual([...new Set(text.match(SECRET))], [fresh.secret], 'only the new secret is shown');
    assert.match(text, new RegExp(`old key ${w.kid} keeps working until you revoke it`), 'the page says the old key keeps working');
    await screenshot(page, 'console-keys');

    // Reloading (or coming back) never shows it again.
    await page.goto(parley.url + '/console/settings/keys');
    await page.getByRole('row').filter({ hasText: fresh.kid }).waitFor();
    assert.ok(!(await page.content()).includes(fresh.secret), 'the new secret is not shown after a reload');
    assert.equal(await page.getByRole('row').filter({ hasText: w.kid }).count(), 1, 'the old key is still listed');

    // Both keys sign customers in.
    const cust = await customer();
    let r = await widgetLogin(cust, signToken(w, { sub: 'u-old', email: 'old@example.com', name: 'Old Key' }));
    assert.ok(r.ok, 'old key before revocation: ' + JSON.stringify(r));
    r = await widgetLogin(cust, signToken(fresh, { sub: 'u-new', email: 'new@example.com', name: 'New Key' }));
    assert.ok(r.ok, 'new key: ' + JSON.stringify(r));

    // The keys page tells which keys are in use.
    await page.reload();
    for (const kid of [w.kid, fresh.kid]) {
      await eventually(async () => {
        await page.reload();
        const cells = await page.getByRole('row').filter({ hasText: kid }).getByRole('cell').allInnerTexts();
        assert.notEqual(cells[3], 'Never', `key ${kid} shows when it was last used: ${cells}`);
      }, { timeout: 5000, interval: 500 });
    }

    // Revoke the old key in the console.
    const row = page.getByRole('row').filter({ hasText: w.kid });
    await row.getByText('Revoke…').click();
    await row.getByRole('button', { name: `Revoke ${w.kid}` }).click();
    await page.getByRole('row').filter({ hasText: w.kid }).getByText('Revoked', { exact: true }).waitFor();
    assert.equal(await page.getByRole('row').filter({ hasText: w.kid }).getByRole('button').count(), 0,
      'a revoked key can be neither rotated nor revoked again');
    assert.equal(await page.getByRole('row').filter({ hasText: fresh.kid }).getByText('Active', { exact: true }).count(), 1);

    r = await widgetLogin(cust, signToken(w, { sub: 'u-old', email: 'old@example.com', name: 'Old Key' }));
    assert.equal(r.ok, false);
    assert.equal(r.code, 'token_unknown_key', JSON.stringify(r));
    r = await widgetLogin(cust, signToken(fresh, { sub: 'u-new', email: 'new@example.com', name: 'New Key' }));
    assert.ok(r.ok, 'the new key still works: ' + JSON.stringify(r));
    w.kid = fresh.kid;
    w.secret = fresh.secret;
    assert.deepEqual(page.errors, []);
  });

  test('token checker: a good token passes every check; an expired one fails Times with "expired"', async () => {
    const page = await adminPage();
    await page.goto(parley.url + '/console/identity');
    const good = signToken(w, { sub: 'u-check', email: 'check@example.com', name: 'Check Me' });
    let checks = await runChecker(page, good);
    assert.ok(checks.length >= 5, JSON.stringify(checks));
    for (const name of ['Format', 'Algorithm and key', 'Claims', 'Signature', 'Times', 'Audience']) {
      const c = checks.find((x) => x.name === name);
      assert.ok(c, `a "${name}" check in ${JSON.stringify(checks)}`);
      assert.equal(c.ok, true, `"${name}" passes: ${JSON.stringify(c)}`);
    }
    assert.ok(checks.every((c) => c.ok), JSON.stringify(checks));

    const now = Math.floor(Date.now() / 1000);
    const expired = signToken(w, { sub: 'u-check', email: 'check@example.com', iat: now - 900, exp: now - 600 });
    checks = await runChecker(page, expired);
    const times = checks.find((x) => x.name === 'Times');
    assert.ok(times, JSON.stringify(checks));
    assert.equal(times.ok, false);
    assert.match(times.text, /expired/);
    assert.match(times.text, /token_expired/, 'with the API\'s error code');
    assert.ok(checks.find((x) => x.name === 'Signature').ok, 'the signature still checks out');
    assert.deepEqual(page.errors, []);
  });

  test('identity log: a refused widget login shows with its code and key id, never the token', async () => {
    const cust = await customer();
    const forged = signToken({ kid: w.kid, secret: 'psk_not-the-real-secret-at-all-0000000000000' }, { sub: 'u-mallory', email: 'mallory@example.com' });
    const r = await widgetLogin(cust, forged);
    assert.equal(r.code, 'token_bad_signature', JSON.stringify(r));
    const now = Math.floor(Date.now() / 1000);
    const stale = signToken(w, { sub: 'u-late', email: 'late@example.com', iat: now - 900, exp: now - 600 });
    assert.equal((await widgetLogin(cust, stale)).code, 'token_expired');

    const page = await adminPage();
    await page.goto(parley.url + '/console/identity');
    const bad = page.getByRole('row').filter({ hasText: 'token_bad_signature' });
    await bad.first().waitFor();
    assert.match(await bad.first().innerText(), new RegExp(w.kid), 'the row names the key id');
    await page.getByRole('row').filter({ hasText: 'token_expired' }).first().waitFor();
    const html = await page.content();
    for (const [what, tok] of [['forged', forged], ['stale', stale]]) {
      assert.ok(!html.includes(tok), `the ${what} token is not on the page`);
      assert.ok(!html.includes(tok.split('.')[1]), `the ${what} token's payload is not on the page`);
      assert.ok(!html.includes(tok.split('.')[2]), `the ${what} token's signature is not on the page`);
    }
    await screenshot(page, 'console-identity-log');
    assert.deepEqual(page.errors, []);
  });

  test('routing: verified customers go to a Priority inbox, which the inbox filter shows', async () => {
    const page = await adminPage();
    await page.goto(parley.url + '/console/settings/routing');
    await page.getByRole('heading', { name: 'Routing', exact: true }).waitFor();
    await page.getByRole('textbox', { name: 'Inbox name', exact: true }).last().fill('Priority');
    await page.getByRole('group', { name: 'Members' }).getByRole('checkbox', { name: admin.name }).check();
    await page.getByRole('button', { name: 'Create inbox' }).click();
    await page.getByRole('group', { name: 'Members of Priority' }).waitFor();
    await page.getByLabel('Visitor', { exact: true }).selectOption({ label: 'Verified' });
    await page.getByLabel('Inbox', { exact: true }).selectOption({ label: 'Priority' });
    await page.getByRole('button', { name: 'Add rule' }).click();
    const rule = page.getByRole('table', { name: /Routing rules/ }).getByRole('row').filter({ hasText: 'Priority' });
    await rule.waitFor();
    assert.match(await rule.innerText(), /Verified/);

    const verified = await customer();
    assert.ok((await widgetLogin(verified, signToken(w, { sub: 'u-vip', email: 'vip@example.com', name: 'Vic Important' }))).ok);
    await openChat(verified);
    const v = await send(verified, 'I am a verified customer');
    const anon = await customer();
    await openChat(anon);
    const a = await send(anon, 'I am nobody in particular');

    await page.goto(parley.url + '/console/conversations/' + v.conversation);
    await page.getByText('Priority inbox').first().waitFor();
    await page.goto(parley.url + '/console/');
    await page.getByLabel('Inbox', { exact: true }).selectOption({ label: 'Priority' });
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL((u) => u.searchParams.get('inbox'));
    await page.locator(`a[href$="/console/conversations/${v.conversation}"]`).waitFor();
    assert.equal(await page.locator(`a[href$="/console/conversations/${a.conversation}"]`).count(), 0, 'the anonymous visitor is not in Priority');
    assert.deepEqual(page.errors, []);
  });

  test('agents: an administrator disables an agent, whose console session ends at once', async () => {
    const pat = await createAgent(parley.dataDir, w.id, { email: 'pat@keys.example', name: 'Pat Parttime' });
    const patPage = await adminPage(pat);
    const page = await adminPage();
    await page.goto(parley.url + '/console/settings/agents');
    const row = page.getByRole('row').filter({ hasText: 'pat@keys.example' });
    await row.getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('row').filter({ hasText: 'pat@keys.example' }).getByText('Disabled', { exact: true }).waitFor();
    assert.equal(await page.getByRole('row').filter({ hasText: admin.email }).getByRole('button', { name: 'Disable' }).count(), 0,
      'an administrator cannot disable themself');

    await patPage.goto(parley.url + '/console/');
    await patPage.waitForURL((u) => u.pathname === '/console/login');
    await patPage.getByLabel('Email').fill(pat.email);
    await patPage.getByLabel('Password').fill(pat.password);
    await patPage.getByRole('button', { name: 'Sign in' }).click();
    await patPage.getByRole('alert').waitFor();
    assert.equal(new URL(patPage.url()).pathname, '/console/login', 'a disabled agent cannot sign in');
    assert.deepEqual([...page.errors, ...patPage.errors], []);
  });

  test('axe-core finds nothing serious on the administration pages', async () => {
    const page = await adminPage();
    for (const path of ['/console/settings', '/console/settings/keys', '/console/settings/agents', '/console/settings/routing', '/console/identity', '/console/report']) {
      await page.goto(parley.url + path);
      assert.deepEqual(await axeViolations(page), [], path);
    }
    await page.goto(parley.url + '/console/identity');
    await runChecker(page, signToken(w, { sub: 'u-axe', email: 'axe@example.com' }));
    assert.deepEqual(await axeViolations(page), [], 'token checker results');
  });

  test('report: the chart and the totals match the conversations that happened', async () => {
    const rw = await workspace(parley.dataDir, 'Report Co');
    const url = site.set('/report', embedPage(parley.url, rw.id, { title: 'Report Co' }));
    // Four visitors at once: two anonymous (one message each), one who only says who they are
    // (identified, one message), one verified customer (two trusted messages).
    const visit = async (prepare, texts) => {
      const p = await customer(url);
      await prepare(p);
      await openChat(p);
      for (const text of texts) await send(p, text);
      await p.context().close();
    };
    const [ra] = await Promise.all([
      createAgent(parley.dataDir, rw.id, { email: 'kim@report.example', name: 'Kim Admin', role: 'admin' }),
      visit(async () => {}, ['anon one']),
      visit(async () => {}, ['anon two']),
      visit((p) => p.evaluate(() => window.Parley.setUser({ name: 'Claire Claim', email: 'claire@example.com' })), ['identified one']),
      visit(async (p) => {
        const r = await widgetLogin(p, signToken(rw, { sub: 'u-vera', email: 'vera@example.com', name: 'Vera Verified' }));
        assert.ok(r.ok, JSON.stringify(r));
      }, ['verified one', 'verified two']),
    ]);

    const page = await adminPage(ra);
    await page.goto(parley.url + '/console/report');
    const chart = page.locator('svg[role="img"]');
    await chart.waitFor({ state: 'visible' });
    const bars = await chart.locator('rect[data-level]').evaluateAll((els) => els.map((r) => ({
      level: r.dataset.level, height: Number(r.getAttribute('height')), title: r.querySelector('title')?.textContent,
    })));
    const today = bars.filter((b) => b.title);
    const count = (level) => today.filter((b) => b.level === level).map((b) => Number(/: (\d+) /.exec(b.title)[1])).reduce((a, b) => a + b, 0);
    assert.equal(count('anonymous'), 2, JSON.stringify(bars));
    assert.equal(count('identified'), 1, JSON.stringify(bars));
    assert.equal(count('verified'), 1, JSON.stringify(bars));
    assert.ok(bars.every((b) => b.height > 0), 'every bar is drawn');
    const desc = await chart.locator('desc').textContent();
    assert.match(desc, /1 verified, 1 identified, 2 anonymous conversations; 40% of 5 customer messages trusted/);

    assert.equal((await page.locator('[data-trusted-share]').innerText()).trim(), '40.0%', 'the trusted share is shown');
    const totals = await page.locator('.totals').innerText();
    assert.match(totals, /\b4\s+conversations/);
    assert.match(totals, /of 5 customer messages trusted/);
    // The table has the same figures for today.
    const rows = await page.getByRole('table').getByRole('row').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
    const withData = rows.slice(1).filter((r) => r[1] !== '0');
    assert.equal(withData.length, 1, JSON.stringify(rows));
    assert.deepEqual(withData[0].slice(1, 7), ['4', '1', '1', '2', '5', '2'], 'conversations, verified, identified, anonymous, customer messages, trusted');
    assert.match(withData[0][7], /^40(\.0)?\s?%$/);
    // The same figures over the last 7 days.
    await page.getByRole('link', { name: 'Last 7 days' }).click();
    await page.waitForURL((u) => u.searchParams.get('days') === '7');
    assert.equal((await page.locator('[data-trusted-share]').innerText()).trim(), '40.0%');
    assert.match(await page.locator('svg[role="img"] desc').textContent(), /^7 days: 1 verified, 1 identified, 2 anonymous/);
    await screenshot(page, 'console-report');
    assert.deepEqual(page.errors, []);
  });
});

// runChecker submits a token to the console's token checker and reads each check as shown.
async function runChecker(page, token) {
  await page.getByRole('textbox', { name: /token/i }).fill(token);
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/console/identity/check') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Check token' }).click(),
  ]);
  await page.waitForLoadState('domcontentloaded');
  const list = page.getByRole('list', { name: /would be (accepted|refused)/ }).getByRole('listitem');
  await list.first().waitFor();
  return list.evaluateAll((els) => els.map((el) => ({
    name: el.querySelector('strong')?.textContent.trim(),
    ok: el.dataset.checkOk === 'true',
    text: el.textContent.replace(/\s+/g, ' ').trim(),
  })));
}
