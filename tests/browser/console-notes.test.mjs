// Internal notes and mentions, as a customer on a business's website and three agents in the console see
// them: Sam switches the composer to "Internal note" with the keyboard alone and writes a note that
// mentions Lee; the timeline shows it apart, labelled "Internal note", with its author and its markup as
// text; the customer's widget never shows it, live or after a reload, while Sam's next reply arrives;
// Lee, and Lee alone, is alerted (a notification, recorded as in console-alerts.test.mjs) and finds the
// conversation in the Mentions view. axe-core on each console screen.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  axeViolations, bubbles, consoleAgent, createAgent, embedPage, launchBrowser, newPage, openChat,
  screenshot, send, startParley, startSite, waitForBubble, whenReady, workspace,
} from './harness.mjs';

// Records notifications (the permission API stays the browser's own) and the console socket's frames.
const RECORDER = () => {
  window.__notes = [];
  window.__frames = [];
  const Real = window.Notification;
  class Recorded {
    constructor(title, options) {
      this.title = title;
      this.body = (options && options.body) || '';
      window.__notes.push(this);
    }
    close() {}
    static get permission() { return Real.permission; }
    static requestPermission(cb) { return Real.requestPermission(cb); }
  }
  window.Notification = Recorded;
  document.addEventListener('parley:frame', (ev) => window.__frames.push(ev.detail));
};

const conversationPath = (id) => `/console/conversations/${encodeURIComponent(id)}`;

