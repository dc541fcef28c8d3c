// Alerts and transfer, as a customer on a business's website and two agents in the console see them:
// a desktop notification (customer name, identity level in words, the first 80 characters) and a short
// sound for a new conversation, the count in the tab title, nothing for the conversation on screen, the
// sound preference honoured, a click on the notification opening the conversation, and a transfer with a
// note that alerts the receiving agent without ever showing the note to the customer or in the
// notification. Headless Chromium may not display notifications, so an init script records them (the
// permission API stays the real one) and records sounds by wrapping AudioContext.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  axeViolations, bubbles, consoleAgent, createAgent, embedPage, launchBrowser, newPage, openChat,
  screenshot, send, startParley, startSite, whenReady, workspace,
} from './harness.mjs';

// Records notifications and sounds in the page; the permission API is the browser's own.
const RECORDER = () => {
  window.__notes = [];
  window.__sounds = 0;
  const Real = window.Notification;
  class Recorded {
    constructor(title, options) {
      this.title = title;
      this.body = (options && options.body) || '';
      this.onclick = null;
      window.__notes.push(this);
    }
    close() { this.closed = true; }
    static get permission() { return Real.permission; }
    static requestPermission(cb) { return Real.requestPermission(cb); }
  }
  window.Notification = Recorded;
  const RealAudio = window.AudioContext;
  window.AudioContext = class extends RealAudio {
    createOscillator() { window.__sounds++; return super.createOscillator(); }
  };
};

const notes = (page) => page.evaluate(() => window.__notes.map((n) => ({ title: n.title, body: n.body })));
const sounds = (page) => page.evaluate(() => window.__sounds);
const conversationPath = (id) => `/console/conversations/${encodeURIComponent(id)}`;

