// The chat page, /chat/{workspace} (docs/mobile.md): the widget full-page for links and mobile apps,
// signed in by a single-use token in the URL's fragment. The bank story of LiveChat's custom identity
// provider: the customer chats on the laptop (the widget on the bank's website, a site-signed token),
// the agent follows up while they are away, and the bank's mobile app opens the chat page with a
// customers-API login token — the whole history and the follow-up are there, and the link works once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  QUEUE_STUB, api, axeViolations, bubbles, cli, consoleAgent, consoleTimeline, createAgent, embedPage, eventually, launchBrowser,
  messageBox, newPage, openChat, screenshot, send, sendButton, signToken, startParley, startSite, waitForBubble, whenReady, widget,
  workspace,
} from './harness.mjs';

const conversationURL = (parleyURL, id) => `${parleyURL}/console/conversations/${encodeURIComponent(id)}`;

// A phone: a mobile-sized, touch browser context of its own (its own storage).
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

// The chat page as a screen reader reads it: one main landmark named for the workspace, its name as the
// page's heading; no launcher, no close button.
const chatMain = (page, name) => page.getByRole('main', { name: `Chat with ${name}` });
const signedInLine = (page) => widget(page).getByText(/^Signed in as /);
const notice = (page) => widget(page).locator('.notice');

// pageSession is the chat page's session token: in sessionStorage, for the tab alone.
const pageSession = (page, ws) => page.evaluate((k) => sessionStorage.getItem(k), `parley:${ws}:token`);

// identityOf asks the API who the page's session is.
async function identityOf(page, parleyURL, ws) {
  const token = await pageSession(page, ws);
  assert.ok(token, 'the page keeps a session token in sessionStorage');
  const r = await api(parleyURL, token, '/v1/widget/session');
  assert.equal(r.status, 200, JSON.stringify(r.data));
  return r.data.identity;
}

// watchRequests records every request the page makes: its URL and Referer.
function watchRequests(page) {
  const seen = [];
  page.on('request', (r) => seen.push({ url: r.url(), referer: r.headers().referer || '' }));
  page.on('websocket', (ws) => seen.push({ url: ws.url(), referer: '' }));
  return seen;
}

// axe runs axe-core on the page. axe-core adds inline styles of its own, which the page's CSP refuses
// (and Chromium reports as console errors): the page's own errors are checked before it runs, and only
// those refusals are forgiven after.
const AXE_STYLE = /Applying inline style violates the following Content Security Policy/;
async function axe(page) {
  assert.deepEqual(errors(page), [], 'no page error before axe-core runs');
  page.axeRan = true;
  return axeViolations(page);
}
const errors = (page) => page.errors.filter((e) => !(page.axeRan && AXE_STYLE.test(e)));

// addressBar reads what the page's own scripts could see of where it is, and the tab's whole history as
// the browser keeps it (every entry's URL, through the DevTools protocol).
async function addressBar(page) {
  const seen = await page.evaluate(() => ({ href: location.href, hash: location.hash, historyLength: history.length, state: history.state }));
  const cdp = await page.context().newCDPSession(page);
  const { entries } = await cdp.send('Page.getNavigationHistory');
  await cdp.detach();
  return { ...seen, entries: entries.map((e) => e.url) };
}

