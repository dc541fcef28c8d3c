// The server goes away mid-conversation and comes back: messages typed meanwhile wait, then are stored
// exactly once and in order.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  api, apiView, bubbles, connectionStatus, eventually, launchBrowser, messageBox, newPage, openChat, send, sendButton,
  startParley, waitForBubble, whenReady, widgetToken,
} from './harness.mjs';

describe('reconnecting', () => {
  let parley, browser;
  before(async () => { [parley, browser] = await Promise.all([startParley(), launchBrowser()]); });
  after(async () => { await browser?.close(); await parley?.close(); });

  test('messages sent while the server is down are delivered once, in order, after it restarts', { timeout: 90000 }, async () => {
    const page = await newPage(browser);
    try {
      await page.goto(parley.url + '/');
      await whenReady(page);
      await openChat(page);
      const first = await send(page, 'first, while online');
      // Let the demo agent's greeting (a second after the conversation starts) land before the outage.
      await waitForBubble(page, (b) => b.sender === 'agent', 'the agent greeting');

      await parley.stop('SIGTERM');
      await eventually(async () => {
        assert.match(await connectionStatus(page).textContent(), /Reconnecting…|Offline/);
      }, { timeout: 15000 });

      for (const text of ['second, while offline', 'third, while offline']) {
        await messageBox(page).fill(text);
        await sendButton(page).click();
      }
      await eventually(async () => {
        const waiting = (await bubbles(page)).filter((b) => b.text.endsWith('while offline'));
        assert.deepEqual(waiting.map((b) => [b.text, b.state, b.id]),
          [['second, while offline', 'pending', null], ['third, while offline', 'pending', null]]);
        assert.match(await connectionStatus(page).textContent(), /Reconnecting…|Offline|Waiting/);
      });

      await parley.restart();
      const sent = await eventually(async () => {
        const all = await bubbles(page);
        const mine = all.filter((b) => b.sender === 'customer');
        assert.deepEqual(mine.map((b) => [b.text, b.state]), [
          ['first, while online', 'sent'], ['second, while offline', 'sent'], ['third, while offline', 'sent'],
        ]);
        return mine;
      }, { timeout: 45000 });
      await eventually(async () => assert.equal(await connectionStatus(page).textContent(), ''), { timeout: 30000 });

      assert.equal(sent[0].id, first.id);
      const ids = sent.map((b) => b.id);
      assert.deepEqual([...ids].sort(), ids, 'ids in the order the messages were typed');
      assert.equal(new Set(ids).size, 3);

      const view = await apiView(page, parley.url, parley.demo.workspace_id);
      assert.equal(view.conversations.length, 1);
      const stored = view.conversations[0].messages.filter((m) => m.sender === 'customer');
      for (const text of ['first, while online', 'second, while offline', 'third, while offline']) {
        assert.equal(stored.filter((m) => m.body === text).length, 1, `"${text}" stored exactly once`);
      }
      assert.deepEqual(stored.map((m) => m.id), ids, 'the widget shows the stored ids');

      // Each message is shown exactly once, also after a reload.
      await page.reload();
      await whenReady(page);
      await openChat(page);
      await eventually(async () => {
        const texts = (await bubbles(page)).filter((b) => b.sender === 'customer').map((b) => b.text);
        assert.deepEqual(texts, ['first, while online', 'second, while offline', 'third, while offline']);
      });
    } finally {
      await page.context().close();
    }
  });

  test('an agent message sent while the live connection is down appears once when it resumes', { timeout: 60000 }, async () => {
    const page = await newPage(browser);
    // The test sits between the widget and the server's WebSocket, so it can cut the connection while the
    // server stays up (a phone switching networks).
    let blocked = false;
    const live = [];
    await page.routeWebSocket(/\/v1\/widget\/ws$/, (socket) => {
      if (blocked) { socket.close({ code: 1006, reason: 'network down' }).catch(() => {}); return; }
      socket.connectToServer();
      live.push(socket);
    });
    try {
      await page.goto(parley.url + '/');
      await whenReady(page);
      await openChat(page);
      await eventually(() => assert.equal(live.length, 1, 'the widget is connected'));
      blocked = true;
      for (const socket of live.splice(0)) await socket.close({ code: 1006, reason: 'network down' }).catch(() => {});

      // The first message starts the conversation; the demo agent answers a second later, while the
      // widget has no live connection.
      const first = await send(page, 'are you there?');
      const token = await widgetToken(page, parley.demo.workspace_id);
      await eventually(async () => {
        const res = await api(parley.url, token, `/v1/widget/conversations/${first.conversation}/messages`);
        assert.ok(res.data.messages.some((m) => m.sender === 'agent'), 'the agent has answered');
      });
      assert.deepEqual((await bubbles(page)).map((b) => b.sender), ['customer'], 'not shown yet: no live connection');

      blocked = false;
      const reply = await waitForBubble(page, (b) => b.sender === 'agent', 'the agent reply after the resume', 45000);
      assert.equal(reply.conversation, first.conversation);
      await eventually(async () => assert.equal(await connectionStatus(page).textContent(), ''));
      const shown = await bubbles(page);
      assert.deepEqual(shown.map((b) => b.sender), ['customer', 'agent'], 'each message once, in order');
    } finally {
      await page.context().close();
    }
  });
});
