// Canned responses in Chromium, as agents use them: an administrator adds a shared response and an agent
// a personal one on the Canned responses page; in a conversation with a visitor who only claimed who
// they are, the agent types "/" in the reply box, filters, picks with the arrow keys and Enter (keyboard
// only), is told the inserted name is claimed, not verified, and sends. A response whose variable has no
// value (an anonymous visitor's email) blocks sending until it is edited out; Escape closes the picker
// and keeps the text; axe-core finds nothing serious with the picker open. Without JavaScript, a plain
// select and an Insert button put the filled response in the reply box, and send nothing.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';

import {
  api, axeViolations, consoleAgent, consoleSignIn, createAgent, eventually, launchBrowser, newPage, screenshot, startParley, workspace,
} from './harness.mjs';

describe('agent console: canned responses', () => {
  let parley, browser, w, admin, agent;
  const pages = [];

  // visitorSays starts a widget session (claiming an identity when claims are given) and sends text;
  // it returns the session token and the conversation id.
  async function visitorSays(text, claims) {
    const s = await api(parley.url, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: w.id }) });
    assert.equal(s.status, 201, JSON.stringify(s.data));
    let token = s.data.session_token;
    if (claims) {
      const id = await api(parley.url, token, '/v1/widget/identify', { method: 'POST', body: JSON.stringify(claims) });
      assert.equal(id.status, 200, JSON.stringify(id.data));
      token = id.data.session_token;
    }
    const m = await api(parley.url, token, '/v1/widget/messages', { method: 'POST', body: JSON.stringify({ body: text, client_id: 'c-' + Math.random() }) });
    assert.equal(m.status, 201, JSON.stringify(m.data));
    return { token, conv: m.data.message.conversation_id };
  }

  async function customerSees(token, conv) {
    const m = await api(parley.url, token, `/v1/widget/conversations/${encodeURIComponent(conv)}/messages`);
    assert.equal(m.status, 200);
    return m.data.messages.filter((x) => x.sender === 'agent').map((x) => x.body);
  }

  async function addResponse(page, { title, shortcut, body, shared = false }) {
    await page.goto(parley.url + '/console/canned');
    const form = page.getByRole('region', { name: 'Add a response' });
    if (shared) await form.getByRole('radio', { name: 'Every agent (shared)' }).check();
    await form.getByLabel('Title').fill(title);
    await form.getByLabel('Shortcut').fill(shortcut);
    await form.getByLabel('Text').fill(body);
    await form.getByRole('button', { name: 'Save response' }).click();
    await page.getByRole('status').filter({ hasText: `Saved /${shortcut}` }).waitFor();
  }

  before(async () => {
    [parley, browser] = await Promise.all([startParley({ demo: false }), launchBrowser()]);
    w = await workspace(parley.dataDir, 'Canned Co');
    [admin, agent] = await Promise.all([
      createAgent(parley.dataDir, w.id, { email: 'root@canned.example', name: 'Rita Admin', role: 'admin' }),
      createAgent(parley.dataDir, w.id, { email: 'grace@canned.example', name: 'Grace Hopper', role: 'agent' }),
    ]);
    const adminTab = await (await consoleAgent(browser, parley.url, admin)).tab();
    pages.push(adminTab);
    await addResponse(adminTab, { shared: true, title: 'Greeting', shortcut: 'greet', body: 'Hello {{customer.name}}, this is {{agent.first_name}}. How can I help?' });
    await addResponse(adminTab, { shared: true, title: 'Opening hours', shortcut: 'hours', body: 'We answer from 9:00 to 17:00 CET.' });
    assert.deepEqual(adminTab.errors, []);
    const agentTab = await (await consoleAgent(browser, parley.url, agent)).tab();
    pages.push(agentTab);
    await addResponse(agentTab, { title: 'Check the email', shortcut: 'email', body: 'Is {{customer.email}} the right address, {{customer.first_name}}?' });
    assert.deepEqual(agentTab.errors, []);
  });
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.context().close().catch(() => {});
  });
  after(async () => {
    await browser?.close(); await parley?.close();
  });

  test('the agent picks a response with the keyboard; the claimed name is flagged; Escape keeps the text; axe-core clean', async () => {
    const console_ = await (await consoleAgent(browser, parley.url, agent)).tab();
    pages.push(console_);
    await console_.goto(parley.url + '/console/canned');
    assert.match(await console_.locator('[data-canned-list="personal"]').textContent(), /Check the email\s+\/email/);
    // The shared response is listed read-only for an agent.
    const shared = console_.locator('[data-canned-list="shared"] li').filter({ hasText: '/greet' });
    assert.match(await shared.textContent(), /shared, read-only/);
    assert.equal(await shared.getByRole('button', { name: 'Delete /greet' }).count(), 0);
    assert.deepEqual(await axeViolations(console_), [], 'the canned responses page');
    await screenshot(console_, 'console-canned-page');

    const { token, conv } = await visitorSays('My order never arrived.', { name: 'Ada Lovelace', email: 'ada@example.com' });
    await console_.setViewportSize({ width: 1280, height: 900 });
    await console_.goto(`${parley.url}/console/conversations/${encodeURIComponent(conv)}`);
    const box = console_.getByRole('combobox', { name: 'Reply to Ada Lovelace' });
    await box.focus();
    assert.equal(await box.getAttribute('aria-expanded'), 'false');

    // "/" opens the picker with every response; Escape closes it and keeps the text.
    await console_.keyboard.type('/');
    const list = console_.getByRole('listbox', { name: 'Canned responses' });
    await list.waitFor();
    assert.equal(await box.getAttribute('aria-expanded'), 'true');
    assert.equal(await box.getAttribute('aria-controls'), await list.getAttribute('id'));
    assert.deepEqual(await list.getByRole('option').allTextContents(), ['Check the email /email', 'Greeting /greet', 'Opening hours /hours']);
    await console_.keyboard.press('Escape');
    await list.waitFor({ state: 'detached' });
    assert.equal(await box.inputValue(), '/', 'Escape keeps what was typed');
    assert.equal(await box.getAttribute('aria-expanded'), 'false');
    assert.equal(await box.getAttribute('aria-activedescendant'), null);

    // Typing filters (by shortcut and title): shortcuts that start with it first, then the others that
    // hold it. The arrows move the active option; Enter inserts it in place of "/e".
    await console_.keyboard.type('e');
    await list.waitFor();
    assert.deepEqual(await list.getByRole('option').allTextContents(), ['Check the email /email', 'Greeting /greet', 'Opening hours /hours']);
    await console_.keyboard.type('m');
    await eventually(async () => assert.deepEqual(await list.getByRole('option').allTextContents(), ['Check the email /email']));
    await console_.keyboard.press('Backspace');
    await eventually(async () => assert.equal(await list.getByRole('option').count(), 3));
    const active = async () => (await box.getAttribute('aria-activedescendant')) &&
      console_.locator('#' + (await box.getAttribute('aria-activedescendant'))).textContent();
    assert.equal(await active(), 'Check the email /email', 'the first option is active');
    await console_.keyboard.press('ArrowDown');
    await console_.keyboard.press('ArrowDown');
    assert.equal(await active(), 'Opening hours /hours');
    await console_.keyboard.press('ArrowUp');
    assert.equal(await active(), 'Greeting /greet');
    assert.equal(await list.getByRole('option', { selected: true }).textContent(), 'Greeting /greet', 'aria-selected follows');
    assert.deepEqual(await axeViolations(console_), [], 'the conversation page with the picker open');
    await screenshot(console_, 'console-canned-picker');
    await console_.keyboard.press('Enter');
    await list.waitFor({ state: 'detached' });
    assert.equal(await box.inputValue(), 'Hello Ada Lovelace, this is Grace. How can I help?');
    const notes = console_.locator('[data-canned-notes]');
    assert.equal((await notes.textContent()).trim(), 'Ada Lovelace is claimed, not verified.');
    assert.match(await box.getAttribute('aria-describedby'), /canned-notes/, 'the reply box is described by the notes');
    assert.equal(await box.evaluate((el) => el === document.activeElement), true, 'the reply box keeps the focus');
    await screenshot(console_, 'console-canned-claimed');

    // Enter sends it.
    await Promise.all([console_.waitForNavigation(), console_.keyboard.press('Enter')]);
    await console_.waitForLoadState('load');
    assert.equal(await box.inputValue(), '', 'the page comes back with an empty reply box');
    await eventually(async () => assert.deepEqual(await customerSees(token, conv), ['Hello Ada Lovelace, this is Grace. How can I help?']));

    // With the script, the select's Insert puts the response in the box in place, without a round trip.
    const url = console_.url();
    await box.fill('Thanks for waiting.');
    await console_.getByRole('combobox', { name: 'Canned response' }).selectOption({ label: 'Opening hours (/hours)' });
    await console_.getByRole('button', { name: 'Insert' }).click();
    assert.equal(await box.inputValue(), 'Thanks for waiting.\nWe answer from 9:00 to 17:00 CET.');
    assert.equal(console_.url(), url, 'no page load');
    assert.deepEqual(await customerSees(token, conv), ['Hello Ada Lovelace, this is Grace. How can I help?'], 'Insert sends nothing');
    assert.deepEqual(console_.errors, []);
  });

  test('a variable with no value blocks sending until it is edited out, in the browser and on the server', async () => {
    const console_ = await (await consoleAgent(browser, parley.url, agent)).tab();
    pages.push(console_);
    const { token, conv } = await visitorSays('Hi, anyone there?'); // anonymous: no name, no email
    await console_.goto(`${parley.url}/console/conversations/${encodeURIComponent(conv)}`);
    const box = console_.getByRole('combobox', { name: /^Reply to / });
    await box.focus();
    await console_.keyboard.type('/email');
    await console_.getByRole('listbox', { name: 'Canned responses' }).waitFor();
    await console_.keyboard.press('Enter');
    assert.equal(await box.inputValue(), 'Is {{customer.email}} the right address, {{customer.first_name}}?');
    const notes = console_.locator('[data-canned-notes]');
    await eventually(async () => assert.equal(await notes.locator('.canned-unfilled').count(), 2));
    assert.match(await notes.textContent(), /\{\{customer\.email\}\} has no value in this conversation: replace it before sending\./);
    assert.equal(await box.getAttribute('aria-invalid'), 'true');

    // Enter, and the Send button: nothing is sent.
    await console_.keyboard.press('Enter');
    await console_.getByRole('button', { name: 'Send' }).click();
    assert.equal(await box.inputValue(), 'Is {{customer.email}} the right address, {{customer.first_name}}?', 'the text stays');
    // The server refuses such a reply too, whoever posts it (the console's own form, without the script's check).
    const refused = await console_.evaluate(async ({ conv }) => {
      const form = new URLSearchParams({ csrf: document.querySelector('meta[name="parley-csrf"]').content, body: 'Hi {{customer.email}}', client_id: 'console-raw-post' });
      const res = await fetch(`/console/conversations/${encodeURIComponent(conv)}/reply`, { method: 'POST', body: form, redirect: 'manual' });
      return res.status;
    }, { conv });
    assert.equal(refused, 422);
    assert.deepEqual(await customerSees(token, conv), [], 'nothing reached the customer');

    // Edited out, it goes.
    await box.fill('Is this the right address? Please tell us your email.');
    await eventually(async () => assert.equal(await notes.locator('.canned-unfilled').count(), 0));
    assert.equal(await box.getAttribute('aria-invalid'), null);
    await box.focus();
    await Promise.all([console_.waitForNavigation(), console_.keyboard.press('Enter')]);
    await console_.waitForLoadState('load');
    assert.equal(await box.inputValue(), '', 'the page comes back with an empty reply box');
    await eventually(async () => assert.deepEqual(await customerSees(token, conv), ['Is this the right address? Please tell us your email.']));
    assert.deepEqual(console_.errors, []);
  });

  test('without JavaScript: a select and Insert put the filled response in the reply box, and send nothing', async () => {
    const page = await newPage(browser, { javaScriptEnabled: false });
    pages.push(page);
    await consoleSignIn(page, parley.url, agent);
    const { token, conv } = await visitorSays('Hello from a claimed visitor', { name: 'Ada Lovelace', email: 'ada@example.com' });
    await page.goto(`${parley.url}/console/conversations/${encodeURIComponent(conv)}`);
    const box = page.getByRole('textbox', { name: 'Reply to Ada Lovelace' });
    assert.equal(await page.getByText('Or type / at the start of the reply.').isVisible(), false, 'no "/" hint without the script');
    await page.getByRole('combobox', { name: 'Canned response' }).selectOption({ label: 'Greeting (/greet)' });
    await page.getByRole('button', { name: 'Insert' }).click();
    await page.waitForLoadState();
    assert.equal(await box.inputValue(), 'Hello Ada Lovelace, this is Grace. How can I help?');
    assert.equal((await page.locator('[data-canned-notes]').textContent()).trim(), 'Ada Lovelace is claimed, not verified.');
    assert.deepEqual(await customerSees(token, conv), [], 'Insert sends nothing');
    // (axe-core needs script, which this page runs none of: the same markup is checked with it above.)
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForLoadState();
    assert.deepEqual(await customerSees(token, conv), ['Hello Ada Lovelace, this is Grace. How can I help?']);
  });
});
