// The agent console as an agent uses it, next to a customer on a business's own website: signing in
// and out, the live inbox, replying, trust marks (DESIGN.md rule 10), follow-ups that reach another
// device, and asking the visitor to sign in.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';

import {
  api, axeViolations, bubbles, consoleAgent, consoleSignIn, consoleTimeline, createAgent, embedPage, eventually, launchBrowser, newPage, openChat,
  screenshot, send, signToken, startParley, startSite, waitForBubble, whenReady, widget, widgetLogin, workspace,
} from './harness.mjs';

const conversationURL = (parleyURL, id) => `${parleyURL}/console/conversations/${encodeURIComponent(id)}`;

// A row of the inbox is whatever holds the link to the conversation.
const inboxLink = (page, id) => page.locator(`a[href$="/console/conversations/${id}"]`);

describe('agent console: conversations', () => {
  let parley, browser, site, w, agent, customerURL;
  const pages = [];
  // customer opens the business's website with the widget on a fresh device, chat panel open.
  async function customer() {
    const page = await newPage(browser);
    pages.push(page);
    await page.goto(customerURL);
    await whenReady(page);
    await openChat(page);
    return page;
  }
  // agentPage is a tab of Sam's console, signed in once for the file; the previous test's tab is closed.
  let session = null;
  let lastTab = null;
  async function agentPage() {
    session ??= await consoleAgent(browser, parley.url, agent);
    await lastTab?.close();
    lastTab = await session.tab();
    return lastTab;
  }

  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Console Co', '--login-url', site.url + '/login');
    agent = await createAgent(parley.dataDir, w.id, { email: 'sam@console.example', name: 'Sam Agent', role: 'admin' });
    customerURL = site.set('/', embedPage(parley.url, w.id, { title: 'Console Co' }));
  });
  // Each test's customers (and other agents) leave with it; the browser and servers with the file.
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.context().close().catch(() => {});
  });
  after(async () => {
    await browser?.close(); await site?.close(); await parley?.close();
  });

  test('sign-in: a wrong password is refused, the right one opens the inbox, sign-out locks the console', async () => {
    const page = await newPage(browser);
    pages.push(page);
    await page.goto(parley.url + '/console/');
    await page.waitForURL((u) => u.pathname === '/console/login');

    await page.getByLabel('Email').fill(agent.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: /password|email/i }).waitFor({ state: 'visible' });
    assert.equal(new URL(page.url()).pathname, '/console/login');
    assert.ok(!(await page.content()).includes('not the password'), 'the wrong password is not echoed back');

    await page.getByLabel('Email').fill(agent.email);
    await page.getByLabel('Password').fill(agent.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/console/');
    await page.getByRole('link', { name: 'All open' }).waitFor({ state: 'visible' });
    for (const tab of ['Unassigned', 'Mine', 'Closed']) await page.getByRole('link', { name: tab }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.pathname === '/console/login');
    await page.goto(parley.url + '/console/');
    await page.waitForURL((u) => u.pathname === '/console/login');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();

    // A link into the console survives the sign-in; a link elsewhere does not.
    await page.goto(parley.url + '/console/report');
    await page.waitForURL((u) => u.pathname === '/console/login');
    await page.getByLabel('Email').fill(agent.email);
    await page.getByLabel('Password').fill(agent.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/console/report');
    await page.getByRole('heading', { name: 'Report' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.pathname === '/console/login');
    await page.goto(parley.url + '/console/login?next=' + encodeURIComponent('//evil.example/console/'));
    await page.getByLabel('Email').fill(agent.email);
    await page.getByLabel('Password').fill(agent.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/console/');
    assert.equal(new URL(page.url()).origin, parley.url, 'no redirect to another site');
    assert.deepEqual(page.errors, []);
  });

  test('live inbox: a new conversation appears without a reload, unread until opened; the reply reaches the widget live', async () => {
    const console_ = await agentPage();
    await console_.goto(parley.url + '/console/?view=open');
    const cust = await customer();
    const first = await send(cust, 'Hello, where is my parcel?');
    const id = first.conversation;

    // The row appears live, marked unread.
    const row = inboxLink(console_, id);
    await row.waitFor({ state: 'visible' });
    await eventually(async () => assert.match(await rowText(console_, id), /Hello, where is my parcel\?|Visitor/));
    await eventually(async () => assert.equal(await isUnread(console_, id), true, 'the new conversation is marked unread'));

    await row.click();
    await console_.waitForURL((u) => u.pathname.endsWith('/conversations/' + id));
    await eventually(async () => {
      const t = await consoleTimeline(console_);
      assert.ok(t.some((e) => e.sender === 'customer' && e.text.includes('Hello, where is my parcel?')), JSON.stringify(t));
    });

    // Back in the inbox, the conversation is no longer unread.
    await console_.goto(parley.url + '/console/?view=open');
    await inboxLink(console_, id).waitFor();
    assert.equal(await isUnread(console_, id), false, 'opening the conversation cleared the unread mark');

    // The agent replies; the customer's widget shows it live; a later customer message arrives live too.
    await console_.goto(conversationURL(parley.url, id));
    await console_.getByRole('textbox', { name: /^(Reply|Follow-up) to / }).fill('It left our warehouse this morning.');
    await console_.getByRole('button', { name: 'Send', exact: true }).click();
    const reply = await waitForBubble(cust, (b) => b.sender === 'agent' && b.text === 'It left our warehouse this morning.', 'the agent reply');
    assert.equal(reply.conversation, id);
    await eventually(async () => {
      const t = await consoleTimeline(console_);
      assert.ok(t.some((e) => e.sender === 'agent' && e.text.includes('It left our warehouse this morning.')), 'the reply shows in the timeline');
    });
    assert.equal(await console_.getByRole('textbox', { name: /^(Reply|Follow-up) to / }).inputValue(), '', 'the reply box is cleared');
    await send(cust, 'Thanks!');
    await eventually(async () => {
      const t = await consoleTimeline(console_);
      assert.ok(t.some((e) => e.sender === 'customer' && e.text.includes('Thanks!')), 'the customer message arrives live');
    });

    // With the inbox open, a new customer message makes the read conversation unread again, live.
    await console_.goto(parley.url + '/console/?view=open');
    await eventually(async () => assert.equal(await isUnread(console_, id), false));
    await send(cust, 'One more thing: can you gift-wrap it?');
    await eventually(async () => {
      assert.equal(await isUnread(console_, id), true, 'unread again');
      assert.match(await rowText(console_, id), /One more thing: can you gift-wrap it\?/, 'the preview shows the newest message');
    });
    assert.deepEqual([...console_.errors, ...cust.errors], []);
  });

  test('trust marks: none before sign-in, green after it, gray once closed; each with its tooltip', async () => {
    const cust = await customer();
    const before = await send(cust, 'Before signing in');
    const login = await widgetLogin(cust, signToken(w, { sub: 'u-ada', email: 'ada@example.com', name: 'Ada Lovelace' }));
    assert.ok(login.ok, JSON.stringify(login));
    const afterMsg = await send(cust, 'After signing in');
    assert.equal(afterMsg.conversation, before.conversation, 'one conversation');
    const id = before.conversation;

    const page = await agentPage();
    await page.goto(conversationURL(parley.url, id));
    const marks = async () => {
      const t = await consoleTimeline(page);
      const pick = (text) => t.find((e) => e.sender === 'customer' && e.text.includes(text));
      return { before: pick('Before signing in'), after: pick('After signing in'), events: t.filter((e) => e.event).map((e) => e.event) };
    };
    let m = await marks();
    assert.equal(m.before.trust, 'none', 'an anonymous message has no mark');
    assert.equal(m.after.trust, 'green', 'a verified message in an open conversation is green');
    assert.match(m.after.tooltip || '', /verified/i, 'the green mark explains itself');
    assert.match(m.after.text, /verified/i, 'the green mark has text for screen readers');
    assert.match(m.before.tooltip || '', /^Not verified: Sent without signing in/, 'an untrusted message has no trust mark, but says why');
    assert.ok(!m.before.text.includes('✓'), 'no check mark on the untrusted message');
    assert.ok(m.events.includes('authenticated'), `an authenticated event in ${m.events}`);
    // The customer panel: verified, with the key that proved it.
    const panelText = await page.locator('body').innerText();
    assert.match(panelText, /ada@example\.com/);
    assert.ok(panelText.includes(w.kid), 'the key id that verified the customer is shown');
    // An agent answers; the page as an agent sees it.
    await page.getByRole('textbox', { name: /^(Reply|Follow-up) to / }).fill('Thanks, Ada. I can see your order now: it ships tomorrow.');
    await page.getByRole('textbox', { name: /^(Reply|Follow-up) to / }).press('Enter');
    await waitForBubble(cust, (b) => b.sender === 'agent' && b.text.startsWith('Thanks, Ada.'), 'the reply sent with Enter');
    await eventually(async () => assert.ok((await consoleTimeline(page)).some((e) => e.sender === 'agent'), 'the reply in the timeline'));
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'console-conversation');
    // The mark is reachable by keyboard, and focusing it shows its tooltip.
    const mark = page.locator('[data-trust="green"] .trust').first();
    await mark.evaluate((el) => el.focus({ preventScroll: true }));
    assert.ok(await mark.evaluate((el) => el.tabIndex >= 0), 'the green mark is in the tab order');
    assert.equal(await mark.evaluate((el) => el === document.activeElement), true, 'the green mark takes focus');
    const tip = page.locator('[data-trust="green"] [role="tooltip"]').first();
    await eventually(async () => assert.ok((await tip.boundingBox())?.width > 20, 'the focused mark shows its tooltip'));
    assert.match(await tip.innerText(), /Verified customer/, 'the tooltip says what the mark means');
    await screenshot(page, 'console-trust-open');
    await mark.blur();

    await page.getByRole('button', { name: 'Close conversation' }).click();
    await page.getByRole('button', { name: 'Reopen', exact: true }).waitFor();
    await eventually(async () => {
      m = await marks();
      assert.equal(m.after.trust, 'gray', 'the trusted message turns gray once closed');
    });
    assert.equal(m.before.trust, 'none', 'the untrusted message still has no mark');
    assert.match(m.after.tooltip || '', /closed/i, 'the gray mark says why');
    assert.ok(m.events.includes('closed'), `a closed event in ${m.events}`);
    await screenshot(page, 'console-trust-closed');

    // Reopening turns it green again.
    await page.getByRole('button', { name: 'Reopen', exact: true }).click();
    await page.getByRole('button', { name: 'Close conversation' }).waitFor();
    await eventually(async () => assert.equal((await marks()).after.trust, 'green'));
    assert.deepEqual([...page.errors, ...cust.errors], []);
  });

  test('the open conversation follows the visitor signing in, without a reload', async () => {
    const cust = await customer();
    const first = await send(cust, 'Hi, anonymous for now');
    const page = await agentPage();
    await page.goto(conversationURL(parley.url, first.conversation));
    await page.getByRole('heading', { name: 'Visitor' }).waitFor();

    assert.ok((await widgetLogin(cust, signToken(w, { sub: 'u-live', email: 'live@example.com', name: 'Liv Live' }))).ok);
    await send(cust, 'Now signed in');
    await eventually(async () => {
      const t = await consoleTimeline(page);
      assert.ok(t.some((e) => e.event === 'authenticated'), 'the authenticated event arrives live');
      assert.equal(t.find((e) => e.text.includes('Now signed in'))?.trust, 'green', 'the new message is green');
    });
    // Everything on the page now says who the agent is talking to.
    const details = page.getByRole('complementary', { name: 'Conversation details' });
    await eventually(async () => {
      assert.match(await details.innerText(), /live@example\.com/, 'the customer panel shows the verified email');
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Liv Live', 'the heading names the customer');
    });
    assert.deepEqual([...page.errors, ...cust.errors], []);
  });

  test('the timeline begins with the conversation starting, then what routing did', async () => {
    const cust = await customer();
    const first = await send(cust, 'The very first words');
    const page = await agentPage();
    await page.goto(conversationURL(parley.url, first.conversation));
    const order = (await consoleTimeline(page)).map((e) => e.event || e.sender);
    assert.deepEqual(order, ['started', 'assigned', 'customer'], 'started, assigned by routing, then the first message');
  });

  test('a visitor who only claims a verified customer\'s email gets a warning, not the profile (rule 6)', async () => {
    // A verified customer with that email exists (signed in through the widget API, no browser needed).
    const session = await api(parley.url, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: w.id }) });
    const login = await api(parley.url, session.data.session_token, '/v1/widget/login',
      { method: 'POST', body: JSON.stringify({ token: signToken(w, { sub: 'u-rule6', email: 'rule6@example.com', name: 'Real Rita' }) }) });
    assert.equal(login.status, 200, JSON.stringify(login.data));

    const cust = await customer();
    await cust.evaluate(() => window.Parley.setUser({ name: 'Rita (honest)', email: 'Rule6@Example.com' }));
    const first = await send(cust, 'Please read me my order history');
    const page = await agentPage();
    await page.goto(conversationURL(parley.url, first.conversation));
    const details = page.getByRole('complementary', { name: 'Conversation details' });
    const warning = details.getByRole('note').filter({ hasText: /Unverified claim/ });
    await warning.waitFor();
    assert.match(await warning.innerText(), /rule6@example\.com/i);
    assert.match(await warning.innerText(), /a verified profile with that email exists/);
    const text = await details.innerText();
    assert.match(text, /Identified \(unverified\)/);
    assert.doesNotMatch(text, /Real Rita|u-rule6/, 'nothing of the verified customer is shown');
    assert.equal(await details.getByRole('link', { name: 'Customer profile' }).count(), 0, 'no link to the verified profile');
    const t = await consoleTimeline(page);
    assert.deepEqual(t.filter((e) => e.sender === 'customer').map((e) => e.trust), ['none'], 'the claimed message is not trusted');
    assert.deepEqual(page.errors, []);
  });

  test('follow-up: a closed conversation of a verified customer reopens and reaches a new device', async () => {
    const claims = { sub: 'u-grace', email: 'grace@example.com', name: 'Grace Hopper' };
    const cust = await customer();
    assert.ok((await widgetLogin(cust, signToken(w, claims))).ok);
    const first = await send(cust, 'Can I change my delivery address?');
    const id = first.conversation;

    const page = await agentPage();
    await page.goto(conversationURL(parley.url, id));
    await page.getByRole('button', { name: 'Close conversation' }).click();
    const followUp = page.getByRole('button', { name: /follow-up/i });
    await followUp.waitFor({ state: 'visible' });
    assert.match(await followUp.innerText(), /reopen/i, 'the button says the follow-up reopens the conversation');
    await cust.context().close();
    // It is listed under Closed, and no longer under All open.
    await page.goto(parley.url + '/console/?view=closed');
    await inboxLink(page, id).waitFor();
    await page.goto(parley.url + '/console/?view=open');
    await page.getByRole('heading', { name: 'Inbox' }).waitFor();
    assert.equal(await inboxLink(page, id).count(), 0, 'not under All open');
    await page.goto(conversationURL(parley.url, id));

    await page.getByRole('textbox', { name: /^(Reply|Follow-up) to / }).fill('Done: we changed it to 1 Harbour Rd.');
    await followUp.click();
    await page.getByRole('button', { name: 'Close conversation' }).waitFor({ state: 'visible' });
    await eventually(async () => {
      const t = await consoleTimeline(page);
      assert.ok(t.some((e) => e.event === 'reopened'), 'a reopened event');
      assert.ok(t.some((e) => e.sender === 'agent' && e.text.includes('Done: we changed it to 1 Harbour Rd.')));
    });

    // The customer, on another device, signs in with a fresh token and sees the follow-up.
    const other = await customer();
    assert.ok((await widgetLogin(other, signToken(w, claims))).ok);
    const seen = await waitForBubble(other, (b) => b.sender === 'agent' && b.text === 'Done: we changed it to 1 Harbour Rd.', 'the follow-up on the new device');
    assert.equal(seen.conversation, id);
    assert.ok((await bubbles(other)).some((b) => b.text === 'Can I change my delivery address?'), 'the history too');
    assert.deepEqual([...page.errors, ...other.errors], []);
  });

  test('transferring: the tabs follow the assignee; search finds a customer by email', async () => {
    const lee = await createAgent(parley.dataDir, w.id, { email: 'lee@console.example', name: 'Lee Colleague' });
    const cust = await customer();
    assert.ok((await widgetLogin(cust, signToken(w, { sub: 'u-tabs', email: 'tabs@example.com', name: 'Tabitha Tabs' }))).ok);
    const first = await send(cust, 'Who is looking after me?');
    const id = first.conversation;
    const page = await agentPage();
    const listed = async (view) => {
      await page.goto(`${parley.url}/console/?view=${view}`);
      await page.getByRole('heading', { name: 'Inbox' }).waitFor();
      return (await inboxLink(page, id).count()) > 0;
    };

    await page.goto(conversationURL(parley.url, id));
    await page.getByLabel('Transfer to').selectOption({ label: 'Lee Colleague' });
    await page.getByRole('button', { name: 'Transfer', exact: true }).click();
    await page.getByText('Assigned to Lee Colleague').first().waitFor();
    const t = await consoleTimeline(page);
    // (Routing may have given it to Lee already: then the transfer changes nothing, and routing's entry names Lee.)
    assert.ok(t.some((e) => (e.event === 'transferred' || e.event === 'assigned') && e.text.includes('Lee Colleague')), JSON.stringify(t.filter((e) => e.event)));
    assert.equal(await listed('mine'), false, 'not in Mine once it is Lee\'s');
    assert.equal(await listed('unassigned'), false);
    assert.equal(await listed('open'), true);

    await page.goto(conversationURL(parley.url, id));
    await page.getByLabel('Transfer to').selectOption({ label: 'Unassigned' });
    await page.getByRole('button', { name: 'Transfer', exact: true }).click();
    await page.getByText('Unassigned', { exact: true }).first().waitFor();
    assert.equal(await listed('unassigned'), true, 'in Unassigned once nobody has it');

    await page.goto(conversationURL(parley.url, id));
    await page.getByLabel('Transfer to').selectOption({ label: 'Sam Agent (you)' });
    await page.getByRole('button', { name: 'Transfer', exact: true }).click();
    await page.getByText('Assigned to Sam Agent').first().waitFor();
    assert.equal(await listed('mine'), true, 'in Mine once it is mine');

    // Search by the verified email finds it, and only it.
    await page.goto(parley.url + '/console/?view=open');
    await page.getByRole('searchbox', { name: 'Search customers' }).fill('tabs@example.com');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL((u) => u.searchParams.get('q') === 'tabs@example.com');
    await inboxLink(page, id).waitFor();
    assert.equal(await page.locator('a[href*="/console/conversations/"]').count(), 1, 'only the matching conversation');

    // Lee, not an administrator, sees no administration and is refused its pages.
    const leePage = await newPage(browser);
    pages.push(leePage);
    await consoleSignIn(leePage, parley.url, lee);
    assert.equal(await leePage.getByRole('link', { name: 'Settings' }).count(), 0, 'no Settings link for an agent');
    const res = await leePage.goto(parley.url + '/console/settings/keys');
    assert.equal(res.status(), 403);
    assert.match(await leePage.locator('main').innerText(), /administrator/i);
    assert.equal(await leePage.getByRole('row').filter({ hasText: w.kid }).count(), 0, 'no key listed');
    assert.deepEqual([...page.errors, ...leePage.errors], []);
  });

  test('two agents: a colleague closing the conversation shows live; a draft survives it', async () => {
    const cust = await customer();
    const first = await send(cust, 'Anyone there?');
    const id = first.conversation;
    const page = await agentPage();
    await page.goto(conversationURL(parley.url, id));
    const lee = await newPage(browser);
    pages.push(lee);
    await consoleSignIn(lee, parley.url, { email: 'lee@console.example' });
    await lee.goto(conversationURL(parley.url, id));

    // Sam is typing when a new customer message arrives: the message shows, the draft stays.
    const box = page.getByRole('textbox', { name: /^(Reply|Follow-up) to / });
    await box.fill('Let me check that for y');
    await send(cust, 'Hello??');
    await eventually(async () => assert.ok((await consoleTimeline(page)).some((e) => e.text.includes('Hello??')), 'the new message shows'));
    assert.equal(await box.inputValue(), 'Let me check that for y', 'the draft is kept');

    // Lee closes it; Sam sees it closed without a reload.
    await lee.getByRole('button', { name: 'Close conversation' }).click();
    await lee.getByRole('button', { name: 'Reopen', exact: true }).waitFor();
    await eventually(async () => {
      assert.equal(await page.locator('[data-conversation-status]').getAttribute('data-conversation-status'), 'closed');
      assert.ok((await consoleTimeline(page)).some((e) => e.event === 'closed' && e.text.includes('Lee Colleague')), 'the closed event names Lee');
    });
    // Sending the stale draft now is refused with the reason, and nothing reaches the visitor.
    await box.press('Enter');
    await page.getByRole('alert').filter({ hasText: /closed/ }).waitFor();
    assert.deepEqual((await bubbles(cust)).filter((b) => b.sender !== 'customer'), [], 'nothing reached the visitor');
    assert.deepEqual([...page.errors, ...lee.errors], []);
  });

  test('ask to sign in: the visitor gets the login link; the timeline records it', async () => {
    const cust = await customer();
    const first = await send(cust, 'Is my order shipped?');
    const page = await agentPage();
    await page.goto(conversationURL(parley.url, first.conversation));
    await page.getByRole('button', { name: 'Ask to sign in' }).click();

    const loginURL = site.url + '/login';
    const asked = await waitForBubble(cust, (b) => b.sender === 'system' && b.text.includes(loginURL), 'the sign-in request in the widget');
    assert.equal(asked.conversation, first.conversation);
    const link = widget(cust).locator(`[data-id="${asked.id}"]`).getByRole('link', { name: 'Sign in' });
    assert.equal(await link.getAttribute('href'), loginURL, 'the request carries a real sign-in link');
    await eventually(async () => {
      const t = await consoleTimeline(page);
      assert.ok(t.some((e) => e.event === 'login_requested'), 'a login_requested event: ' + JSON.stringify(t.map((e) => e.event || e.sender)));
    });

    // Closed while the visitor is still anonymous, nobody could receive a reply: the console says so.
    await page.getByRole('button', { name: 'Close conversation' }).click();
    await page.getByRole('button', { name: 'Reopen', exact: true }).waitFor();
    assert.equal(await page.getByRole('textbox', { name: /^(Reply|Follow-up) to / }).count(), 0, 'no reply box');
    assert.match(await page.getByRole('note').filter({ hasText: /reply/ }).innerText(), /never proved who they are/);
    assert.ok(await page.getByRole('button', { name: 'Ask to sign in' }).isDisabled(), 'asking a closed conversation is disabled');
    assert.deepEqual([...page.errors, ...cust.errors], []);
  });

  test('ask to sign in without a login URL: the button is disabled or says why', async () => {
    const other = await workspace(parley.dataDir, 'No Login Co');
    const a = await createAgent(parley.dataDir, other.id, { email: 'lee@nologin.example', name: 'Lee' });
    const url = site.set('/nologin', embedPage(parley.url, other.id, { title: 'No Login Co' }));
    const cust = await newPage(browser);
    pages.push(cust);
    await cust.goto(url);
    await whenReady(cust);
    await openChat(cust);
    const first = await send(cust, 'Hi there');

    const page = await newPage(browser);
    pages.push(page);
    await consoleSignIn(page, parley.url, a);
    await page.goto(conversationURL(parley.url, first.conversation));
    const ask = page.getByRole('button', { name: /Ask to sign in/ });
    if (await ask.count() && await ask.isEnabled()) {
      await ask.click();
      await page.getByText(/login URL/i).first().waitFor({ state: 'visible' });
    } else {
      await page.getByText(/login URL/i).first().waitFor({ state: 'visible' });
    }
    const t = await consoleTimeline(page);
    assert.ok(!t.some((e) => e.event === 'login_requested'), 'nothing was requested');
    assert.deepEqual((await bubbles(cust)).filter((b) => b.sender === 'system'), [], 'the visitor got nothing');
  });

  test('the inbox shows each conversation\'s identity level at a glance', async () => {
    // By now this workspace has anonymous, identified (claimed) and verified conversations.
    const page = await agentPage();
    await page.goto(parley.url + '/console/?view=open');
    const rows = page.getByRole('list', { name: 'Conversations' }).getByRole('listitem');
    await rows.first().waitFor();
    const levels = await rows.evaluateAll((lis) => lis.map((li) => li.dataset.level));
    for (const level of ['anonymous', 'identified', 'verified']) assert.ok(levels.includes(level), `a ${level} row in ${levels}`);
    const ada = rows.filter({ hasText: 'Ada Lovelace' });
    assert.match(await ada.innerText(), /Verified/);
    const rita = rows.filter({ hasText: 'Rita (honest)' });
    assert.match(await rita.innerText(), /Identified \(unverified\)/);
    await screenshot(page, 'console-inbox');
    assert.deepEqual(page.errors, []);
  });

  test('axe-core finds nothing serious on the sign-in page, the inbox, a conversation and a customer', async () => {
    const page = await agentPage();
    await page.goto(parley.url + '/console/?view=open');
    assert.deepEqual(await axeViolations(page), [], 'inbox');
    await page.getByRole('link', { name: /Ada Lovelace/ }).first().click();
    await page.getByRole('heading', { name: 'Ada Lovelace', level: 1 }).waitFor();
    assert.deepEqual(await axeViolations(page), [], 'conversation');
    await page.getByRole('link', { name: 'Customer profile' }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/console/customers/'));
    assert.deepEqual(await axeViolations(page), [], 'customer');
    const login = await newPage(browser);
    pages.push(login);
    await login.goto(parley.url + '/console/login');
    await login.getByLabel('Password').fill('wrong password');
    await login.getByLabel('Email').fill(agent.email);
    await login.getByRole('button', { name: 'Sign in' }).click();
    await login.getByRole('alert').waitFor();
    assert.deepEqual(await axeViolations(login), [], 'sign-in page with an error');
  });

  // Last, because it restarts the server under everyone.
  test('the live inbox reconnects after a server restart and catches up', async () => {
    const page = await agentPage();
    await page.goto(parley.url + '/console/?view=open');
    await page.getByRole('list', { name: 'Conversations' }).waitFor();
    let socket = null;
    page.on('websocket', (ws) => { if (ws.url().endsWith('/console/ws')) socket = ws; });
    await parley.restart();
    // A visitor writes at once, likely before the page has reconnected (through the widget's HTTP API).
    const session = await api(parley.url, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: w.id }) });
    assert.equal(session.status, 201, JSON.stringify(session.data));
    const msg = await api(parley.url, session.data.session_token, '/v1/widget/messages',
      { method: 'POST', body: JSON.stringify({ body: 'Written while you were reconnecting', client_id: 'restart-1' }) });
    assert.equal(msg.status, 201, JSON.stringify(msg.data));
    await inboxLink(page, msg.data.message.conversation_id).waitFor({ timeout: 20000 });
    assert.ok(socket, 'the page opened a new socket');
    assert.match(await rowText(page, msg.data.message.conversation_id), /Written while you were reconnecting/);
    assert.deepEqual(page.errors, []);
  });
});

async function rowText(page, id) {
  return inboxLink(page, id).first().evaluate((a) => (a.closest('tr, li, article, [data-conversation]') || a).textContent);
}

// isUnread reads the row's unread marker: a data-unread attribute, or an "unread" class, or the word.
async function isUnread(page, id) {
  return inboxLink(page, id).first().evaluate((a) => {
    const row = a.closest('tr, li, article, [data-conversation]') || a;
    if (row.dataset.unread !== undefined) return row.dataset.unread === 'true' || row.dataset.unread === '';
    if (row.classList.contains('unread') || a.classList.contains('unread')) return true;
    return /\bunread\b/i.test(row.textContent);
  });
}
