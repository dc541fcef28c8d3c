// The token provider (Parley.setTokenProvider): the widget asks the business's site for a login token
// only when it needs one, and follows the site's login on every page load. A customer who closes the tab
// without logging out is gone from the widget once the site says nobody is signed in (or the session
// expired by the test clock); a session about to run out is renewed without the customer noticing; a
// returning customer costs no provider call and no login; another user switches person with nothing
// carried over; a provider that throws, hangs or hands out refused tokens leaves the widget anonymous,
// reports `error`, and backs off instead of looping.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  QUEUE_STUB, api, axeViolations, bubbles, cli, embedPage, eventually, launchBrowser, messageBox, newPage, openChat,
  panel, sendButton, signToken, sleep, startParley, startSite, tokenKey, trackErrors, waitForBubble, widget, widgetToken,
  workspace,
} from './harness.mjs';

const ADA = { sub: 'u-ada', email: 'ada@example.com', name: 'Ada Lovelace' };
const BOB = { sub: 'u-bob', email: 'bob@example.com', name: 'Bob Stone' };
const ADA_SECRET = 'Ada: my card ends in 4242';
const ADA_WORDS = ['Ada', 'Lovelace', 'ada@example.com', '4242', 'u-ada'];
const FORGED = 'psk_not-the-real-secret-at-all-0000000000000';

// WATCH records every text the widget's shadow root held (hidden parts included) from the first frame
// on, so a test can tell whether anything of a person was ever there.
const WATCH = `<script>
  window.__texts = [];
  (function () {
    var watched = null;
    function record() { if (watched) window.__texts.push(watched.textContent); }
    function attach() {
      var host = document.querySelector('parley-chat');
      if (!host || !host.shadowRoot || host.shadowRoot === watched) return;
      watched = host.shadowRoot;
      new MutationObserver(record).observe(watched, { subtree: true, childList: true, characterData: true, attributes: true });
      record();
    }
    new MutationObserver(attach).observe(document.documentElement, { subtree: true, childList: true });
  })();
</script>`;

// sitePage is a page of the business's site: it knows who is signed in (user: a user id, null for
// nobody, undefined when the page does not say) and gives the widget a provider that asks the site's back
// end (here: the test, through window.__token) for a login token.
function sitePage(parleyURL, ws, user) {
  const options = user === undefined ? '' : ', ' + JSON.stringify({ user });
  const head = WATCH + QUEUE_STUB + `<script>
    window.__ready = []; window.__errors = []; window.__events = [];
    Parley.on('ready', function (id) { window.__ready.push(id); });
    Parley.on('error', function (e) { window.__errors.push({ code: e.code, message: e.message }); });
    Parley.on('login', function (id) { window.__events.push('login ' + id.email); });
    Parley.on('logout', function () { window.__events.push('logout'); });
    Parley.setTokenProvider(function () { return window.__token(); }${options});
  </script>`;
  return embedPage(parleyURL, ws, { head, title: 'Provider shop' });
}

// backEnd is the site's token endpoint as the provider reaches it: it counts the calls and answers
// by mode: 'sign' (a fresh single-use token for claims, at the server's clock), 'null' (nobody is signed
// in), 'throw', 'hang' (answers after hangMs), 'forged' (a token the server refuses).
function backEnd(w, claims = ADA) {
  const b = { calls: 0, mode: 'sign', claims, offset: 0, hangMs: 6000 };
  b.fn = async () => {
    b.calls++;
    if (b.mode === 'null') return null;
    if (b.mode === 'throw') throw new Error('the site could not reach its back end');
    if (b.mode === 'hang') await sleep(b.hangMs);
    if (b.mode === 'forged') return signToken({ kid: w.kid, secret: FORGED }, b.claims);
    return signAt(w, { ...b.claims, jti: 'j-' + Math.random().toString(36).slice(2) }, b.offset);
  };
  return b;
}

// signAt signs a five-minute token at the server's clock (the real time plus offset ms).
function signAt(w, claims, offset = 0) {
  const now = Math.floor((Date.now() + offset) / 1000);
  return signToken(w, { iat: now, exp: now + 300, ...claims });
}

