// The unread badge counts what this device has not shown, including what it loads (not only what
// arrives live): an agent's follow-up waiting for a customer who signs in on another device raises the
// badge there, and what a device already showed does not count again after a reload.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  QUEUE_STUB, consoleAgent, consoleTimeline, createAgent, embedPage, eventually, launchBrowser, launcher, newPage,
  openChat, panel, send, signToken, startParley, startSite, tokenKey, unreadBadge, waitForBubble, whenReady,
  widget, workspace,
} from './harness.mjs';

const NOOR = { sub: 'u-noor', email: 'noor@example.com', name: 'Noor Haddad' };
const REPLY = 'Let me check your limit.';
const FOLLOW_UP = 'Done: your limit is now 5,000.';

// description is what a screen reader hears after the launcher's name.
const description = (page) => launcher(page).evaluate((el) =>
  (el.getAttribute('aria-describedby') || '').split(/\s+/).map((id) => el.getRootNode().getElementById(id)?.textContent || '').join(' ').trim());

describe('the unread badge across devices', () => {
  let parley, browser, site, w, agent;
  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Follow Co');
    agent = await createAgent(parley.dataDir, w.id, { email: 'sam@follow.example', name: 'Sam Agent' });
  });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); });

  // signedInPage is the business's page for Noor: its back end signed a fresh token, queued at load.
  const signedInPage = () => site.set('/noor-' + Math.random().toString(36).slice(2), embedPage(parley.url, w.id, {
    title: 'Follow Co',
    head: QUEUE_STUB + `<script>Parley.login(${JSON.stringify(signToken(w, NOOR))});</script>`,
  }));

  test('a follow-up sent while the customer was away raises the badge on a new device; seen messages do not count', async () => {
    const d1 = await newPage(browser);
    const contexts = [d1.context()];
    try {
      // Device 1: Noor asks, sees the agent's answer with the panel open, and leaves.
      await d1.goto(signedInPage());
      assert.equal((await whenReady(d1)).email, 'noor@example.com');
      await openChat(d1);
      const asked = await send(d1, 'Can I raise my card limit?');
      const console_ = await (await consoleAgent(browser, parley.url, agent)).tab();
      contexts.push(console_.context());
      await console_.goto(`${parley.url}/console/conversations/${encodeURIComponent(asked.conversation)}`);
      await console_.getByRole('textbox', { name: /^(Reply|Follow-up) to / }).fill(REPLY);
      await console_.getByRole('button', { name: 'Send', exact: true }).click();
      await waitForBubble(d1, (b) => b.sender === 'agent' && b.text === REPLY, 'the reply on device 1');
      assert.equal(await unreadBadge(d1).isVisible(), false, 'seen with the panel open: no badge');
      await d1.close(); // the tab, not the browser: device 1 keeps its storage

      // The agent closes the conversation, then follows up while Noor is away.
      await console_.getByRole('button', { name: 'Close conversation' }).click();
      const followUp = console_.getByRole('button', { name: /follow-up/i });
      await followUp.waitFor({ state: 'visible' });
      await console_.getByRole('textbox', { name: /^(Reply|Follow-up) to / }).fill(FOLLOW_UP);
      await followUp.click();
      await eventually(async () => assert.ok((await consoleTimeline(console_)).some((e) => e.sender === 'agent' && e.text.includes(FOLLOW_UP))));

      // Device 2, panel closed: both agent messages are new to it.
      const d2 = await newPage(browser);
      contexts.push(d2.context());
      await d2.goto(signedInPage());
      await whenReady(d2);
      await unreadBadge(d2).getByText('2', { exact: true }).waitFor({ state: 'visible' });
      assert.equal(await description(d2), '2 unread messages');
      assert.equal(await launcher(d2).getAttribute('aria-expanded'), 'false');
      await openChat(d2);
      await panel(d2).getByText(FOLLOW_UP).waitFor({ state: 'visible' });
      assert.equal(await unreadBadge(d2).isVisible(), false, 'opening clears it');
      assert.equal(await description(d2), '');
      await d2.keyboard.press('Escape');
      await panel(d2).waitFor({ state: 'hidden' });
      assert.equal(await unreadBadge(d2).isVisible(), false, 'and it stays cleared');
      // A reload of device 2 does not count what it has shown.
      await d2.reload();
      await whenReady(d2);
      await widget(d2).locator('[data-sender="agent"]').nth(1).waitFor({ state: 'attached' });
      assert.equal(await unreadBadge(d2).isVisible(), false, 'seen on this device before the reload');

      // Device 1 comes back: it showed the reply, not the follow-up.
      const back = await contexts[0].newPage();
      await back.goto(signedInPage());
      await whenReady(back);
      await unreadBadge(back).getByText('1', { exact: true }).waitFor({ state: 'visible' });
      assert.equal(await description(back), '1 unread message');
      await openChat(back);
      await waitForBubble(back, (b) => b.sender === 'agent' && b.text === FOLLOW_UP, 'the follow-up on device 1');

      // Signing out forgets what this device saw, with the session.
      await back.evaluate(() => window.Parley.logout());
      const keys = await back.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('parley:')));
      assert.deepEqual(keys, [tokenKey(w.id)]);
      assert.deepEqual([...d2.errors], []);
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
    }
  });
});
