// An anonymous visitor on the demo shop: chatting, the demo agent's live reply with the unread badge,
// and the widget on a phone-sized screen.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  apiView, bubbles, eventually, launchBrowser, launcher, messageBox, newPage, openChat, panel, screenshot, send,
  sendButton, settled, startParley, unreadBadge, waitForBubble, whenReady, widget,
} from './harness.mjs';

// coveredBy returns a description of what covers the centre of the element (what a tap there would
// hit instead of it), or null when the element itself receives the tap.
function coveredBy(locator) {
  return locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2;
    const y = r.top + r.height / 2;
    const hit = el.getRootNode().elementFromPoint(x, y);
    if (hit === el || el.contains(hit)) return null;
    return hit ? `${hit.tagName.toLowerCase()}.${hit.className} "${hit.getAttribute('aria-label') || hit.textContent}" at (${x}, ${y})` : 'nothing';
  });
}

const GREETING = 'Hi! Sam from Acme here. I will be with you in a moment.';
const FIRST_MESSAGE = 'Welcome to Acme Outfitters! Ask us anything. Sign in first if it is about an order, so we know it is you.';

describe('anonymous visitor on the demo shop', () => {
  let parley, browser;
  before(async () => { [parley, browser] = await Promise.all([startParley(), launchBrowser()]); });
  after(async () => { await browser?.close(); await parley?.close(); });

  test('opens the chat, sees the greeting and the sign-in link, and sends a message', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(parley.url + '/');
      await whenReady(page);
      assert.equal(await launcher(page).getAttribute('aria-expanded'), 'false');
      await openChat(page);
      assert.equal(await launcher(page).getAttribute('aria-expanded'), 'true', 'the launcher keeps its name; aria-expanded tells it is open');
      const dialog = panel(page);
      assert.equal(await dialog.getAttribute('aria-label'), 'Chat with Acme Outfitters');
      await dialog.getByText('Hi there!', { exact: true }).waitFor();
      await dialog.getByText(FIRST_MESSAGE, { exact: true }).waitFor();
      const signIn = dialog.getByRole('link', { name: 'Sign in', exact: true });
      assert.equal(await signIn.getAttribute('href'), parley.url + '/#signin');
      assert.equal(await widget(page).getByText(/^Signed in as/).count(), 0);

      const sent = await send(page, 'Hello, do you ship to Norway?');
      assert.match(sent.id, /\S/);
      assert.equal(await messageBox(page).inputValue(), '', 'the composer is cleared');

      const view = await apiView(page, parley.url, parley.demo.workspace_id);
      assert.equal(view.identity.level, 'anonymous');
      assert.equal(view.conversations.length, 1);
      const stored = view.conversations[0].messages.find((m) => m.id === sent.id);
      assert.equal(stored.body, 'Hello, do you ship to Norway?');
      assert.equal(stored.sender, 'customer');
      assert.equal(stored.trusted, false);
      await screenshot(page, 'anonymous-chat');
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('the demo agent greets live; while the panel is closed the launcher shows an unread badge', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(parley.url + '/');
      await whenReady(page);
      await openChat(page);
      await messageBox(page).fill('Is the Summit 45 waterproof?');
      await sendButton(page).click();
      await widget(page).getByRole('button', { name: 'Close chat' }).click();
      await panel(page).waitFor({ state: 'hidden' });
      await waitForBubble(page, (b) => b.text === 'Is the Summit 45 waterproof?' && b.state === 'sent', 'the sent message');

      // The demo agent answers about a second after the conversation starts; the closed launcher shows
      // the count. (That a screen reader hears it is checked in a11y.test.mjs.)
      const badge = unreadBadge(page).getByText('1', { exact: true });
      await badge.waitFor({ state: 'visible' });
      const agent = await waitForBubble(page, (b) => b.sender === 'agent', 'the agent greeting');
      assert.equal(agent.text, GREETING);
      assert.equal(agent.state, 'sent');
      assert.equal(await launcher(page).getAttribute('aria-expanded'), 'false');

      await openChat(page);
      const expanded = widget(page).getByRole('button', { name: 'Chat', exact: true, expanded: true });
      assert.equal(await expanded.count(), 1, 'the launcher is expanded');
      assert.equal(await unreadBadge(page).filter({ visible: true }).count(), 0, 'the badge is cleared once the panel is open');
      await page.keyboard.press('Escape');
      await launcher(page).waitFor();
      assert.equal(await unreadBadge(page).filter({ visible: true }).count(), 0, 'and stays cleared after closing');
      await openChat(page);
      await panel(page).getByText(GREETING).waitFor({ state: 'visible' });
      const order = (await bubbles(page)).map((b) => b.sender);
      assert.deepEqual(order, ['customer', 'agent']);
    } finally {
      await page.context().close();
    }
  });

  test('JavaScript API: open(), close() and the ready, message, login and logout events', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(parley.url + '/');
      const ready = await whenReady(page);
      assert.equal(ready.level, 'anonymous');
      await page.evaluate(() => {
        window.__events = [];
        for (const ev of ['message', 'login', 'logout', 'error']) {
          window.Parley.on(ev, (arg) => window.__events.push([ev, arg && (arg.sender || arg.level || arg.code) || null]));
        }
      });
      await page.evaluate(() => window.Parley.open());
      await panel(page).waitFor({ state: 'visible' });
      await send(page, 'events please');
      await waitForBubble(page, (b) => b.sender === 'agent', 'the agent greeting');
      await page.evaluate(() => window.Parley.close());
      await panel(page).waitFor({ state: 'hidden' });

      await page.locator('#signin-form button').click();
      await eventually(async () => assert.deepEqual((await page.evaluate(() => window.__events)).at(-1), ['login', 'verified']));
      await page.locator('#signout').click();
      await eventually(async () => assert.deepEqual((await page.evaluate(() => window.__events)).at(-1), ['logout', null]));
      assert.deepEqual(await page.evaluate(() => window.__events),
        [['message', 'customer'], ['message', 'agent'], ['login', 'verified'], ['logout', null]]);
    } finally {
      await page.context().close();
    }
  });

  test('on a phone the panel fills the screen and stays usable', async () => {
    const page = await newPage(browser, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      await page.goto(parley.url + '/');
      await whenReady(page);
      const box = await launcher(page).boundingBox();
      assert.ok(box.x + box.width <= 390 && box.y + box.height <= 844, 'the launcher is on screen');
      await launcher(page).tap();
      await panel(page).waitFor({ state: 'visible' });
      await settled(panel(page));
      const p = await panel(page).boundingBox();
      assert.deepEqual([p.x, p.y, p.width, p.height], [0, 0, 390, 844], 'the panel covers the screen');
      const close = await panel(page).getByRole('button', { name: 'Close chat' }).boundingBox();
      assert.ok(close.x >= 0 && close.x + close.width <= 390 && close.y >= 0, 'the close button is on screen');
      // Enter sends (the keyboard path works); the agent's greeting arrives.
      await messageBox(page).fill('Hi from my phone');
      await messageBox(page).press('Enter');
      await waitForBubble(page, (b) => b.text === 'Hi from my phone' && b.state === 'sent', 'the sent message');
      await waitForBubble(page, (b) => b.sender === 'agent', 'the agent greeting');
      const input = await messageBox(page).boundingBox();
      assert.ok(input.y + input.height <= 844, 'the composer is on screen');
      await screenshot(page, 'mobile');

      // A tap on Send must reach the Send button, and the panel's own controls must not be covered.
      for (const [name, control] of [['Send', sendButton(page)], ['Message', messageBox(page)],
        ['Close chat', panel(page).getByRole('button', { name: 'Close chat' })]]) {
        assert.equal(await coveredBy(control), null, `the ${name} control is covered`);
      }
      await messageBox(page).fill('Tapped send');
      await sendButton(page).tap();
      await waitForBubble(page, (b) => b.text === 'Tapped send' && b.state === 'sent', 'the tapped message');
    } finally {
      await page.context().close();
    }
  });
});