describe('the chat page: the bank story, from the laptop to the phone', () => {
  let parley, browser, site, w, agent, bankKey;
  const contexts = [];
  const device = async (options) => {
    const page = await newPage(browser, options);
    contexts.push(page.context());
    return page;
  };
  const backEnd = {
    put: (id, profile) => api(parley.url, bankKey, `/v1/customers/${encodeURIComponent(id)}`, { method: 'PUT', body: JSON.stringify(profile) }),
    loginToken: async (id) => {
      const r = await api(parley.url, bankKey, `/v1/customers/${encodeURIComponent(id)}/login-tokens`, { method: 'POST' });
      assert.equal(r.status, 201, JSON.stringify(r.data));
      return r.data.token;
    },
  };

  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    // The bank's website is the only origin it lists: the chat page, on Parley's own origin, must still work.
    w = await workspace(parley.dataDir, 'Harbour Bank', '--allowed-origins', site.url);
    agent = await createAgent(parley.dataDir, w.id, { email: 'sam@harbour.example', name: 'Sam Agent' });
    bankKey = (await cli(parley.dataDir, 'apikey', 'create', '--workspace', w.id, '--name', 'harbour back end')).key;
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close(); await site?.close(); await parley?.close();
  });

  test('laptop chat, a follow-up while away, the whole history on the phone; the link works once and leaves no trace', async () => {
    const USER = 'cust-5150';
    const QUESTION = 'Could I borrow 40,000 instead of 25,000? What would the rate be?';
    const ANSWER = 'Yes, you could: the rate would be 6.1% over 7 years.';
    const FOLLOW_UP = 'I have sent you a second offer to compare: 5.8% over 10 years.';
    const FROM_PHONE = 'One more question: can I repay early without a fee?';
    assert.equal((await backEnd.put(USER, { email: 'noor@example.com', name: 'Noor Haddad' })).status, 201);

    // 1. The laptop: the bank's website signs the widget in with a token it signed itself.
    const laptop = await device();
    const siteToken = signToken(w, { sub: USER, email: 'noor@example.com', name: 'Noor Haddad', jti: 'site-login-1' });
    await laptop.goto(site.set('/account', embedPage(parley.url, w.id, {
      title: 'Harbour Bank — your account',
      head: QUEUE_STUB + `<script>window.parleyLogin = Parley.login(${JSON.stringify(siteToken)}).then(function (id) { return id.level; }, function (e) { return e.code; });</script>`,
    })));
    await whenReady(laptop);
    assert.equal(await laptop.evaluate(() => window.parleyLogin), 'verified');
    await openChat(laptop);
    const asked = await send(laptop, QUESTION);
    const conversation = asked.conversation;

    // The agent answers on the console while the customer is there.
    const console_ = await (await consoleAgent(browser, parley.url, agent)).tab();
    contexts.push(console_.context());
    await console_.goto(conversationURL(parley.url, conversation));
    await console_.getByRole('textbox', { name: /^(Reply|Follow-up) to / }).fill(ANSWER);
    await console_.getByRole('button', { name: 'Send', exact: true }).click();
    await waitForBubble(laptop, (b) => b.sender === 'agent' && b.text === ANSWER, 'the answer on the laptop');

    // 2. The customer leaves the computer. The agent closes the conversation, then follows up.
    await laptop.close();
    await console_.getByRole('button', { name: 'Close conversation' }).click();
    const followUp = console_.getByRole('button', { name: /follow-up/i });
    await followUp.waitFor({ state: 'visible' });
    await console_.getByRole('textbox', { name: /^(Reply|Follow-up) to / }).fill(FOLLOW_UP);
    await followUp.click();
    await eventually(async () => {
      const t = await consoleTimeline(console_);
      assert.ok(t.some((e) => e.sender === 'agent' && e.text.includes(FOLLOW_UP)), 'the follow-up in the timeline');
    });

    // 3. Hours later, the phone: the bank's app asks its back end for a login token (customers API) and
    // opens the chat page with it in the fragment.
    const token = await backEnd.loginToken(USER);
    const link = `${parley.url}/chat/${w.id}#token=${token}`;
    const phone = await device(PHONE);
    const requests = watchRequests(phone);
    const response = await phone.goto(link);
    assert.equal(response.status(), 200);
    const main = chatMain(phone, 'Harbour Bank');
    await main.waitFor({ state: 'visible' });
    await signedInLine(phone).filter({ hasText: 'Noor Haddad (noor@example.com)' }).waitFor({ state: 'visible' });
    await waitForBubble(phone, (b) => b.sender === 'agent' && b.text === FOLLOW_UP, 'the follow-up on the phone');
    const history = (await bubbles(phone)).filter((b) => b.sender !== 'system');
    assert.deepEqual(history.map((b) => [b.sender, b.text, b.conversation]),
      [['customer', QUESTION, conversation], ['agent', ANSWER, conversation], ['agent', FOLLOW_UP, conversation]], 'the whole history, in order');
    assert.equal(await phone.title(), 'Harbour Bank', 'the page is titled with the workspace name');

    // The token is gone from the address bar, the history and the page's own view of its URL.
    const bar = await addressBar(phone);
    assert.equal(bar.href, `${parley.url}/chat/${w.id}`, 'location.href holds no token');
    assert.equal(bar.hash, '');
    // The tab's history: whatever a new tab starts with, then the page, once, without its token.
    assert.ok(bar.entries.every((u) => !u.includes(token) && !u.includes('#')), `no history entry holds the token: ${bar.entries}`);
    assert.deepEqual(bar.entries.filter((u) => u.startsWith(parley.url)), [`${parley.url}/chat/${w.id}`], 'the entry was replaced, not pushed');
    assert.equal(bar.historyLength, bar.entries.length);
    assert.equal(bar.state, null);
    assert.ok(!phone.url().includes(token), 'the browser shows no token');
    for (const r of requests) {
      assert.ok(!r.url.includes(token), `no request carries the token: ${r.url}`);
      assert.equal(r.referer, '', `no referrer is sent: ${r.url} got ${r.referer}`);
    }
    assert.ok(requests.some((r) => r.url.endsWith('/v1/widget/login')), 'the page logged in');
    assert.ok(!parley.log().includes(token), 'the server log never saw the token');
    assert.equal(await phone.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('parley:')).length), 0, 'nothing in localStorage');

    // The phone's session is Noor's, verified; her new question is trusted and reaches the agent live,
    // with the green mark — from Parley's own origin, which the workspace's allowed origins do not list.
    const id = await identityOf(phone, parley.url, w.id);
    assert.equal(id.level, 'verified');
    assert.equal(id.external_id, USER);
    await messageBox(phone).tap();
    await messageBox(phone).fill(FROM_PHONE);
    await sendButton(phone).tap();
    const mine = await waitForBubble(phone, (b) => b.sender === 'customer' && b.text === FROM_PHONE && b.state === 'sent', 'the question from the phone');
    assert.equal(mine.conversation, conversation, 'the same conversation continues');
    await eventually(async () => {
      const t = await consoleTimeline(console_);
      const m = t.find((e) => e.sender === 'customer' && e.text.includes(FROM_PHONE));
      assert.ok(m, 'the phone\'s message reaches the agent live');
      assert.equal(m.trust, 'green');
    });
    await messageBox(phone).blur();
    await screenshot(phone, 'chat-page-phone');
    assert.deepEqual(await axe(phone), [], 'axe-core on the signed-in chat page');

    // A reload keeps the tab's session (the fragment is gone, nothing to redeem again).
    await phone.reload();
    await signedInLine(phone).waitFor({ state: 'visible' });
    await waitForBubble(phone, (b) => b.text === FROM_PHONE, 'the history after a reload');

    // 4. The same link again, on another device: the token is spent. The page stays anonymous, says so
    // politely, shows nothing of Noor, and keeps no trace of the token either.
    const stranger = await device(PHONE);
    const strangerRequests = watchRequests(stranger);
    await stranger.goto(link);
    await notice(stranger).filter({ hasText: 'This sign-in link has already been used.' }).waitFor({ state: 'visible' });
    assert.equal(await widget(stranger).getByRole('status').filter({ hasText: 'already been used' }).count(), 1, 'the notice is a status');
    assert.equal(await signedInLine(stranger).count(), 0);
    assert.deepEqual(await bubbles(stranger), [], 'nothing of Noor');
    assert.equal((await identityOf(stranger, parley.url, w.id)).level, 'anonymous');
    assert.equal((await addressBar(stranger)).href, `${parley.url}/chat/${w.id}`);
    assert.ok(strangerRequests.every((r) => !r.url.includes(token)));
    assert.doesNotMatch(await notice(stranger).innerText(), /token_|jti|401/, 'plain words, not the server\'s error');
    assert.deepEqual(await axe(stranger), [], 'axe-core on the refused link');

    // 5. The same link again in the phone's own tab (a same-document navigation: only the fragment
    // changes): refused, and the tab, which can no longer tell who holds it, is no longer Noor's.
    await phone.goto(link);
    await notice(phone).filter({ hasText: 'already been used' }).waitFor({ state: 'visible' });
    await eventually(async () => assert.equal(await signedInLine(phone).count(), 0, 'not signed in'));
    await eventually(async () => assert.equal((await identityOf(phone, parley.url, w.id)).level, 'anonymous'));
    assert.deepEqual(await bubbles(phone), []);
    const again = await addressBar(phone);
    assert.equal(again.href, `${parley.url}/chat/${w.id}`);
    assert.equal(again.state, null);
    assert.ok(again.entries.every((u) => !u.includes(token) && !u.includes('#')), `no history entry holds the token: ${again.entries}`);
    await phone.goBack();
    assert.equal((await addressBar(phone)).href, `${parley.url}/chat/${w.id}`, 'the earlier history entry holds no token either');

    assert.deepEqual([...errors(phone), ...errors(stranger), ...console_.errors], []);
  });

  test('keyboard, screen reader and small screens: 360x640 and the on-screen keyboard', async () => {
    const token = signToken(w, { sub: 'cust-7', email: 'lee@example.com', name: 'Lee Park', jti: 'link-7' });
    const page = await device({ viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true });
    await page.goto(`${parley.url}/chat/${w.id}#token=${token}`);
    const main = chatMain(page, 'Harbour Bank');
    await main.waitFor({ state: 'visible' });
    await signedInLine(page).waitFor({ state: 'visible' });

    // Roles and names: the heading, the message log, the composer; no launcher and no close button.
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Harbour Bank');
    assert.equal(await widget(page).getByRole('log', { name: 'Messages' }).count(), 1);
    assert.equal(await widget(page).getByRole('button', { name: 'Chat', exact: true }).count(), 0, 'no launcher');
    assert.equal(await widget(page).getByRole('button', { name: 'Close chat' }).count(), 0, 'no close button');
    assert.equal(await page.getByRole('dialog').count(), 0, 'the page is not a dialog');

    // The panel fills the screen, nothing scrolls sideways, the composer is on screen.
    const fits = async (height) => {
      const box = await main.boundingBox();
      assert.ok(box.x >= 0 && box.y >= 0 && box.width <= 360 && Math.abs(box.width - 360) < 1, `the panel spans the width: ${JSON.stringify(box)}`);
      assert.ok(Math.abs(box.height - height) < 2, `the panel is ${box.height}px high, the visible viewport ${height}px`);
      const send = await sendButton(page).boundingBox();
      assert.ok(send.y + send.height <= height, `Send is on screen: ${JSON.stringify(send)} in ${height}px`);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'no horizontal scroll');
    };
    await fits(640);

    // Keyboard: Tab reaches the log, then the message box; Enter sends; Escape closes nothing.
    await page.keyboard.press('Tab');
    await eventually(async () => assert.equal(await widget(page).getByRole('log', { name: 'Messages' }).evaluate((el) => el.getRootNode().activeElement === el), true, 'Tab focuses the log'));
    await page.keyboard.press('Tab');
    await eventually(async () => assert.equal(await messageBox(page).evaluate((el) => el.getRootNode().activeElement === el), true, 'then the message box'));
    await page.keyboard.type('Typed with the keyboard');
    await page.keyboard.press('Enter');
    await waitForBubble(page, (b) => b.sender === 'customer' && b.text === 'Typed with the keyboard' && b.state === 'sent', 'the typed message');
    await page.keyboard.press('Escape');
    assert.ok(await main.isVisible(), 'Escape leaves the page as it is');

    // The on-screen keyboard takes the lower half: the panel shrinks to what is left, Send stays visible.
    await messageBox(page).focus();
    await page.setViewportSize({ width: 360, height: 330 });
    await eventually(() => fits(330));
    await page.setViewportSize({ width: 360, height: 640 });
    await eventually(() => fits(640));
    await screenshot(page, 'chat-page-360');
    assert.deepEqual(await axe(page), []);
    assert.deepEqual(errors(page), []);
  });

  test('a site-signed token without jti is refused on the page, politely; hide-until-login asks to sign in; an unknown workspace is a plain 404', async () => {
    const noJTI = signToken(w, { sub: 'cust-8', email: 'kim@example.com', name: 'Kim Lee' });
    const page = await device(PHONE);
    await page.goto(`${parley.url}/chat/${w.id}#token=${noJTI}`);
    await notice(page).filter({ hasText: 'We could not sign you in with this link.' }).waitFor({ state: 'visible' });
    assert.equal((await identityOf(page, parley.url, w.id)).level, 'anonymous');
    assert.equal((await addressBar(page)).hash, '');
    // An anonymous visitor can still write.
    await send(page, 'Hello without signing in');
    assert.deepEqual(page.errors, []);

    // A workspace that hides its widget until login: the page is never blank, it asks to sign in.
    const hidden = await workspace(parley.dataDir, 'Members Only', '--hide-until-login', '--login-url', 'https://members.example/login');
    const visitor = await device(PHONE);
    await visitor.goto(`${parley.url}/chat/${hidden.id}`);
    await chatMain(visitor, 'Members Only').waitFor({ state: 'visible' });
    await widget(visitor).getByText('Please sign in to chat with us.').waitFor({ state: 'visible' });
    assert.equal(await widget(visitor).getByRole('link', { name: 'Sign in' }).first().getAttribute('href'), 'https://members.example/login');
    assert.equal(await messageBox(visitor).count(), 0, 'no composer before signing in');
    assert.deepEqual(errors(visitor), []);

    const missing = await device();
    const res = await missing.goto(`${parley.url}/chat/ws_doesnotexist`);
    assert.equal(res.status(), 404);
    assert.equal(await missing.getByRole('heading', { level: 1 }).innerText(), 'Chat not found');
    assert.equal(await missing.locator('script').count(), 0);
    assert.deepEqual(await axe(missing), []);
  });
});