describe('console alerts and transfer', () => {
  let parley, browser, site, w, sam, lee, customerURL;

  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Alerts Co');
    sam = await createAgent(parley.dataDir, w.id, { email: 'sam@alerts.example', name: 'Sam Agent', role: 'admin' });
    lee = await createAgent(parley.dataDir, w.id, { email: 'lee@alerts.example', name: 'Lee Colleague' });
    customerURL = site.set('/', embedPage(parley.url, w.id, { title: 'Alerts Co' }));
  });
  after(async () => {
    await browser?.close(); await site?.close(); await parley?.close();
  });

  // A customer who said who they are (claimed, not verified) and wrote a first message.
  async function customer(name, text) {
    const page = await newPage(browser);
    await page.goto(customerURL);
    await whenReady(page);
    await page.evaluate((n) => window.Parley.setUser({ name: n }), name);
    await openChat(page);
    const sent = await send(page, text);
    return { page, id: sent.conversation };
  }

  async function agentConsole(agent) {
    const session = await consoleAgent(browser, parley.url, agent);
    await session.context.grantPermissions(['notifications'], { origin: parley.url });
    await session.context.addInitScript(RECORDER);
    const page = await session.tab();
    await page.goto(parley.url + '/console/');
    return { session, page };
  }

  async function enableAlerts(page) {
    const button = page.getByRole('button', { name: 'Enable alerts' });
    await button.click();
    await page.getByRole('button', { name: 'Alerts on' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Alerts on' }).getAttribute('aria-pressed'), 'true');
  }

  test('notification text, title count, nothing on screen, sound preference, click, transfer', async () => {
    // Lee steps away first, so that routing gives the new conversations to Sam.
    const leeConsole = await agentConsole(lee);
    const leePage = leeConsole.page;
    await leePage.getByRole('button', { name: 'Away' }).click();
    await leePage.getByText('You are away').waitFor();

    const samConsole = await agentConsole(sam);
    let samPage = samConsole.page;
    await enableAlerts(samPage);
    assert.equal(await samPage.evaluate(() => Notification.permission), 'granted');
    assert.deepEqual(await axeViolations(samPage), [], 'axe-core on the inbox with alerts on');

    // A new conversation: a notification with the name, the level in words and the first 80
    // characters; a sound; the count in the title.
    const long = 'My order #4411 arrived broken and I need a replacement before Friday, please help me with it';
    const ada = await customer('Ada Lovelace', long);
    await samPage.waitForFunction(() => window.__notes.length === 1);
    assert.deepEqual(await notes(samPage), [{ title: 'Ada Lovelace (claimed)', body: long.slice(0, 80) + '…' }]);
    assert.equal(await sounds(samPage), 1, 'one sound');
    await samPage.waitForFunction(() => document.title.startsWith('(1) '));
    assert.match(await samPage.title(), /^\(1\) Inbox · Parley$/);
    await screenshot(samPage, 'console-alerts');

    // Clicking the notification opens the conversation; reading it clears the count.
    await samPage.evaluate(() => window.__notes[0].onclick());
    await samPage.waitForURL((u) => u.pathname === conversationPath(ada.id));
    await samPage.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();
    await samPage.getByRole('button', { name: 'Alerts on' }).waitFor();
    await samPage.getByRole('heading', { name: 'Ada Lovelace' }).click(); // a gesture on the new page unlocks its audio again
    assert.equal(await samPage.title(), 'Conversation with Ada Lovelace · Parley');

    // The conversation on screen: its next message alerts nothing. Another customer's then does (and
    // the frames come in order, so the first one has been handled by then).
    await send(ada.page, 'Are you there?');
    await samPage.locator('li[data-sender="customer"]').filter({ hasText: 'Are you there?' }).waitFor();
    const grace = await customer('Grace Hopper', 'Hello from Grace');
    await samPage.waitForFunction(() => window.__notes.length === 1);
    assert.deepEqual(await notes(samPage), [{ title: 'Grace Hopper (claimed)', body: 'Hello from Grace' }], 'only the other conversation alerts');
    assert.equal(await sounds(samPage), 1);
    await samPage.waitForFunction(() => document.title === '(1) Conversation with Ada Lovelace · Parley');

    // Sound off in Preferences (a form that works without script): notifications still come, silently.
    await samPage.getByRole('link', { name: 'Preferences' }).click();
    await samPage.getByRole('heading', { name: 'Preferences' }).waitFor();
    await samPage.getByLabel('Play a sound').uncheck();
    await samPage.getByRole('button', { name: 'Save preferences' }).click();
    await samPage.getByText('Preferences saved.').waitFor();
    assert.equal(await samPage.getByLabel('Play a sound').isChecked(), false);
    assert.equal(await samPage.getByLabel('Show desktop notifications').isChecked(), true);
    assert.deepEqual(await axeViolations(samPage), [], 'axe-core on Preferences');
    await screenshot(samPage, 'console-preferences');
    await samPage.getByRole('heading', { name: 'Preferences' }).click();
    await customer('Edsger Dijkstra', 'Silent please');
    await samPage.waitForFunction(() => window.__notes.length === 1);
    assert.deepEqual(await notes(samPage), [{ title: 'Edsger Dijkstra (claimed)', body: 'Silent please' }]);
    assert.equal(await sounds(samPage), 0, 'no sound with the sound preference off');

    // Transfer with a note: Lee, now available with alerts on, is alerted; the note stays between agents.
    await leePage.getByRole('button', { name: 'Available' }).click();
    await leePage.getByText('You are available').waitFor();
    await enableAlerts(leePage);
    samPage = await samConsole.session.tab();
    await samPage.goto(parley.url + conversationPath(ada.id));
    await samPage.getByLabel('Transfer to').selectOption({ label: 'Lee Colleague' });
    const note = 'VIP <b>customer</b>: replacement approved, ship today';
    await samPage.getByLabel(/Note for the next agent/).fill(note);
    await screenshot(samPage, 'console-transfer');
    await samPage.getByRole('button', { name: 'Transfer', exact: true }).click();
    await samPage.getByText('Conversation transferred.').waitFor();
    const event = samPage.locator('li[data-event-type="transferred"]');
    assert.equal((await event.locator('span').first().textContent()), 'Sam Agent transferred to Lee Colleague: ' + note, 'the note as text');
    assert.equal(await event.locator('b').count(), 0, 'no markup from the note');
    assert.deepEqual(await axeViolations(samPage), [], 'axe-core on the conversation after a transfer');

    await leePage.waitForFunction(() => window.__notes.length === 1);
    const [received] = await notes(leePage);
    assert.equal(received.title, 'Ada Lovelace (claimed)');
    assert.equal(received.body, 'Sam Agent transferred this conversation to you: Are you there?');
    assert.ok(!received.body.includes('VIP'), 'the notification never includes the note');
    await leePage.waitForFunction(() => document.title.startsWith('(1) '));
    // Sam's own console did not alert for his own transfer.
    assert.deepEqual(await notes(samPage), []);

    // The customer never sees the transfer or its note.
    const seen = (await bubbles(ada.page)).map((b) => b.text).join('\n');
    assert.ok(!seen.includes('VIP') && !seen.includes('transferred'), seen);
    assert.ok(!(await ada.page.content()).includes('VIP'));

    // A mention in an internal note alerts the mentioned agent only, with the customer's words, never the note's.
    await samPage.goto(parley.url + conversationPath(grace.id));
    await samPage.getByRole('radio', { name: 'Internal note' }).check();
    await samPage.locator('#reply-body').fill('@Lee could you look at the invoice?');
    await samPage.getByRole('button', { name: /^(Send|Add note|Post note)/ }).first().click();
    await samPage.locator('li[data-sender="agent"]').filter({ hasText: 'could you look at the invoice?' }).waitFor();
    await leePage.waitForFunction(() => window.__notes.length === 2);
    const mention = (await notes(leePage))[1];
    assert.deepEqual(mention, { title: 'Grace Hopper (claimed)', body: 'Sam Agent mentioned you in a note: Hello from Grace' });
    await leePage.waitForFunction(() => document.title.startsWith('(2) '));
    assert.deepEqual(await notes(samPage), [], 'no alert for one\'s own note');

    for (const p of [samPage, leePage, ada.page, grace.page]) assert.deepEqual(p.errors, []);
  });
});