// device is a browser profile (its own localStorage) whose pages reach the back end through
// window.__token; it counts the widget's login requests and records the messages it posts.
async function device(browser, backend) {
  const page = await newPage(browser);
  const context = page.context();
  await context.exposeFunction('__token', () => backend.fn());
  const net = { logins: 0, posts: [] };
  context.on('request', (r) => {
    if (r.method() !== 'POST') return;
    if (r.url().endsWith('/v1/widget/login')) net.logins++;
    if (r.url().endsWith('/v1/widget/messages')) net.posts.push(JSON.parse(r.postData()).body);
  });
  return { page, context, net, async tab() { return trackErrors(await context.newPage()); } };
}

// readyOnce waits until the page heard ready, once, and returns that identity.
async function readyOnce(page) {
  const ready = await eventually(async () => {
    const r = await page.evaluate(() => window.__ready);
    assert.ok(r.length > 0, 'ready');
    return r;
  });
  assert.equal(ready.length, 1, 'ready fires once');
  return ready[0];
}

const signedIn = (page, text) => widget(page).getByText(text, { exact: true });
const sawAda = (texts) => [...new Set(texts)].filter((t) => ADA_WORDS.some((w) => t.includes(w)));

// storageOf returns every localStorage entry of the page's origin.
const storageOf = (page) => page.evaluate(() => Object.fromEntries(Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)])));

// adaSignsIn opens the site as signed-in Ada: the provider signs her in; she chats.
async function adaSignsIn(page, site, parley, w) {
  await page.goto(site.set('/ada-' + Math.random().toString(36).slice(2), sitePage(parley.url, w.id, ADA.sub)));
  const id = await readyOnce(page);
  assert.equal(id.level, 'verified');
  assert.equal(id.email, ADA.email);
  await openChat(page);
  await signedIn(page, 'Signed in as Ada Lovelace (ada@example.com)').waitFor({ state: 'visible' });
  await messageBox(page).fill(ADA_SECRET);
  await sendButton(page).click();
  return waitForBubble(page, (b) => b.text === ADA_SECRET && b.state === 'sent', 'Ada\'s message');
}

// nothingOfAda asserts that the page shows an empty widget and keeps nothing of Ada in localStorage,
// and that her old session token is dead.
async function nothingOfAda(page, parley, w, oldToken) {
  assert.deepEqual(sawAda(await page.evaluate(() => window.__texts)), [], 'nothing of Ada was ever in the widget');
  await openChat(page);
  assert.deepEqual(await bubbles(page), [], 'no bubbles');
  assert.ok(await panel(page).getByText('Hi there!', { exact: true }).isVisible());
  assert.equal(await widget(page).getByText(/Signed in as/).count(), 0, 'no signed-in line');
  const stored = await storageOf(page);
  assert.deepEqual(Object.keys(stored).filter((k) => k.startsWith('parley:')), [tokenKey(w.id)], 'only a session token is stored');
  const leaks = Object.entries(stored).filter(([k, v]) => [oldToken, ...ADA_WORDS].some((s) => k.includes(s) || v.includes(s)));
  assert.deepEqual(leaks, [], 'nothing of Ada in localStorage');
  const now = await api(parley.url, stored[tokenKey(w.id)], '/v1/widget/session');
  assert.equal(now.status, 200);
  assert.equal(now.data.identity.level, 'anonymous');
  const convs = await api(parley.url, stored[tokenKey(w.id)], '/v1/widget/conversations');
  assert.deepEqual(convs.data.conversations, [], 'the session sees no conversation');
  const old = await api(parley.url, oldToken, '/v1/widget/session');
  assert.equal(old.status, 401, 'Ada\'s old session token no longer works');
  assert.equal(old.data.error.code, 'session_invalid');
  return old;
}

