// Attributes, as a business and its agents meet them: an administrator adds a routing rule on a verified
// attribute (plan = gold → the VIP inbox) with the keyboard; a customer whose login token carries
// plan=gold lands in VIP, while a visitor whose page merely claims plan=gold (setUser) does not; the
// console's customer panel shows the verified attributes and, apart and labelled, the claimed ones —
// as text, an attribute holding markup included; the customer page shows the verified ones; setUser with
// attributes past a limit rejects with the server's invalid_field. axe-core on every screen touched.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';

import {
  axeViolations, consoleAgent, createAgent, embedPage, launchBrowser, newPage, openChat, screenshot, send, signToken,
  startParley, startSite, whenReady, widgetLogin, workspace,
} from './harness.mjs';

const MARKUP = '<img src=x onerror="window.__attributeXSS=1">';

describe('attributes: verified and claimed, in the console and in routing', () => {
  let parley, browser, site, w, admin, customerURL, session;
  const pages = [];

  async function customer() {
    const page = await newPage(browser);
    pages.push(page);
    await page.goto(customerURL);
    await whenReady(page);
    return page;
  }
  // setUser calls Parley.setUser in the page and returns how it settled.
  function setUser(page, user) {
    return page.evaluate((u) => window.Parley.setUser(u).then(
      (identity) => ({ ok: true, identity }),
      (e) => ({ ok: false, code: e.code, message: e.message }),
    ), user);
  }
  // panelAttributes reads one attribute list of the customer panel ("verified" or "claimed") as the agent
  // sees it: key → text; null when the panel has no such list.
  function panelAttributes(page, kind) {
    return page.evaluate((k) => {
      const dl = document.querySelector(`[data-attributes="${k}"]`);
      if (!dl) return null;
      const out = {};
      for (const dt of dl.querySelectorAll('dt')) out[dt.textContent] = dt.nextElementSibling.textContent;
      return out;
    }, kind);
  }

  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Gold Bank');
    admin = await createAgent(parley.dataDir, w.id, { email: 'robin@goldbank.example', name: 'Robin Admin', role: 'admin' });
    customerURL = site.set('/', embedPage(parley.url, w.id, { title: 'Gold Bank' }));
    session = await consoleAgent(browser, parley.url, admin);
  });
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.context().close().catch(() => {});
  });
  after(async () => {
    await browser?.close(); await site?.close(); await parley?.close();
  });

  test('a rule on plan = gold routes the verified gold customer to VIP, not the one who claims it; the panel tells them apart', async () => {
    const con = await session.tab();
    await con.setViewportSize({ width: 1280, height: 1000 });

    // The administrator creates the VIP inbox and, with the keyboard, a rule on a verified attribute.
    await con.goto(parley.url + '/console/settings/routing');
    await con.getByRole('textbox', { name: 'Inbox name', exact: true }).last().fill('VIP');
    await con.getByRole('group', { name: 'Members' }).getByRole('checkbox', { name: admin.name }).check();
    await con.getByRole('button', { name: 'Create inbox' }).click();
    await con.getByRole('group', { name: 'Members of VIP' }).waitFor();
    const key = con.getByRole('textbox', { name: 'Verified attribute', exact: true });
    await key.focus();
    await con.keyboard.type('plan');
    await con.keyboard.press('Tab');
    assert.equal(await con.getByRole('textbox', { name: 'Attribute value', exact: true }).evaluate((el) => el === document.activeElement), true,
      'Tab goes from the attribute to its value');
    await con.keyboard.type('gold');
    assert.match(await key.evaluate((el) => el.getAttribute('aria-describedby') && document.getElementById(el.getAttribute('aria-describedby')).textContent),
      /exactly this value/, 'the attribute fields explain what they match');
    await con.getByLabel('Inbox', { exact: true }).selectOption({ label: 'VIP' });
    await con.getByRole('button', { name: 'Add rule' }).focus();
    await con.keyboard.press('Enter');
    await con.getByRole('status').filter({ hasText: 'Rule added.' }).waitFor();
    const rule = con.getByRole('table', { name: /Routing rules/ }).getByRole('row').filter({ hasText: 'VIP' });
    assert.match((await rule.innerText()).replace(/\s+/g, ' '), /plan = gold/);
    assert.deepEqual(await axeViolations(con), [], 'the routing page with an attribute rule');
    await screenshot(con, 'console-routing-attribute');

    // A bad key is refused with a message; nothing is added.
    await con.getByRole('textbox', { name: 'Verified attribute', exact: true }).evaluate((el) => el.removeAttribute('pattern')); // past the browser's own check
    await con.getByRole('textbox', { name: 'Verified attribute', exact: true }).fill('Plan');
    await con.getByRole('textbox', { name: 'Attribute value', exact: true }).fill('gold');
    await con.getByRole('button', { name: 'Add rule' }).click();
    await con.getByRole('alert').filter({ hasText: 'a-z, 0-9 and _' }).waitFor();
    assert.equal(await con.getByRole('table', { name: /Routing rules/ }).getByRole('row').filter({ hasText: 'VIP' }).count(), 1);
    assert.deepEqual(await axeViolations(con), [], 'the routing page with a refused rule');

    // Ada's page first claims things (setUser), then signs her in with a token carrying her verified
    // attributes — one of them holding markup.
    const ada = await customer();
    assert.deepEqual((await setUser(ada, { name: 'Ada', attributes: { plan: 'platinum', referrer: MARKUP } })).ok, true);
    const login = await widgetLogin(ada, signToken(w, {
      sub: 'ada-1', email: 'ada@goldbank.example', name: 'Ada Lovelace', attributes: { plan: 'gold', seats: 10, vip: true, label: MARKUP },
    }));
    assert.ok(login.ok, JSON.stringify(login));
    await openChat(ada);
    const adaMsg = await send(ada, 'My card is blocked');

    // Mallory's page claims plan=gold; she never signs in.
    const mallory = await customer();
    const claim = await setUser(mallory, { name: 'Mallory', email: 'mallory@example.com', attributes: { plan: 'gold' } });
    assert.ok(claim.ok, JSON.stringify(claim));
    await openChat(mallory);
    const malloryMsg = await send(mallory, 'I am a gold customer, honestly');

    // Attributes past a limit: the page hears the server's refusal.
    const bad = await setUser(mallory, { attributes: { plan: { tier: 'gold' } } });
    assert.equal(bad.ok, false);
    assert.equal(bad.code, 'invalid_field');
    assert.match(bad.message, /^attributes: "plan" is an object/);

    // Ada's conversation: VIP, and the panel shows both lists, apart.
    await con.goto(parley.url + '/console/conversations/' + encodeURIComponent(adaMsg.conversation));
    // The conversation's inbox, in the heading's status line (the Transfer form lists every inbox too).
    await con.locator('.status-line').getByText('VIP inbox').waitFor();
    const details = con.getByRole('complementary', { name: 'Conversation details' });
    await details.getByRole('heading', { name: 'Verified attributes', level: 3 }).waitFor();
    await details.getByRole('heading', { name: 'Claimed attributes (not verified)', level: 3 }).waitFor();
    assert.deepEqual(await panelAttributes(con, 'verified'), { label: MARKUP, plan: 'gold', seats: '10', vip: 'true' });
    assert.deepEqual(await panelAttributes(con, 'claimed'), { plan: 'platinum', referrer: MARKUP });
    assert.ok(await details.getByText(MARKUP, { exact: true }).first().isVisible(), 'markup in an attribute is shown as text');
    assert.equal(await details.locator('img').count(), 0, 'no element made of an attribute');
    assert.equal(await con.evaluate(() => window.__attributeXSS), undefined, 'no attribute ran');
    // The claimed list comes after the verified one, below a note that says what it is worth.
    assert.ok(await con.evaluate(() => {
      const v = document.querySelector('[data-attributes="verified"]');
      const c = document.querySelector('[data-attributes="claimed"]');
      return !!(v.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING);
    }), 'verified first, claimed after');
    assert.ok(await details.getByText('these prove nothing and never route a conversation', { exact: false }).isVisible());
    assert.deepEqual(await axeViolations(con), [], 'a conversation with verified and claimed attributes');
    await details.getByRole('region', { name: 'Customer' }).scrollIntoViewIfNeeded();
    await screenshot(con, 'console-attributes');

    // Mallory's conversation: no inbox, and her claim shows only as a claim.
    await con.goto(parley.url + '/console/conversations/' + encodeURIComponent(malloryMsg.conversation));
    await details.getByRole('heading', { name: 'Claimed attributes (not verified)', level: 3 }).waitFor();
    assert.equal(await con.locator('.status-line').getByText('VIP inbox').count(), 0, 'a claimed plan=gold is not routed to VIP');
    assert.equal(await panelAttributes(con, 'verified'), null);
    assert.deepEqual(await panelAttributes(con, 'claimed'), { plan: 'gold' });
    assert.deepEqual(await axeViolations(con), [], 'a conversation with claimed attributes only');

    // Ada's customer page: her verified attributes, never the claims.
    await con.goto(parley.url + '/console/conversations/' + encodeURIComponent(adaMsg.conversation));
    await con.getByRole('link', { name: 'Customer profile' }).click();
    await con.getByRole('heading', { name: 'Verified attributes', level: 3 }).waitFor();
    assert.deepEqual(await panelAttributes(con, 'verified'), { label: MARKUP, plan: 'gold', seats: '10', vip: 'true' });
    assert.equal(await panelAttributes(con, 'claimed'), null);
    assert.equal(await con.getByText('platinum').count(), 0);
    assert.equal(await con.locator('main img').count(), 0);
    assert.deepEqual(await axeViolations(con), [], 'the customer page with verified attributes');

    assert.deepEqual([...ada.errors, ...mallory.errors, ...(con.errors ?? [])], []);
  });
});
