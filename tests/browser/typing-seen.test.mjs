// Typing and seen, both ways, as a customer on a business's website and an agent in the console see
// them: "Ada Lovelace is typing…" in the conversation and on the inbox row, the agent's typing as dots in
// the widget, "Seen" under the agent's message once the customer has the panel open, "Read" under the
// customer's message once an agent read it (after a reload too), and the workspace's switch that turns
// "Read" off. Waits are bounded (1 s for typing, as the issue asks), never measured.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  axeViolations, bubbles, cli, consoleAgent, createAgent, embedPage, eventually, launchBrowser, messageBox, newPage, openChat,
  screenshot, send, startParley, startSite, whenReady, widget, workspace,
} from './harness.mjs';

const conversationURL = (parleyURL, id) => `${parleyURL}/console/conversations/${encodeURIComponent(id)}`;

describe('typing and seen', () => {
  let parley, browser, site, w, agent, customerURL;

  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Typing Co');
    agent = await createAgent(parley.dataDir, w.id, { email: 'sam@typing.example', name: 'Sam Agent', role: 'admin' });
    customerURL = site.set('/', embedPage(parley.url, w.id, { title: 'Typing Co' }));
  });
  after(async () => {
    await browser?.close(); await site?.close(); await parley?.close();
  });

  test('typing both ways, Seen in the console, Read in the widget, and the switch that hides Read', async () => {
    // The customer: identified as Ada, panel open, first message sent.
    const cust = await newPage(browser);
    await cust.goto(customerURL);
    await whenReady(cust);
    await cust.evaluate(() => window.Parley.setUser({ name: 'Ada Lovelace', email: 'ada@typing.example' }));
    await openChat(cust);
    const first = await send(cust, 'Hello, is anyone there?');
    const id = first.conversation;

    // The agent: the inbox in one tab, the conversation in another.
    const session = await consoleAgent(browser, parley.url, agent);
    const inbox = await session.tab();
    await inbox.goto(parley.url + '/console/?view=open');
    await inbox.locator(`li[data-conversation="${id}"]`).waitFor();
    const conv = await session.tab();
    // The test can hold the conversation page's socket back: the page must catch up on what happened
    // between its render and its subscription (below, the customer's seen mark).
    let holdSocket = false;
    await conv.routeWebSocket(/\/console\/ws$/, async (ws) => {
      if (holdSocket) await new Promise((resolve) => setTimeout(resolve, 3000));
      ws.connectToServer();
    });
    await conv.goto(conversationURL(parley.url, id));
    await conv.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();
    // Opening the conversation read the customer's message: the widget says so under it.
    const receipt = widget(cust).locator(`[data-id="${first.id}"] .receipt`);
    await receipt.waitFor({ timeout: 5000 });
    assert.equal(await receipt.textContent(), 'Read');

    // The customer types: the console shows it in a polite live region, and marks the inbox row.
    await messageBox(cust).pressSequentially('Where is my par', { delay: 20 });
    const typingLine = conv.getByRole('status').filter({ hasText: 'Ada Lovelace is typing…' });
    await typingLine.waitFor({ timeout: 1000 });
    assert.equal(await conv.locator('[data-typing-line]').getAttribute('aria-live'), 'polite');
    await inbox.locator(`li[data-conversation="${id}"] [data-typing-marker]`).waitFor({ timeout: 1000 });
    await screenshot(conv, 'console-typing');
    assert.deepEqual(await axeViolations(conv), [], 'axe-core on the conversation with the typing line');
    // Sending ends it at once (the widget sends stop), without waiting for the indicator to expire.
    await messageBox(cust).pressSequentially('cel?', { delay: 20 });
    await widget(cust).getByRole('button', { name: 'Send', exact: true }).click();
    await conv.locator('[data-typing-line]').filter({ hasText: /^$/ }).waitFor({ timeout: 3000 });
    await inbox.locator(`li[data-conversation="${id}"] [data-typing-marker]`).waitFor({ state: 'detached', timeout: 3000 });

    // The agent types: three dots in the widget, announced once as "Agent is typing"; the text stays home.
    const reply = conv.locator('#reply-body');
    await reply.pressSequentially('Let me check', { delay: 20 });
    const dots = widget(cust).locator('.typing');
    await dots.waitFor({ state: 'visible', timeout: 1000 });
    const note = widget(cust).locator('.typing-note');
    assert.equal(await note.textContent(), 'Agent is typing');
    assert.equal(await note.getAttribute('aria-live'), 'polite');
    assert.ok(!(await widget(cust).locator('.body').textContent()).includes('Let me check'), 'the agent\'s draft never reaches the widget');
    await screenshot(cust, 'widget-typing');

    // The agent sends: the dots go, and with the panel open and the page visible the customer has seen
    // the reply, which the console shows under it. Sending reloads the agent's page; its new socket is
    // held back 3 s, so the customer's seen mark lands while the page is not listening yet, and the page
    // learns of it only by catching up once its socket is ready.
    holdSocket = true;
    await conv.getByRole('button', { name: 'Send', exact: true }).click();
    await eventually(async () => {
      const agentMsgs = (await bubbles(cust)).filter((b) => b.sender === 'agent');
      assert.equal(agentMsgs.length, 1);
    });
    await dots.waitFor({ state: 'hidden', timeout: 3000 });
    const seen = conv.locator('li[data-sender="agent"] [data-seen]');
    await seen.waitFor({ timeout: 15000 }); // generous: the full suite runs two browsers on two cores
    holdSocket = false;
    assert.match(await seen.textContent(), /^Seen \S/);
    assert.deepEqual(await axeViolations(conv), [], 'axe-core on the conversation with Seen');
    await screenshot(conv, 'console-seen');

    // With the panel closed the customer sees nothing new: Seen stays; opening the panel moves it.
    await widget(cust).getByRole('button', { name: 'Close chat' }).click();
    await conv.locator('#reply-body').fill('Found it: it ships tomorrow.');
    await conv.getByRole('button', { name: 'Send', exact: true }).click();
    await eventually(async () => assert.equal(await widget(cust).locator('.badge').textContent(), '1', 'the reply arrived unread'));
    const seenUnder = () => conv.locator('li[data-sender="agent"]').filter({ has: conv.locator('[data-seen]') });
    assert.match(await seenUnder().textContent(), /Let me check/);
    await openChat(cust);
    await eventually(async () => assert.match(await seenUnder().textContent(), /ships tomorrow/), { timeout: 5000 });

    // Read: the newest customer message once the agent's page read it; a reload still shows it.
    const second = (await bubbles(cust)).find((b) => b.text === 'Where is my parcel?');
    await widget(cust).locator(`[data-id="${second.id}"] .receipt`).waitFor({ timeout: 5000 });
    await screenshot(cust, 'widget-read');
    await cust.reload();
    await whenReady(cust);
    await openChat(cust);
    await widget(cust).locator(`[data-id="${second.id}"] .receipt`).waitFor({ timeout: 5000 });
    assert.equal(await widget(cust).locator('.receipt').count(), 1, 'one Read per conversation');

    // The workspace turns read receipts off: no Read, live or after a reload.
    await cli(parley.dataDir, 'workspace', 'update', '--workspace', w.id, '--read-receipts', 'off');
    const third = await send(cust, 'Thanks!');
    await conv.locator('li[data-sender="customer"]').filter({ hasText: 'Thanks!' }).waitFor();
    await conv.reload(); // reading it for sure: the page marks what it shows read
    await conv.locator('li[data-sender="customer"]').filter({ hasText: 'Thanks!' }).waitFor();
    await cust.reload();
    await whenReady(cust);
    await openChat(cust);
    await eventually(async () => assert.ok((await bubbles(cust)).some((b) => b.id === third.id)));
    assert.equal(await widget(cust).locator('.receipt').count(), 0, 'no Read with read receipts off');

    assert.deepEqual(conv.errors, []);
    assert.deepEqual(inbox.errors, []);
    assert.deepEqual(cust.errors ?? [], []);
  });
});