describe('the token provider', () => {
  let parley, browser, site, w;
  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Provider Co');
  });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); });

  for (const [how, user, calls] of [['the page says user: null', null, 0], ['the provider answers null', undefined, 1]]) {
    test(`a verified customer closes the tab; the site's login has ended (${how}): the next page is empty, localStorage keeps nothing of hers`, async () => {
      const backend = backEnd(w);
      const { page, context, net } = await device(browser, backend);
      try {
        await adaSignsIn(page, site, parley, w);
        assert.equal(backend.calls, 1, 'one token for her sign-in');
        const oldToken = await widgetToken(page, w.id);
        await page.close(); // no logout

        backend.mode = 'null';
        backend.calls = 0;
        net.logins = 0;
        const next = trackErrors(await context.newPage());
        await next.goto(site.set('/later-' + Math.random().toString(36).slice(2), sitePage(parley.url, w.id, user)));
        const id = await readyOnce(next);
        assert.equal(id.level, 'anonymous', 'ready names nobody');
        assert.equal(backend.calls, calls, user === null ? 'user: null needs no token' : 'the provider is asked who is signed in');
        assert.equal(net.logins, 0);
        await nothingOfAda(next, parley, w, oldToken);
        assert.deepEqual(await next.evaluate(() => window.__events), ['logout'], 'the page hears logout');
        assert.deepEqual(await axeViolations(next), [], 'the emptied widget');
        assert.deepEqual(next.errors, []);
      } finally {
        await context.close();
      }
    });
  }

  test('a returning signed-in customer: a reload and a new tab cost no provider call and no login', async () => {
    const backend = backEnd(w);
    const { page, context, net } = await device(browser, backend);
    try {
      const sent = await adaSignsIn(page, site, parley, w);
      assert.equal(backend.calls, 1);
      assert.equal(net.logins, 1);
      const token = await widgetToken(page, w.id);

      await page.reload();
      const again = await readyOnce(page);
      assert.equal(again.level, 'verified');
      assert.equal(again.external_id, ADA.sub, 'the identity names the site\'s user');
      await openChat(page);
      await waitForBubble(page, (b) => b.id === sent.id, 'her message after the reload');
      const tab = await (async () => { const t = trackErrors(await context.newPage()); await t.goto(page.url()); return t; })();
      assert.equal((await readyOnce(tab)).level, 'verified');
      assert.equal(backend.calls, 1, 'no provider call on a returning visit');
      assert.equal(net.logins, 1, 'no login request on a returning visit');
      assert.equal(await widgetToken(page, w.id), token, 'the same session');

      // A page that does not say who is signed in asks the provider once, and a token for the same
      // customer spares the login.
      await tab.goto(site.set('/unknown-' + Math.random().toString(36).slice(2), sitePage(parley.url, w.id, undefined)));
      assert.equal((await readyOnce(tab)).level, 'verified');
      assert.equal(backend.calls, 2, 'asked once who is signed in');
      assert.equal(net.logins, 1, 'still no login');
      assert.deepEqual([...page.errors, ...tab.errors], []);
    } finally {
      await context.close();
    }
  });

  test('the provider signs in another user: the person switches, nothing of the previous one carries over', async () => {
    const backend = backEnd(w);
    const { page, context, net } = await device(browser, backend);
    try {
      const adas = await adaSignsIn(page, site, parley, w);
      const oldToken = await widgetToken(page, w.id);
      await page.close();

      backend.claims = BOB;
      backend.calls = 0;
      net.logins = 0;
      const next = trackErrors(await context.newPage());
      await next.goto(site.set('/bob-' + Math.random().toString(36).slice(2), sitePage(parley.url, w.id, BOB.sub)));
      const id = await readyOnce(next);
      assert.deepEqual([id.level, id.email], ['verified', BOB.email], 'ready names Bob');
      assert.equal(backend.calls, 1);
      assert.equal(net.logins, 1);
      await openChat(next);
      await signedIn(next, 'Signed in as Bob Stone (bob@example.com)').waitFor({ state: 'visible' });
      assert.deepEqual(await bubbles(next), [], 'no bubbles');
      assert.deepEqual(sawAda(await next.evaluate(() => window.__texts)), [], 'nothing of Ada was ever in the widget');

      const stored = await storageOf(next);
      assert.deepEqual(Object.keys(stored).filter((k) => k.startsWith('parley:')), [tokenKey(w.id)]);
      assert.ok(!Object.values(stored).includes(oldToken), 'Ada\'s token is gone');
      assert.equal((await api(parley.url, oldToken, '/v1/widget/session')).status, 401, 'Ada\'s session ended');
      const convs = await api(parley.url, stored[tokenKey(w.id)], '/v1/widget/conversations');
      assert.ok(!convs.data.conversations.some((c) => c.id === adas.conversation), 'Bob does not see Ada\'s conversation');

      await messageBox(next).fill('Bob: hello');
      await sendButton(next).click();
      const mine = await waitForBubble(next, (b) => b.text === 'Bob: hello' && b.state === 'sent', 'Bob\'s message');
      assert.notEqual(mine.conversation, adas.conversation);
      assert.deepEqual(next.errors, []);
    } finally {
      await context.close();
    }
  });

  test('a provider that throws: the widget stays anonymous and usable, reports error, and backs off', async () => {
    const backend = backEnd(w, { sub: 'u-cy', email: 'cy@example.com', name: 'Cy Young' });
    backend.mode = 'throw';
    const { page, context, net } = await device(browser, backend);
    try {
      const started = Date.now();
      await page.goto(site.set('/throws', sitePage(parley.url, w.id, 'u-cy')));
      assert.equal((await readyOnce(page)).level, 'anonymous');
      await openChat(page);
      await messageBox(page).fill('hello from an anonymous visitor');
      await sendButton(page).click();
      await waitForBubble(page, (b) => b.text === 'hello from an anonymous visitor' && b.state === 'sent', 'the anonymous message');
      // Retries come, spaced out: a loop would call the provider hundreds of times in these seconds.
      await eventually(() => assert.ok(backend.calls >= 3, `retried (${backend.calls} calls)`), { timeout: 15000 });
      const elapsed = (Date.now() - started) / 1000;
      assert.ok(backend.calls <= 2 + elapsed / 2, `${backend.calls} calls in ${elapsed.toFixed(1)} s`);
      await sleep(3000); // proves a negative: no burst of calls
      assert.ok(backend.calls <= 5, `${backend.calls} calls in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const errors = await page.evaluate(() => window.__errors);
      assert.ok(errors.length >= 3 && errors.length <= backend.calls, JSON.stringify(errors));
      for (const e of errors) {
        assert.equal(e.code, 'token_provider_failed');
        assert.match(e.message, /could not reach its back end/);
      }
      assert.equal(net.logins, 0);
      const s = await api(parley.url, await widgetToken(page, w.id), '/v1/widget/session');
      assert.equal(s.data.identity.level, 'anonymous');
      assert.deepEqual(await axeViolations(page), [], 'the widget after the provider failed');
      assert.deepEqual(page.errors, []);
    } finally {
      await context.close();
    }
  });

  test('a provider that hangs for 6 s: given up after 5 s, the message typed meanwhile is sent once, anonymously; the late token is not used', async () => {
    const backend = backEnd(w, { sub: 'u-dee', email: 'dee@example.com', name: 'Dee Park' });
    backend.mode = 'hang';
    const { page, context, net } = await device(browser, backend);
    try {
      const started = Date.now();
      await page.goto(site.set('/hangs', sitePage(parley.url, w.id, 'u-dee')));
      await openChat(page);
      await messageBox(page).fill('typed while the provider hangs');
      await sendButton(page).click();
      const held = await waitForBubble(page, (b) => b.text === 'typed while the provider hangs', 'the bubble');
      assert.equal(held.state, 'pending', 'it waits for the provider');
      assert.equal((await readyOnce(page)).level, 'anonymous', 'ready once the provider was given up');
      const sent = await waitForBubble(page, (b) => b.text === 'typed while the provider hangs' && b.state === 'sent', 'sent');
      const errors = await eventually(async () => {
        const e = await page.evaluate(() => window.__errors);
        assert.ok(e.length >= 1);
        return e;
      });
      assert.equal(errors[0].code, 'token_provider_failed');
      assert.match(errors[0].message, /5 seconds/);
      // The first answer arrives at 6 s, after the widget gave up: it is not used.
      await eventually(() => assert.ok(backend.calls >= 2, 'retried'), { timeout: 15000 });
      await sleep(1500);
      const elapsed = (Date.now() - started) / 1000;
      assert.ok(backend.calls <= 1 + elapsed / 5, `${backend.calls} calls in ${elapsed.toFixed(1)} s`);
      assert.equal(net.logins, 0, 'no late login');
      assert.deepEqual(net.posts.filter((b) => b === 'typed while the provider hangs').length, 1, 'posted once');
      const s = await api(parley.url, await widgetToken(page, w.id), '/v1/widget/session');
      assert.equal(s.data.identity.level, 'anonymous');
      const m = await api(parley.url, await widgetToken(page, w.id), `/v1/widget/conversations/${encodeURIComponent(sent.conversation)}/messages`);
      assert.deepEqual(m.data.messages.filter((x) => x.sender === 'customer').map((x) => [x.body, x.trusted]), [['typed while the provider hangs', false]]);
      assert.deepEqual(page.errors, []);
    } finally {
      await context.close();
    }
  });

  test('tokens the server refuses: error with the server\'s code, logins backed off', async () => {
    const backend = backEnd(w, { sub: 'u-eve', email: 'eve@example.com', name: 'Eve Moss' });
    backend.mode = 'forged';
    const { page, context, net } = await device(browser, backend);
    try {
      const started = Date.now();
      await page.goto(site.set('/forged', sitePage(parley.url, w.id, 'u-eve')));
      assert.equal((await readyOnce(page)).level, 'anonymous');
      await eventually(() => assert.ok(net.logins >= 3, `retried (${net.logins} logins)`), { timeout: 15000 });
      await sleep(2000); // proves a negative: no burst of logins
      const elapsed = (Date.now() - started) / 1000;
      assert.ok(net.logins <= 2 + elapsed / 2, `${net.logins} logins in ${elapsed.toFixed(1)} s`);
      assert.equal(net.logins, backend.calls, 'one login per token');
      const errors = await page.evaluate(() => window.__errors);
      assert.ok(errors.length >= 3);
      for (const e of errors) assert.equal(e.code, 'token_bad_signature');
      assert.deepEqual(page.errors, []);
    } finally {
      await context.close();
    }
  });
});

// The test clock: `parley serve` reads its time offset from PARLEY_CLOCK_OFFSET_FILE (a Go duration).
describe('the token provider and the test clock', () => {
  let parley, browser, site, clockFile;
  let offset = 0; // ms the server's clock is ahead of the real one

  before(async () => {
    clockFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'parley-clock-')), 'offset');
    writeFileSync(clockFile, '');
    [parley, browser, site] = await Promise.all([
      startParley({ demo: false, env: { PARLEY_CLOCK_OFFSET_FILE: clockFile } }), launchBrowser(), startSite()]);
  });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); });

  // advance moves the server's clock forward by ms and waits until it runs on it: a token signed at
  // the new time is refused as not yet valid until then.
  async function advance(w, ms) {
    offset += ms;
    writeFileSync(clockFile, Math.round(offset / 1000) + 's');
    await eventually(async () => {
      const s = await api(parley.url, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: w.id }) });
      const l = await api(parley.url, s.data.session_token, '/v1/widget/login', { method: 'POST', body: JSON.stringify({ token: signAt(w, { sub: 'u-probe', email: 'probe@example.com' }, offset) }) });
      assert.equal(l.status, 200, JSON.stringify(l.data));
    });
  }

  test('a verified customer closes the tab and her session expires (idle): the next page is empty, localStorage keeps nothing of hers', async () => {
    const w = await workspace(parley.dataDir, 'Clock Co');
    const backend = backEnd(w);
    backend.offset = offset;
    const { page, context, net } = await device(browser, backend);
    try {
      await adaSignsIn(page, site, parley, w);
      const oldToken = await widgetToken(page, w.id);
      await page.close();

      await advance(w, 13 * 3600e3); // past the verified idle timeout (12 h)
      backend.calls = 0;
      net.logins = 0;
      const next = trackErrors(await context.newPage());
      await next.goto(site.set('/expired-' + Math.random().toString(36).slice(2), sitePage(parley.url, w.id, null)));
      assert.equal((await readyOnce(next)).level, 'anonymous');
      const old = await nothingOfAda(next, parley, w, oldToken);
      assert.match(old.data.error.message, /expired/);
      assert.equal(backend.calls, 0);
      assert.equal(net.logins, 0);
      assert.deepEqual(next.errors, []);
    } finally {
      await context.close();
    }
  });

  test('an open page whose session expires: the provider signs the customer back in, no reload', async () => {
    const w = await workspace(parley.dataDir, 'Clock Two Co');
    const backend = backEnd(w);
    backend.offset = offset;
    const { page, context } = await device(browser, backend);
    try {
      const sent = await adaSignsIn(page, site, parley, w);
      const oldToken = await widgetToken(page, w.id);
      await page.evaluate(() => { window.__same = true; });
      await advance(w, 13 * 3600e3);
      backend.offset = offset;
      // The server re-checks the live connection's session on its next ping (every 30 s) and ends it.
      await eventually(async () => {
        assert.equal(backend.calls, 2, 'the provider was asked again');
        const token = await widgetToken(page, w.id);
        assert.notEqual(token, oldToken);
        const s = await api(parley.url, token, '/v1/widget/session');
        assert.equal(s.data.identity.level, 'verified');
      }, { timeout: 60000, interval: 250 });
      assert.equal(await page.evaluate(() => window.__same), true, 'no reload');
      await signedIn(page, 'Signed in as Ada Lovelace (ada@example.com)').waitFor({ state: 'visible' });
      await waitForBubble(page, (b) => b.id === sent.id, 'her conversation, back on screen');
      assert.deepEqual(await page.evaluate(() => window.__errors), []);
      assert.deepEqual(page.errors, []);
    } finally {
      await context.close();
    }
  });

  test('silent refresh: a session near its absolute lifetime is renewed without the customer noticing', async () => {
    const w = await workspace(parley.dataDir, 'Renew Co', '--verified-idle-timeout', '24h', '--verified-lifetime', '24h');
    const backend = backEnd(w);
    backend.offset = offset;
    const page = await newPage(browser);
    const context = page.context();
    await context.exposeFunction('__token', () => backend.fn());
    const posts = [];
    let logins = 0;
    context.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/v1/widget/login')) logins++;
      if (r.method() === 'POST' && r.url().endsWith('/v1/widget/messages')) posts.push(JSON.parse(r.postData()).body);
    });
    try {
      // The page's clock runs with the server's.
      await page.clock.install({ time: new Date(Date.now() + offset) });
      const sent = await adaSignsIn(page, site, parley, w);
      const oldToken = await widgetToken(page, w.id);
      const before = await api(parley.url, oldToken, '/v1/widget/session');
      const oldEnd = Date.parse(before.data.session.expires_at);
      assert.ok(Math.abs(oldEnd - (Date.now() + offset + 24 * 3600e3)) < 60e3, 'the session ends 24 h after the login');
      assert.equal(backend.calls, 1);
      assert.equal(logins, 1);
      // Marks that a reload or a redraw of the conversation would lose.
      await page.evaluate(() => { window.__same = true; window.__texts = []; });
      await widget(page).locator(`[data-id="${sent.id}"]`).evaluate((el) => { el.__same = true; });

      // Hold the renewal's login at the server's door, then move both clocks to 3 minutes before the end.
      let release;
      let arrived;
      const released = new Promise((r) => { release = r; });
      const held = new Promise((r) => { arrived = r; });
      await page.route('**/v1/widget/login', async (route) => { arrived(); await released; await route.continue().catch(() => {}); });
      const jump = oldEnd - (Date.now() + offset) - 3 * 60e3;
      await advance(w, jump);
      backend.offset = offset;
      await page.clock.fastForward(jump);
      await Promise.race([held, sleep(20000).then(() => { throw new Error('the widget did not renew the session'); })]);
      assert.equal(backend.calls, 2, 'the provider was asked for the renewal');

      await messageBox(page).fill('typed during the renewal');
      await sendButton(page).click();
      const pending = await waitForBubble(page, (b) => b.text === 'typed during the renewal', 'the new bubble');
      assert.equal(pending.state, 'pending');
      assert.ok(await signedIn(page, 'Signed in as Ada Lovelace (ada@example.com)').isVisible(), 'still signed in on screen');
      release();

      await waitForBubble(page, (b) => b.text === 'typed during the renewal' && b.state === 'sent', 'sent after the renewal');
      const newToken = await eventually(async () => {
        const t = await widgetToken(page, w.id);
        assert.notEqual(t, oldToken, 'the session token rotated');
        return t;
      });
      assert.equal(logins, 2);
      assert.equal(await page.evaluate(() => window.__same), true, 'no reload');
      assert.equal(await widget(page).locator(`[data-id="${sent.id}"]`).evaluate((el) => el.__same === true), true, 'the conversation stayed on screen');
      const texts = await page.evaluate(() => window.__texts);
      assert.ok(texts.every((t) => t.includes(ADA_SECRET)), 'the conversation never left the screen');
      assert.ok(!texts.some((t) => t.includes('One moment')), 'no waiting panel');
      assert.deepEqual(await page.evaluate(() => window.__events), ['login ada@example.com'], 'no logout, no second login event');
      assert.equal((await api(parley.url, oldToken, '/v1/widget/session')).status, 401, 'the old token is rotated out');
      const after = await api(parley.url, newToken, '/v1/widget/session');
      assert.equal(after.data.identity.customer_id, before.data.identity.customer_id);
      assert.ok(Date.parse(after.data.session.expires_at) > oldEnd, 'a new lifetime');

      // Past the old end the session goes on; the message is stored exactly once, trusted.
      await advance(w, 10 * 60e3);
      await page.clock.fastForward(10 * 60e3);
      assert.equal((await api(parley.url, newToken, '/v1/widget/session')).status, 200);
      const m = await api(parley.url, newToken, `/v1/widget/conversations/${encodeURIComponent(sent.conversation)}/messages`);
      const customer = m.data.messages.filter((x) => x.sender === 'customer').map((x) => [x.body, x.trusted]);
      assert.deepEqual(customer, [[ADA_SECRET, true], ['typed during the renewal', true]]);
      assert.equal(posts.filter((b) => b === 'typed during the renewal').length, 1, 'posted once');
      assert.deepEqual(await page.evaluate(() => window.__errors), []);
      assert.deepEqual(page.errors, []);
    } finally {
      await context.close();
    }
  });
});

// The demo shop uses the provider: its page names the signed-in user, its back end signs the tokens.
describe('the demo shop\'s token provider', () => {
  let parley, browser;
  before(async () => { [parley, browser] = await Promise.all([startParley(), launchBrowser()]); });
  after(async () => { await browser?.close(); await parley?.close(); });

  test('sign in once; reloads and new tabs cost no token and no login; the shop\'s login ending empties the widget', async () => {
    const page = await newPage(browser);
    const context = page.context();
    const ws = parley.demo.workspace_id;
    const net = { tokens: 0, logins: 0 };
    context.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/demo/token')) net.tokens++;
      if (r.method() === 'POST' && r.url().endsWith('/v1/widget/login')) net.logins++;
    });
    const ready = (p) => p.evaluate(() => new Promise((resolve) => window.Parley.on('ready', resolve)));
    try {
      await page.goto(parley.url + '/');
      assert.equal((await ready(page)).level, 'anonymous');
      assert.deepEqual(net, { tokens: 0, logins: 0 }, 'an anonymous visitor costs nothing');
      await page.locator('#name').fill('Ada Lovelace');
      await page.locator('#email').fill('ada@example.com');
      await page.locator('#signin-form button').click();
      await openChat(page);
      await signedIn(page, 'Signed in as Ada Lovelace (ada@example.com)').waitFor({ state: 'visible' });
      await messageBox(page).fill(ADA_SECRET);
      await sendButton(page).click();
      await waitForBubble(page, (b) => b.text === ADA_SECRET && b.state === 'sent', 'her message');
      assert.deepEqual(net, { tokens: 1, logins: 1 });
      const adaToken = await widgetToken(page, ws);

      await page.reload();
      assert.equal((await ready(page)).email, 'ada@example.com');
      const tab = trackErrors(await context.newPage());
      await tab.goto(parley.url + '/');
      assert.equal((await ready(tab)).email, 'ada@example.com');
      assert.equal(await tab.locator('#account').textContent(), 'Signed in as Ada Lovelace (ada@example.com)');
      assert.deepEqual(net, { tokens: 1, logins: 1 }, 'no token and no login for a returning customer');
      await tab.close();

      // The shop's own login ends (its cookie is gone) without anyone signing out of the chat.
      await context.clearCookies();
      await page.reload();
      assert.equal((await ready(page)).level, 'anonymous');
      await openChat(page);
      assert.deepEqual(await bubbles(page), []);
      const stored = await storageOf(page);
      assert.deepEqual(Object.keys(stored).filter((k) => k.startsWith('parley:')), [tokenKey(ws)]);
      assert.notEqual(stored[tokenKey(ws)], adaToken);
      assert.equal((await api(parley.url, adaToken, '/v1/widget/session')).status, 401);
      assert.deepEqual(net, { tokens: 1, logins: 1 });
      assert.deepEqual(page.errors, []);
    } finally {
      await context.close();
    }
  });
});