describe('internal notes and mentions', () => {
  let parley, browser, site, w, sam, lee, kim, customerURL;

  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Notes Co');
    sam = await createAgent(parley.dataDir, w.id, { email: 'sam@notes.example', name: 'Sam Agent', role: 'admin' });
    lee = await createAgent(parley.dataDir, w.id, { email: 'lee@notes.example', name: 'Lee Colleague' });
    kim = await createAgent(parley.dataDir, w.id, { email: 'kim@notes.example', name: 'Kim Bystander' });
    customerURL = site.set('/', embedPage(parley.url, w.id, { title: 'Notes Co' }));
  });
  after(async () => {
    await browser?.close(); await site?.close(); await parley?.close();
  });

  async function agentConsole(agent) {
    const session = await consoleAgent(browser, parley.url, agent);
    await session.context.grantPermissions(['notifications'], { origin: parley.url });
    await session.context.addInitScript(RECORDER);
    const page = await session.tab();
    await page.goto(parley.url + '/console/');
    await page.getByRole('button', { name: 'Enable alerts' }).click();
    await page.getByRole('button', { name: 'Alerts on' }).waitFor();
    return { session, page };
  }

  test('a note by keyboard, shown apart, never in the widget; the mention alerts the mentioned agent only', async () => {
    const cust = await newPage(browser);
    await cust.goto(customerURL);
    await whenReady(cust);
    await cust.evaluate(() => window.Parley.setUser({ name: 'Ada Lovelace' }));
    await openChat(cust);
    const first = await send(cust, 'My refund has not arrived');
    const id = first.conversation;

    const { page: leePage } = await agentConsole(lee);
    const { page: kimPage } = await agentConsole(kim);
    const samSession = await consoleAgent(browser, parley.url, sam);
    const samPage = await samSession.tab();
    await samPage.goto(parley.url + conversationPath(id));
    await samPage.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();

    // The switch, by keyboard alone: a radio group whose arrow keys choose "Internal note"; Tab goes on
    // to the text box, Enter sends.
    const switchGroup = samPage.getByRole('group', { name: 'Send as' });
    await switchGroup.getByRole('radio', { name: 'Reply' }).focus();
    await samPage.keyboard.press('ArrowRight');
    assert.equal(await switchGroup.getByRole('radio', { name: 'Internal note' }).isChecked(), true);
    const composer = samPage.locator('form[data-composer]');
    await samPage.locator('form.composing-note').waitFor();
    assert.equal(await composer.locator('[data-reply-submit]').textContent(), 'Add note');
    await samPage.keyboard.press('Tab');
    assert.equal(await samPage.evaluate(() => document.activeElement.id), 'reply-body');
    assert.equal(await samPage.evaluate(() => document.activeElement.labels[0].textContent), 'Internal note (only agents see it)');
    const noteText = 'Refund approved by finance, @lee please confirm <b>today</b>';
    await samPage.keyboard.type(noteText);
    await screenshot(samPage, 'console-note-composer');
    await samPage.keyboard.press('Enter');

    // The timeline: a note of its own, "Internal note" by Sam Agent, its markup shown as text.
    const note = samPage.locator('li[data-internal]');
    await note.waitFor();
    assert.equal(await note.locator('[data-note-label]').textContent(), 'Internal note');
    assert.equal(await note.locator('.msg-from').textContent(), 'Sam Agent');
    assert.equal(await note.locator('.msg-body').textContent(), noteText);
    assert.equal(await note.locator('b').count(), 0, 'no markup from the note');
    // A screen reader meets it as a list item that starts with "Internal note".
    const items = samPage.getByRole('listitem').filter({ hasText: noteText });
    assert.equal(await items.count(), 1);
    assert.match((await items.textContent()).trim(), /^Internal note\s+Sam Agent/);
    assert.equal(await switchGroup.getByRole('radio', { name: 'Reply' }).isChecked(), true, 'the composer is back on Reply');
    assert.deepEqual(await axeViolations(samPage), [], 'axe-core on the conversation with a note');
    await samPage.evaluate(() => window.scrollTo(0, 0));
    await screenshot(samPage, 'console-note');

    // A reply after it reaches the customer; the note never does.
    await switchGroup.getByRole('radio', { name: 'Reply' }).focus();
    await samPage.locator('#reply-body').fill('We are on it.');
    await samPage.locator('#reply-body').press('Enter');
    await waitForBubble(cust, (b) => b.sender === 'agent' && b.text === 'We are on it.', 'the reply');
    const shown = (await bubbles(cust)).map((b) => b.text);
    assert.deepEqual(shown, ['My refund has not arrived', 'We are on it.']);
    assert.ok(!(await cust.content()).includes('finance'), 'the note is nowhere in the widget');
    await cust.reload();
    await whenReady(cust);
    await openChat(cust);
    await waitForBubble(cust, (b) => b.text === 'We are on it.', 'the reply after a reload');
    const after = await bubbles(cust);
    assert.deepEqual(after.map((b) => b.text), ['My refund has not arrived', 'We are on it.']);
    assert.match(after[1].id, /_0000000000000002$/, 'the reply is the customer\'s second message: no gap where the note is');

    // Lee is alerted: a notification naming the customer and who mentioned them, never the note's words.
    await leePage.waitForFunction(() => window.__notes.length === 1);
    const [alert] = await leePage.evaluate(() => window.__notes.map((n) => ({ title: n.title, body: n.body })));
    assert.deepEqual(alert, { title: 'Ada Lovelace (claimed)', body: 'Sam Agent mentioned you in a note: My refund has not arrived' });
    // Kim is not: Kim's socket heard of the note and then of the reply, and of no mention.
    await kimPage.waitForFunction(() => window.__frames.some((f) => f.type === 'message' && f.sender === 'agent' && f.internal === false));
    const kimFrames = await kimPage.evaluate(() => window.__frames.map((f) => f.type + ':' + (f.internal === true ? 'note' : f.sender || '')));
    assert.ok(kimFrames.includes('message:note'), kimFrames.join(' '));
    assert.ok(!kimFrames.some((f) => f.startsWith('mention')), kimFrames.join(' '));
    assert.deepEqual(await kimPage.evaluate(() => window.__notes.length), 0);
    const leeFrames = await leePage.evaluate(() => window.__frames.filter((f) => f.type === 'mention'));
    assert.equal(leeFrames.length, 1);
    assert.deepEqual(Object.keys(leeFrames[0]).sort(), ['by', 'conversation_id', 'message_id', 'type']);
    assert.equal(leeFrames[0].by, 'Sam Agent');
    assert.equal(leeFrames[0].conversation_id, id);

    // Lee's Mentions view lists the conversation; Kim's is empty.
    await leePage.getByRole('link', { name: 'Mentions' }).click();
    await leePage.getByRole('heading', { name: 'Mentions' }).waitFor();
    const row = leePage.locator(`li[data-conversation="${id}"]`);
    assert.equal(await row.getByRole('link').textContent(), 'Ada Lovelace');
    assert.match(await row.textContent(), /Sam Agent mentioned you/);
    assert.match(await row.locator('.excerpt').textContent(), /<b>today<\/b>/);
    assert.deepEqual(await axeViolations(leePage), [], 'axe-core on Mentions');
    await screenshot(leePage, 'console-mentions');
    await row.getByRole('link').click();
    await leePage.waitForURL((u) => u.pathname === conversationPath(id));
    await leePage.locator('li[data-internal]').waitFor();
    await kimPage.getByRole('link', { name: 'Mentions' }).click();
    await kimPage.getByText('No note mentions you yet.').waitFor();

    for (const p of [samPage, leePage, kimPage, cust]) assert.deepEqual(p.errors ?? [], []);
  });
});
