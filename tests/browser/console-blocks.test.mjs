// Blocking an abusive visitor, as an agent does it with the keyboard, next to the visitor's widget on the
// business's website: the widget says only "Chat is unavailable." and keeps what was typed; a fresh
// session from the same address is refused too and another address is not; the blocks list shows the
// block, and lifting it lets the visitor send again.
//
// Parley runs behind a "proxy" (--trusted-proxies 127.0.0.1/32), and each visitor's browser stands for a
// client address of its own: its requests to Parley carry the X-Forwarded-For a load balancer would add.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';

import {
  apiView, axeViolations, bubbles, connectionStatus, consoleAgent, embedPage, eventually, launchBrowser, messageBox, newPage, openChat,
  screenshot, send, sendButton, startParley, startSite, whenReady, workspace, createAgent,
} from './harness.mjs';

const ABUSER = '203.0.113.77';
const ELSEWHERE = '198.51.100.23';

describe('agent console: blocking a visitor', () => {
  let parley, browser, site, w, agent, customerURL;
  const pages = [];

  // visitor opens the website on a fresh device whose requests reach Parley from addr.
  async function visitor(addr) {
    const page = await newPage(browser);
    pages.push(page);
    await page.route(parley.url + '/v1/widget/**', (route) => route.continue({
      headers: { ...route.request().headers(), 'x-forwarded-for': addr },
    }));
    await page.goto(customerURL);
    await whenReady(page);
    await openChat(page);
    return page;
  }

  // tryToSend types text and presses Send; the message is refused, so nothing is stored.
  async function refused(page, text) {
    await messageBox(page).fill(text);
    await sendButton(page).click();
    await eventually(async () => assert.equal(await connectionStatus(page).textContent(), 'Chat is unavailable.'));
    assert.equal(await messageBox(page).inputValue(), text, 'the typed text is kept');
    assert.deepEqual((await bubbles(page)).filter((b) => b.text === text), [], 'no bubble for a refused message');
  }

  before(async () => {
    [parley, browser, site] = await Promise.all([
      startParley({ demo: false, extraArgs: ['--trusted-proxies', '127.0.0.1/32'] }), launchBrowser(), startSite(),
    ]);
    w = await workspace(parley.dataDir, 'Blocks Co');
    agent = await createAgent(parley.dataDir, w.id, { email: 'sam@blocks.example', name: 'Sam Agent', role: 'agent' });
    customerURL = site.set('/', embedPage(parley.url, w.id, { title: 'Blocks Co' }));
  });
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.context().close().catch(() => {});
  });
  after(async () => {
    await browser?.close(); await site?.close(); await parley?.close();
  });

  test('an agent blocks a visitor with the keyboard; the widget says the chat is unavailable; lifting lets them send again', async () => {
    const abuser = await visitor(ABUSER);
    await send(abuser, 'You are all useless and I know where your office is.');
    const view = await apiView(abuser, parley.url, w.id);
    const conv = view.conversations[0].id;

    const console_ = await (await consoleAgent(browser, parley.url, agent)).tab();
    await console_.setViewportSize({ width: 1280, height: 960 }); // the aside's panels whole, for the screenshots
    await console_.goto(`${parley.url}/console/conversations/${encodeURIComponent(conv)}`);
    const panel = console_.getByRole('region', { name: 'Blocking' });
    await panel.waitFor();

    // Keyboard only: open the confirmation, choose 7 days, give a reason, block.
    const summary = panel.getByText('Block visitor…', { exact: true });
    await summary.focus();
    await console_.keyboard.press('Enter');
    const duration = panel.getByRole('combobox', { name: 'Block for' });
    await duration.waitFor({ state: 'visible' });
    await console_.keyboard.press('Tab');
    assert.equal(await duration.evaluate((el) => el === document.activeElement), true, 'Tab reaches "Block for"');
    await console_.keyboard.press('ArrowDown'); // 1 day → 7 days
    assert.equal(await duration.inputValue(), '7d');
    await console_.keyboard.press('Tab');
    await console_.keyboard.type('Threats against staff');
    assert.deepEqual(await axeViolations(console_), [], 'the block form, open');
    await screenshot(console_, 'console-block-form');
    await console_.keyboard.press('Tab');
    assert.equal(await panel.getByRole('button', { name: 'Block visitor' }).evaluate((el) => el === document.activeElement), true, 'Tab reaches the button');
    await console_.keyboard.press('Enter');

    await console_.getByRole('status').filter({ hasText: 'Visitor blocked until' }).waitFor();
    await panel.getByText('This visitor is blocked', { exact: false }).waitFor();
    assert.ok(await panel.getByText(ABUSER).isVisible(), 'the panel names the blocked address');
    assert.ok(await panel.getByText('Threats against staff').isVisible(), 'the panel shows the reason');
    assert.equal(await console_.locator('[data-blocked]').count(), 1, 'the heading says the visitor is blocked');
    assert.deepEqual(await axeViolations(console_), [], 'the conversation page of a blocked visitor');
    await screenshot(console_, 'console-block-visitor');

    // The visitor is told nothing more than that the chat is unavailable, and keeps what they typed.
    await refused(abuser, 'Hello?? Answer me!');
    assert.deepEqual(abuser.errors, []);
    assert.deepEqual(await axeViolations(abuser), [], 'the widget saying the chat is unavailable');
    await screenshot(abuser, 'widget-blocked');
    const stored = await apiView(abuser, parley.url, w.id);
    assert.equal(stored.conversations[0].messages.length, 1, 'the refused message is not stored; the history is still readable');

    // A fresh session from the same address is refused; another address is not.
    await refused(await visitor(ABUSER), 'a new browser, same place');
    await send(await visitor(ELSEWHERE), 'I am somebody else entirely.');

    // The blocks list, from the console's navigation.
    await console_.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Blocked visitors' }).click();
    await console_.getByRole('heading', { name: 'Blocked visitors', level: 1 }).waitFor();
    const row = console_.getByRole('row').filter({ hasText: `Visitor from ${ABUSER}` });
    await row.waitFor();
    for (const text of ['Chat session and address', 'Sam Agent', 'Threats against staff']) {
      assert.ok((await row.textContent()).includes(text), `the row shows ${text}`);
    }
    assert.deepEqual(await axeViolations(console_), [], 'the blocks list');
    await screenshot(console_, 'console-blocks');

    const lift = row.getByRole('button', { name: `Lift the block of Visitor from ${ABUSER}` });
    await lift.focus();
    await console_.keyboard.press('Enter');
    await console_.getByRole('status').filter({ hasText: `Block lifted: the visitor from ${ABUSER} can send messages again.` }).waitFor();
    await console_.getByText('Nobody is blocked.').waitFor();
    assert.ok(await console_.getByRole('row').filter({ hasText: 'Lifted by Sam Agent' }).isVisible(), 'the lifted block is listed as ended');

    // The text the visitor typed is still there: Send, and it goes through.
    await sendButton(abuser).click();
    await eventually(async () => {
      const mine = (await bubbles(abuser)).filter((b) => b.text === 'Hello?? Answer me!');
      assert.equal(mine.length, 1);
      assert.equal(mine[0].state, 'sent');
    });
    await eventually(async () => assert.equal(await connectionStatus(abuser).textContent(), ''));
    assert.equal(await messageBox(abuser).inputValue(), '');
    assert.deepEqual(abuser.errors, []);
    assert.deepEqual(console_.errors ?? [], []);
  });
});
