// A shared computer: Ada signs in and chats, then closes the tab without logging out. Bob's page queues
// Parley.login(bobToken) and Parley.open() before the widget loads, and his login answer is slow. Until
// it arrives the widget must show nothing of Ada, tell the page nothing of Ada (ready), and hold what Bob
// types — then send it as Bob, or drop it with a visible error when his login fails. Logout clears the
// screen before the server answers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  QUEUE_STUB, api, axeViolations, bubbles, embedPage, eventually, launchBrowser, messageBox, newPage, openChat,
  panel, sendButton, signToken, startParley, startSite, trackErrors, waitForBubble, whenReady, widget,
  widgetToken, workspace,
} from './harness.mjs';

const ADA = { sub: 'u-ada', email: 'ada@example.com', name: 'Ada Lovelace' };
const BOB = { sub: 'u-bob', email: 'bob@example.com', name: 'Bob Stone' };
const ADA_SECRET = 'Ada: my card ends in 4242';
const ADA_WORDS = ['Ada', 'Lovelace', 'ada@example.com', '4242'];

// WATCH records every text the widget's shadow root held (hidden parts included) from the first frame
// on, and every ready event, so that a test can tell whether anything of Ada was ever there.
const WATCH = `<script>
  window.__texts = new Set();
  window.__ready = [];
  (function () {
    var watched = null;
    function record() { if (watched) window.__texts.add(watched.textContent); }
    // The widget attaches its shadow root before it puts its element in the page; a MutationObserver
    // hears of the element in the same task, before any answer from the server can be drawn.
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

// personPage is a page of the business's site for a signed-in person: it queues login and open before
// the widget has loaded, as the README advises, and records what the page hears.
function personPage(parleyURL, ws, token, call = `Parley.login(${JSON.stringify(token)})`) {
  const head = WATCH + QUEUE_STUB + `<script>
    Parley.on('ready', function (id) { window.__ready.push(id); });
    window.__login = ${call}.then(
      function (id) { return { ok: true, identity: id }; },
      function (e) { return { ok: false, code: e.code, message: e.message }; });
    Parley.open();
  </script>`;
  return embedPage(parleyURL, ws, { head, title: 'Shared computer' });
}

// gate holds a route until release() is called; held resolves once the request has arrived.
async function gate(page, pattern) {
  let release;
  let arrived;
  const released = new Promise((r) => { release = r; });
  const held = new Promise((r) => { arrived = r; });
  await page.route(pattern, async (route) => {
    arrived();
    await released;
    await route.continue().catch(() => {});
  });
  return { release, held };
}

// conversationsOf logs a fresh API session in as claims and returns every message it can read.
async function messagesOf(parleyURL, w, claims) {
  const s = await api(parleyURL, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: w.id }) });
  assert.equal(s.status, 201, JSON.stringify(s.data));
  const l = await api(parleyURL, s.data.session_token, '/v1/widget/login', { method: 'POST', body: JSON.stringify({ token: signToken(w, claims) }) });
  assert.equal(l.status, 200, JSON.stringify(l.data));
  const token = l.data.session_token;
  const c = await api(parleyURL, token, '/v1/widget/conversations');
  const out = [];
  for (const conv of c.data.conversations) {
    const m = await api(parleyURL, token, `/v1/widget/conversations/${encodeURIComponent(conv.id)}/messages`);
    out.push(...m.data.messages);
  }
  return out;
}

const sawAda = (texts) => texts.filter((t) => ADA_WORDS.some((w) => t.includes(w)));

describe('a new person on a shared computer', () => {
  let parley, browser, site, w;
  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Shared Co');
  });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); });

  // adaLeaves signs Ada in on a fresh browser profile, has her chat, and closes her tab without logging
  // out: the browser keeps her session. It returns the browser context.
  async function adaLeaves() {
    const page = await newPage(browser);
    await page.goto(site.set('/ada-' + Math.random().toString(36).slice(2), personPage(parley.url, w.id, signToken(w, ADA))));
    assert.equal((await page.evaluate(() => window.__login)).ok, true);
    await widget(page).getByText('Signed in as Ada Lovelace (ada@example.com)', { exact: true }).waitFor({ state: 'visible' });
    await messageBox(page).fill(ADA_SECRET);
    await sendButton(page).click();
    await waitForBubble(page, (b) => b.text === ADA_SECRET && b.state === 'sent', 'Ada\'s message');
    assert.deepEqual(page.errors, []);
    const context = page.context();
    await page.close();
    return context;
  }

  // bobArrives opens Bob's page in the same browser profile with his login held at the server's door,
  // and types and sends a message at once.
  async function bobArrives(context, token, text, { call, route = '**/v1/widget/login' } = {}) {
    const page = trackErrors(await context.newPage());
    const posts = [];
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/v1/widget/messages')) posts.push(r.postData()); });
    const login = await gate(page, route);
    await page.goto(site.set('/bob-' + Math.random().toString(36).slice(2), personPage(parley.url, w.id, token, call)));
    await login.held;
    await messageBox(page).fill(text);
    await sendButton(page).click();
    const held = await waitForBubble(page, (b) => b.text === text, 'Bob\'s bubble');
    assert.equal(held.state, 'pending', 'the message waits for the login');
    return { page, posts, login };
  }

  test('queued login and open with a slow answer: nothing of Ada shows, ready names Bob, his message is his', async () => {
    const context = await adaLeaves();
    try {
      const { page, posts, login } = await bobArrives(context, signToken(w, BOB), 'Bob: is my parcel on its way?');
      assert.ok(await panel(page).isVisible(), 'the panel the page opened is open');
      assert.deepEqual(posts, [], 'nothing is sent while the login is on its way');
      assert.deepEqual(await page.evaluate(() => window.__ready), [], 'no ready before the login settles');
      assert.deepEqual(await axeViolations(page), [], 'the waiting panel');

      login.release();
      assert.equal((await page.evaluate(() => window.__login)).ok, true);
      await widget(page).getByText('Signed in as Bob Stone (bob@example.com)', { exact: true }).waitFor({ state: 'visible' });
      const sent = await waitForBubble(page, (b) => b.text === 'Bob: is my parcel on its way?' && b.state === 'sent', 'Bob\'s message, sent');
      assert.equal(posts.length, 1, 'sent once');

      // What the page heard, and what the widget ever held.
      const ready = await page.evaluate(() => window.__ready);
      assert.deepEqual(ready.map((id) => [id.level, id.email]), [['verified', 'bob@example.com']], 'one ready, for Bob');
      const texts = await page.evaluate(() => [...window.__texts]);
      assert.ok(texts.length > 1, 'the observer saw the widget change');
      assert.deepEqual(sawAda(texts), [], 'nothing of Ada was ever in the widget');
      assert.deepEqual((await bubbles(page)).map((b) => b.text), ['Bob: is my parcel on its way?']);

      // Through the API: the message is Bob's, trusted; Ada's conversation did not get it.
      const view = { token: await widgetToken(page, w.id) };
      const s = await api(parley.url, view.token, '/v1/widget/session');
      assert.equal(s.data.identity.email, 'bob@example.com');
      const bobs = await messagesOf(parley.url, w, BOB);
      const mine = bobs.find((m) => m.id === sent.id);
      assert.ok(mine, 'the message is in Bob\'s conversation');
      assert.equal(mine.body, 'Bob: is my parcel on its way?');
      assert.equal(mine.trusted, true, 'sent as verified Bob');
      const adas = await messagesOf(parley.url, w, ADA);
      assert.ok(adas.some((m) => m.body === ADA_SECRET), 'Ada\'s own message is still hers');
      assert.equal(adas.filter((m) => m.body.startsWith('Bob')).length, 0, 'Ada\'s conversation did not get Bob\'s message');
      assert.deepEqual(page.errors, []);
    } finally {
      await context.close();
    }
  });

  test('queued login that fails: the held message is not sent, an alert says so, and Ada stays gone', async () => {
    const context = await adaLeaves();
    try {
      const forged = signToken({ kid: w.kid, secret: 'psk_not-the-real-secret-at-all-0000000000000' }, BOB);
      const { page, posts, login } = await bobArrives(context, forged, 'Bob: hello?');
      login.release();
      const result = await page.evaluate(() => window.__login);
      assert.equal(result.ok, false);
      assert.equal(result.code, 'token_bad_signature');
      const alert = widget(page).getByRole('alert').filter({ hasText: /not sent/i });
      await alert.waitFor({ state: 'visible' });
      await eventually(async () => {
        const b = (await bubbles(page)).find((x) => x.text === 'Bob: hello?');
        assert.equal(b.state, 'failed');
      });
      assert.deepEqual(await axeViolations(page), [], 'the error');
      // The widget goes on anonymously: Ada's session is not resumed for whoever is at the keyboard.
      const ready = await page.evaluate(() => window.__ready);
      assert.deepEqual(ready.map((id) => id.level), ['anonymous'], 'ready once, never for Ada');
      await eventually(async () => {
        const s = await api(parley.url, await widgetToken(page, w.id), '/v1/widget/session');
        assert.equal(s.status, 200);
        assert.equal(s.data.identity.level, 'anonymous');
      });
      assert.deepEqual(posts, [], 'nothing was sent');
      assert.deepEqual(sawAda(await page.evaluate(() => [...window.__texts])), [], 'nothing of Ada was ever in the widget');
      const adas = await messagesOf(parley.url, w, ADA);
      assert.equal(adas.filter((m) => m.body.startsWith('Bob')).length, 0, 'Ada\'s conversation did not get it');
      assert.deepEqual(page.errors, []);
    } finally {
      await context.close();
    }
  });

  test('queued setUser with another email: Ada\'s verified session ends first; Bob\'s claim gets none of her chats', async () => {
    const context = await adaLeaves();
    try {
      const call = "Parley.setUser({ name: 'Bob Stone', email: 'bob@example.com' })";
      const { page, posts, login } = await bobArrives(context, null, 'Bob: hi, just browsing', { call, route: '**/v1/widget/identify' });
      assert.deepEqual(posts, [], 'nothing is sent while the claim is on its way');
      login.release();
      assert.equal((await page.evaluate(() => window.__login)).ok, true);
      const sent = await waitForBubble(page, (b) => b.text === 'Bob: hi, just browsing' && b.state === 'sent', 'Bob\'s message, sent');
      const ready = await page.evaluate(() => window.__ready);
      assert.deepEqual(ready.map((id) => [id.level, id.email]), [['identified', 'bob@example.com']]);
      assert.deepEqual(sawAda(await page.evaluate(() => [...window.__texts])), [], 'nothing of Ada was ever in the widget');
      const s = await api(parley.url, await widgetToken(page, w.id), '/v1/widget/conversations');
      assert.equal(s.data.conversations.length, 1, 'Bob\'s claim sees one conversation, his own');
      assert.equal(s.data.conversations[0].id, sent.conversation);
      const adas = await messagesOf(parley.url, w, ADA);
      assert.equal(adas.filter((m) => m.body.startsWith('Bob')).length, 0, 'Ada\'s conversation did not get it');
      assert.deepEqual(page.errors, []);
    } finally {
      await context.close();
    }
  });

  test('logout clears the screen before the server answers', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(site.set('/logout', embedPage(parley.url, w.id, { title: 'Logout' })));
      await whenReady(page);
      await page.evaluate((t) => window.Parley.login(t), signToken(w, { sub: 'u-lin', email: 'lin@example.com', name: 'Lin Park' }));
      await openChat(page);
      await widget(page).getByText('Signed in as Lin Park (lin@example.com)', { exact: true }).waitFor({ state: 'visible' });
      await messageBox(page).fill('Lin: my address is 1 Main St');
      await sendButton(page).click();
      await waitForBubble(page, (b) => b.text === 'Lin: my address is 1 Main St' && b.state === 'sent', 'Lin\'s message');

      const logout = await gate(page, '**/v1/widget/logout');
      await page.evaluate(() => { window.__logout = window.Parley.logout(); });
      await logout.held;
      // The server has not answered yet; the screen is already clear.
      assert.deepEqual(await bubbles(page), [], 'no bubble of Lin');
      const text = await widget(page).evaluate((host) => host.shadowRoot.textContent);
      for (const word of ['Lin', '1 Main St', 'Signed in as']) assert.ok(!text.includes(word), `"${word}" is gone: ${text}`);
      logout.release();
      await page.evaluate(() => window.__logout);
      const s = await api(parley.url, await widgetToken(page, w.id), '/v1/widget/session');
      assert.equal(s.data.identity.level, 'anonymous');
      assert.deepEqual(await bubbles(page), []);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });
});
