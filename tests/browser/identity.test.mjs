// Identity on the demo shop: signing in mid-conversation, signing out on a shared device, and one
// customer on two devices.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  api, apiView, bubbles, eventually, launchBrowser, newPage, openChat, panel, screenshot, send, shadowText,
  sleep, startParley, tokenKey, waitForBubble, whenReady, widget, widgetToken,
} from './harness.mjs';

const AGENT_GREETING = 'Hi! Sam from Acme here. I will be with you in a moment.';

// signIn uses the demo shop's own sign-in form, whose back end signs a login token for the widget.
async function signIn(page, name, email) {
  await page.locator('#name').fill(name);
  await page.locator('#email').fill(email);
  await page.locator('#signin-form button').click();
}

// watchTabs counts the anonymous sessions each tab starts from now on, and remembers the session
// token each tab's live connection last authenticated with.
function watchTabs(tabs) {
  const created = {};
  const socketToken = {};
  for (const [name, page] of Object.entries(tabs)) {
    created[name] = 0;
    socketToken[name] = null;
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/v1/widget/sessions')) created[name]++; });
    page.on('websocket', (socket) => socket.on('framesent', (f) => {
      try {
        const frame = JSON.parse(String(f.payload));
        if (frame.type === 'auth') socketToken[name] = frame.session_token;
      } catch { /* not JSON */ }
    }));
  }
  return { created, socketToken };
}

const signedInLine = (page, text) => widget(page).getByText(text, { exact: true });

