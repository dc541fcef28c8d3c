// A page view costs nothing (issue 17): a visitor who browses without opening the chat makes at most one
// API request per page view (after the static files) — no session, no write, no WebSocket — and the
// session, the socket and the message list come when they interact. A returning visitor with an open
// conversation keeps a live socket, so an agent's follow-up raises the badge at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  api, consoleAgent, createAgent, embedPage, eventually, launchBrowser, launcher, newPage, openChat, send, sleep,
  startParley, startSite, tokenKey, unreadBadge, waitForBubble, whenReady, widgetToken, workspace,
} from './harness.mjs';

const FOLLOW_UP = 'Your parcel left the depot this morning.';

// record notes the page's requests to Parley's API and its WebSockets.
function record(page, parleyURL) {
  const rec = { api: [], sockets: [] };
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin === parleyURL && u.pathname.startsWith('/v1/')) rec.api.push(r.method() + ' ' + u.pathname);
  });
  page.on('websocket', (ws) => rec.sockets.push(ws.url()));
  return rec;
}

describe('page views', () => {
  let parley, browser, site, w, agent, pageURL;
  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Parcel Co');
    agent = await createAgent(parley.dataDir, w.id, { email: 'sam@parcel.example', name: 'Sam Agent' });
    pageURL = (name) => site.set('/' + name, embedPage(parley.url, w.id, { title: 'Parcel Co' }));
  });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); });

  // view loads a page in the device's context and waits until the widget has started and anything it
  // would do on its own has had time to happen.
  async function view(context, name) {
    const page = await context.newPage();
    const rec = record(page, parley.url);
    await page.goto(pageURL(name));
    await whenReady(page);
    await launcher(page).waitFor({ state: 'visible' });
    await sleep(1000); // room for any request or socket the widget should not make
    return { page, rec };
  }

  test('browsing costs one request and no socket; interacting starts the session; an agent follow-up reaches a returning visitor live', async () => {
    const first = await newPage(browser);
    const device = first.context();
    try {
      // A new visitor: only the workspace's config, no session stored, no socket.
      const rec1 = record(first, parley.url);
      await first.goto(pageURL('home'));
      await whenReady(first);
      await launcher(first).waitFor({ state: 'visible' });
      await sleep(1000);
      assert.deepEqual(rec1.api, ['GET /v1/widget/config']);
      assert.deepEqual(rec1.sockets, []);
      assert.equal(await first.evaluate((k) => localStorage.getItem(k), tokenKey(w.id)), null, 'no session stored');
      await first.close();

      // More pages, static files cached now: at most one request each, never a POST, never a socket.
      for (const name of ['products', 'pricing']) {
        const { page, rec } = await view(device, name);
        assert.ok(rec.api.length <= 1 && rec.api.every((r) => r === 'GET /v1/widget/config'), `${name}: ${rec.api}`);
        assert.deepEqual(rec.sockets, []);
        await page.close();
      }

      // Opening the chat is the first interaction: a session, a socket, the conversation list once.
      const { page: chat, rec: recChat } = await view(device, 'help');
      recChat.api.length = 0;
      await openChat(chat);
      await eventually(() => assert.equal(recChat.sockets.length, 1));
      await eventually(() => assert.ok(recChat.api.includes('GET /v1/widget/conversations')));
      assert.equal(recChat.api.filter((r) => r === 'POST /v1/widget/sessions').length, 1, `${recChat.api}`);
      const asked = await send(chat, 'Where is my parcel?');
      await sleep(500);
      assert.equal(recChat.api.filter((r) => r === 'GET /v1/widget/conversations').length, 1, `list fetched once: ${recChat.api}`);
      await chat.close();

      // A returning visitor with an open conversation: one request, and a socket for the answer.
      const { page: back, rec: recBack } = await view(device, 'tracking');
      assert.deepEqual(recBack.api, ['GET /v1/widget/session']);
      assert.equal(recBack.sockets.length, 1, 'an open conversation keeps a live socket');
      assert.equal(await unreadBadge(back).isVisible(), false);

      // The agent follows up: the badge counts it live, with the panel closed and no request made.
      const console_ = await (await consoleAgent(browser, parley.url, agent)).tab();
      try {
        await console_.goto(`${parley.url}/console/conversations/${encodeURIComponent(asked.conversation)}`);
        await console_.getByRole('textbox', { name: /^(Reply|Follow-up) to / }).fill(FOLLOW_UP);
        await console_.getByRole('button', { name: 'Send', exact: true }).click();
        await unreadBadge(back).getByText('1', { exact: true }).waitFor({ state: 'visible' });
        assert.deepEqual(recBack.api, ['GET /v1/widget/session'], 'the follow-up came on the socket');

        // Opening the panel loads the messages once and shows the follow-up.
        await openChat(back);
        await waitForBubble(back, (b) => b.sender === 'agent' && b.text === FOLLOW_UP, 'the follow-up');
        await sleep(500);
        assert.equal(recBack.api.filter((r) => r === 'GET /v1/widget/conversations').length, 1, `${recBack.api}`);
        assert.equal(await unreadBadge(back).isVisible(), false);
        const token = await widgetToken(back, w.id);
        await back.close();

        // Closed, the conversation needs no socket: a returning visitor browsing makes one request.
        await console_.getByRole('button', { name: 'Close conversation' }).click();
        await eventually(async () => {
          const { data } = await api(parley.url, token, '/v1/widget/session');
          assert.equal(data.conversations[0].status, 'closed');
        });
      } finally {
        await console_.context().close();
      }
      const { page: later, rec: recLater } = await view(device, 'blog');
      assert.deepEqual(recLater.api, ['GET /v1/widget/session']);
      assert.deepEqual(recLater.sockets, []);
      assert.equal(await unreadBadge(later).isVisible(), false, 'nothing unread: the follow-up was shown');
    } finally {
      await device.close();
    }
  });
});