describe('identity on the demo shop', () => {
  let parley, browser, ws;
  before(async () => {
    [parley, browser] = await Promise.all([startParley(), launchBrowser()]);
    ws = parley.demo.workspace_id;
  });
  after(async () => { await browser?.close(); await parley?.close(); });

  test('signing in mid-conversation keeps the conversation; only later messages are trusted', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(parley.url + '/');
      await whenReady(page);
      await openChat(page);
      const before = await send(page, 'before');
      await panel(page).getByRole('link', { name: 'Sign in' }).waitFor();

      await page.locator('#signin-form button').click();
      await signedInLine(page, 'Signed in as Ada Lovelace (ada@example.com)').waitFor({ state: 'visible' });
      assert.equal(await panel(page).getByRole('link', { name: 'Sign in' }).count(), 0, 'no sign-in link once signed in');
      assert.ok(await panel(page).getByText('Hi Ada!', { exact: true }).isVisible());

      const afterLogin = await send(page, 'after');
      const shown = await bubbles(page);
      const earlier = shown.find((b) => b.text === 'before');
      assert.ok(earlier, 'the earlier bubble is still shown');
      assert.equal(earlier.id, before.id);
      assert.equal(earlier.state, 'sent');
      assert.equal(earlier.conversation, afterLogin.conversation);
      assert.ok(shown.indexOf(earlier) < shown.findIndex((b) => b.text === 'after'));

      const view = await apiView(page, parley.url, ws);
      assert.equal(view.identity.level, 'verified');
      assert.equal(view.identity.email, 'ada@example.com');
      const all = view.conversations.flatMap((c) => c.messages);
      const b = all.filter((m) => m.body === 'before');
      const a = all.filter((m) => m.body === 'after');
      assert.equal(b.length, 1);
      assert.equal(a.length, 1);
      assert.equal(b[0].trusted, false, '"before" was sent anonymously');
      assert.equal(a[0].trusted, true, '"after" was sent signed in');
      assert.equal(a[0].conversation_id, b[0].conversation_id, 'one conversation');

      // The demo agent's reply arrives live in the signed-in conversation.
      const reply = await waitForBubble(page, (x) => x.sender === 'agent', 'the agent reply');
      assert.equal(reply.text, AGENT_GREETING);
      await panel(page).getByText(AGENT_GREETING).waitFor({ state: 'visible' });
      await screenshot(page, 'signed-in');
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('signing out on a shared device leaves nothing of the previous customer', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(parley.url + '/');
      await whenReady(page);
      await signIn(page, 'Lin Park', 'lin@example.com');
      await openChat(page);
      await signedInLine(page, 'Signed in as Lin Park (lin@example.com)').waitFor({ state: 'visible' });
      const secret = await send(page, 'my order 1234 ships to 1 Main St');
      await waitForBubble(page, (b) => b.sender === 'agent', 'the agent greeting');
      const oldToken = await widgetToken(page, ws);

      await page.locator('#signout').click();
      await eventually(async () => {
        assert.deepEqual(await bubbles(page), [], 'no bubbles of the previous customer');
        assert.equal(await widget(page).getByText(/Signed in as/).count(), 0, 'no signed-in line');
        assert.deepEqual(await shadowText(page, '.hello'), ['Hi there!']);
        const token = await widgetToken(page, ws);
        assert.ok(token && token !== oldToken, 'a new session token');
      });
      assert.ok(await panel(page).getByText('Hi there!', { exact: true }).isVisible());

      const storage = await page.evaluate(() => ({ local: Object.keys(localStorage), session: Object.keys(sessionStorage) }));
      assert.deepEqual(storage.local.filter((k) => /parley/i.test(k)), [tokenKey(ws)], 'only the new session token in localStorage');
      assert.deepEqual(storage.session.filter((k) => /parley/i.test(k)), [], 'nothing of Parley in sessionStorage');
      const old = await api(parley.url, oldToken, '/v1/widget/session');
      assert.equal(old.status, 401);
      assert.equal(old.data.error.code, 'session_invalid');

      // The next person's message starts a new, untrusted conversation.
      const next = await send(page, 'hello, new visitor here');
      assert.notEqual(next.conversation, secret.conversation);
      const view = await apiView(page, parley.url, ws);
      assert.equal(view.identity.level, 'anonymous');
      assert.deepEqual(view.conversations.map((c) => c.id), [next.conversation]);
      const mine = view.conversations[0].messages.filter((m) => m.sender === 'customer');
      assert.deepEqual(mine.map((m) => [m.body, m.trusted]), [['hello, new visitor here', false]]);

      // A reload shows the new visitor's conversation and nothing of the previous customer.
      await page.reload();
      await whenReady(page);
      await openChat(page);
      await waitForBubble(page, (b) => b.text === 'hello, new visitor here', 'the new visitor\'s message');
      const shown = await bubbles(page);
      assert.deepEqual(shown.filter((b) => b.conversation !== next.conversation), [], 'no bubble of another conversation');
      assert.equal(shown.filter((b) => b.text.includes('1234')).length, 0);
      assert.equal(await widget(page).getByText(/Signed in as/).count(), 0);
      assert.ok(await panel(page).getByText('Hi there!', { exact: true }).isVisible());
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('one customer on two devices: history follows, new messages arrive live', async () => {
    const a = await newPage(browser);
    const b = await newPage(browser);
    try {
      await Promise.all([a.goto(parley.url + '/'), b.goto(parley.url + '/')]);
      await Promise.all([whenReady(a), whenReady(b)]);

      await signIn(a, 'Grace Hopper', 'grace@example.com');
      await openChat(a);
      await signedInLine(a, 'Signed in as Grace Hopper (grace@example.com)').waitFor({ state: 'visible' });
      const history = await send(a, 'from A: my history');

      await openChat(b);
      assert.deepEqual(await bubbles(b), [], 'B sees nothing while anonymous');
      await signIn(b, 'Grace Hopper', 'Grace@Example.com');
      await signedInLine(b, 'Signed in as Grace Hopper (grace@example.com)').waitFor({ state: 'visible' });
      const seen = await waitForBubble(b, (x) => x.text === 'from A: my history', 'A\'s history on B');
      assert.equal(seen.id, history.id);
      assert.equal(seen.sender, 'customer');

      // Live, both ways, without a reload.
      await send(a, 'from A: live');
      await waitForBubble(b, (x) => x.text === 'from A: live' && x.state === 'sent', 'A\'s live message on B');
      await send(b, 'from B: live');
      await waitForBubble(a, (x) => x.text === 'from B: live' && x.state === 'sent', 'B\'s live message on A');

      for (const p of [a, b]) {
        const texts = (await bubbles(p)).filter((x) => x.sender === 'customer').map((x) => x.text);
        assert.deepEqual(texts, ['from A: my history', 'from A: live', 'from B: live']);
      }
      assert.deepEqual([...a.errors, ...b.errors], []);
    } finally {
      await Promise.all([a.context().close(), b.context().close()]);
    }
  });

  test('signing in as someone else without signing out shows none of the previous customer', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(parley.url + '/');
      await whenReady(page);
      await signIn(page, 'Mia Wong', 'mia@example.com');
      await openChat(page);
      await signedInLine(page, 'Signed in as Mia Wong (mia@example.com)').waitFor({ state: 'visible' });
      const mias = await send(page, 'Mia: my address is 9 Elm Rd');
      await waitForBubble(page, (b) => b.sender === 'agent', 'the agent greeting');

      await signIn(page, 'Noah Berg', 'noah@example.com');
      await signedInLine(page, 'Signed in as Noah Berg (noah@example.com)').waitFor({ state: 'visible' });
      await eventually(async () => assert.deepEqual(await bubbles(page), [], 'none of Mia\'s bubbles'));
      assert.deepEqual(await shadowText(page, '.hello'), ['Hi Noah!']);
      const noahs = await send(page, 'Noah: hello');
      assert.notEqual(noahs.conversation, mias.conversation);
      const view = await apiView(page, parley.url, ws);
      assert.equal(view.identity.email, 'noah@example.com');
      assert.deepEqual(view.conversations.map((c) => c.id), [noahs.conversation], 'Noah sees only his conversation');

      await page.reload();
      await whenReady(page);
      await openChat(page);
      await waitForBubble(page, (b) => b.text === 'Noah: hello', 'Noah\'s message after a reload');
      assert.equal((await bubbles(page)).filter((b) => b.text.startsWith('Mia')).length, 0);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('two tabs of one browser: signing in in one, the other follows without discarding the session', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(15000);
    const [a, b] = [await context.newPage(), await context.newPage()];
    try {
      await a.goto(parley.url + '/');
      await whenReady(a);
      await b.goto(parley.url + '/');
      await whenReady(b);
      assert.equal(await widgetToken(b, ws), await widgetToken(a, ws), 'one session for the browser');
      await openChat(a);
      await openChat(b);
      const watch = watchTabs({ A: a, B: b });
      // Tab A's answer to its login arrives 300 ms late, so tab B hears from the server that the session
      // was rotated before tab A has stored the new token (the order varies on its own; this fixes it).
      await a.route('**/v1/widget/login', async (route) => {
        const res = await route.fetch();
        await sleep(300);
        await route.fulfill({ response: res }).catch(() => {});
      });

      await signIn(a, 'Omar Haddad', 'omar@example.com');
      await signedInLine(a, 'Signed in as Omar Haddad (omar@example.com)').waitFor({ state: 'visible' });
      await signedInLine(b, 'Signed in as Omar Haddad (omar@example.com)').waitFor({ state: 'visible' });
      assert.equal((await apiView(a, parley.url, ws)).identity.level, 'verified', 'the stored session is the verified one');
      assert.deepEqual(watch.created, { A: 0, B: 0 },
        'a tab started a new anonymous session (and wiped the shared token) while the other tab was signing in');

      await send(a, 'Omar: private question');
      await waitForBubble(b, (x) => x.text === 'Omar: private question', 'Omar\'s message in the other tab');
    } finally {
      await context.close();
    }
  });

  test('two tabs of one browser: signing out in one leaves both on the one fresh session', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(15000);
    const a = await context.newPage();
    try {
      await a.goto(parley.url + '/');
      await whenReady(a);
      await signIn(a, 'Pia Lund', 'pia@example.com');
      await openChat(a);
      await signedInLine(a, 'Signed in as Pia Lund (pia@example.com)').waitFor({ state: 'visible' });
      await send(a, 'Pia: private question');
      const b = await context.newPage();
      await b.goto(parley.url + '/');
      await whenReady(b);
      await openChat(b);
      await signedInLine(b, 'Signed in as Pia Lund (pia@example.com)').waitFor({ state: 'visible' });
      await waitForBubble(b, (x) => x.text === 'Pia: private question', 'Pia\'s message in the second tab');
      const watch = watchTabs({ A: a, B: b });

      await a.locator('#signout').click();
      for (const p of [a, b]) {
        await eventually(async () => {
          assert.deepEqual((await bubbles(p)).filter((x) => x.text.startsWith('Pia')), [], 'no bubble of Pia');
          assert.equal(await widget(p).getByText(/Signed in as/).count(), 0, 'no signed-in line');
        });
      }
      assert.deepEqual(watch.created, { A: 0, B: 0 },
        'a tab started an anonymous session of its own instead of taking the one the sign-out stored');

      // Both tabs settle on the session stored for the browser: a message from one shows in the other,
      // and the stored session is the one that holds it.
      await eventually(async () => {
        const stored = await widgetToken(a, ws);
        assert.deepEqual(watch.socketToken, { A: stored, B: stored }, 'each tab\'s live connection uses the stored session');
      });
      const next = await send(b, 'new visitor in tab B');
      await waitForBubble(a, (x) => x.text === 'new visitor in tab B', 'the new message in tab A');
      const view = await apiView(b, parley.url, ws);
      assert.equal(view.identity.level, 'anonymous');
      assert.deepEqual(view.conversations.map((c) => c.id), [next.conversation]);
    } finally {
      await context.close();
    }
  });
});
