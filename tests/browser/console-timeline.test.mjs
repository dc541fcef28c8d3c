// The console's conversation timeline at length and at the edges: a long conversation opens on its
// newest page, "Show earlier messages" loads older pages into place, live messages are appended without
// rebuilding what is shown; every customer message's mark explains itself to sighted, keyboard and
// screen-reader users alike; and a conversation whose visitor can no longer be reached says so.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  api, axeViolations, consoleAgent, consoleTimeline, createAgent, eventually, launchBrowser, screenshot, signToken, startParley, workspace,
} from './harness.mjs';

const PAGE = 50; // chat.TimelinePageSize

describe('agent console: the timeline', () => {
  let parley, browser, w, agent, session;

  before(async () => {
    [parley, browser] = await Promise.all([startParley({ demo: false }), launchBrowser()]);
    w = await workspace(parley.dataDir, 'Timeline Co', '--login-url', 'https://timeline.example/login');
    agent = await createAgent(parley.dataDir, w.id, { email: 'tia@timeline.example', name: 'Tia Agent', role: 'admin' });
    session = await consoleAgent(browser, parley.url, agent);
  });
  after(async () => {
    await browser?.close(); await parley?.close();
  });

  // visitor is a widget session driven through the HTTP API, as the widget would.
  async function visitor() {
    const s = await api(parley.url, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: w.id }) });
    assert.equal(s.status, 201, JSON.stringify(s.data));
    const v = { token: s.data.session_token };
    v.say = async (body) => {
      const r = await api(parley.url, v.token, '/v1/widget/messages', { method: 'POST', body: JSON.stringify({ body, client_id: randomUUID() }) });
      assert.equal(r.status, 201, JSON.stringify(r.data));
      return r.data.message;
    };
    v.call = async (path, body) => {
      const r = await api(parley.url, v.token, path, { method: 'POST', ...(body ? { body: JSON.stringify(body) } : {}) });
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.data)}`);
      if (r.data.session_token) v.token = r.data.session_token;
      return r.data;
    };
    return v;
  }

  // open shows a conversation; with holdSocket its live socket connects only after 3 s, so whatever
  // happens meanwhile falls between the page's render and its subscription, and the page must catch up.
  const open = async (id, { holdSocket = false } = {}) => {
    const page = await session.tab();
    if (holdSocket) {
      await page.routeWebSocket(/\/console\/ws$/, async (ws) => {
        await new Promise((resolve) => setTimeout(resolve, 3000));
        ws.connectToServer();
      });
    }
    await page.goto(`${parley.url}/console/conversations/${encodeURIComponent(id)}`);
    return page;
  };
  const keys = (page) => page.locator('.timeline > li[data-key]').evaluateAll((els) => els.map((el) => el.dataset.key));
  const customerTexts = async (page) => (await consoleTimeline(page)).filter((e) => e.sender === 'customer')
    .map((e) => /m-\d{3}|live-\d/.exec(e.text)?.[0]);

  test('a long conversation opens on its newest page; earlier pages load in place, in order, once each; live messages are appended', async () => {
    const v = await visitor();
    let conv;
    for (let i = 0; i < 2 * PAGE + 10; i++) conv = (await v.say(`m-${String(i).padStart(3, '0')}`)).conversation_id;
    const page = await open(conv);
    const requests = [];
    page.on('request', (r) => requests.push(new URL(r.url()).pathname + new URL(r.url()).search));

    // The newest page, scrolled to its end.
    assert.equal((await keys(page)).length, PAGE, 'one page of entries');
    let texts = await customerTexts(page);
    assert.equal(texts.at(-1), 'm-109', 'the newest message last');
    assert.equal(texts[0], 'm-060');
    const timeline = page.getByRole('list', { name: 'Conversation timeline' });
    const atEnd = () => timeline.evaluate((t) => t.scrollHeight - t.scrollTop - t.clientHeight < 40);
    await eventually(async () => assert.ok(await atEnd(), 'scrolled to the newest'));
    await screenshot(page, 'console-timeline-newest');

    // Marks on nodes already shown: nothing below may rebuild them.
    await page.evaluate(() => { for (const li of document.querySelectorAll('.timeline > li[data-key]')) li.parleyMarker = li.dataset.key; });
    const marked = () => page.evaluate(() => [...document.querySelectorAll('.timeline > li[data-key]')].filter((li) => li.parleyMarker === li.dataset.key).length);

    // Show earlier: the page before, put in place above, with what the agent was reading left where it was.
    const earlier = page.getByRole('link', { name: 'Show earlier messages' });
    await timeline.evaluate((t) => t.scrollTo({ top: 0, behavior: 'instant' }));
    const anchor = await page.locator('.timeline > li[data-key]').first().elementHandle(); // this node, wherever it goes
    const offset = () => anchor.evaluate((el) => el.getBoundingClientRect().top - el.closest('.timeline').getBoundingClientRect().top);
    const before = await offset();
    await earlier.focus();
    await page.keyboard.press('Enter');
    await eventually(async () => assert.equal((await keys(page)).length, 2 * PAGE));
    assert.equal(Math.round(await offset()), Math.round(before), 'the entry the agent was reading stays where it was');
    assert.equal(await earlier.evaluate((el) => el === document.activeElement), true, 'focus stays on "Show earlier messages"');
    assert.equal(await marked(), PAGE, 'the entries already shown were not rebuilt');
    texts = await customerTexts(page);
    assert.deepEqual(texts, texts.slice().sort(), 'in order');
    assert.equal(texts[0], 'm-010');

    // The last earlier page reaches the start; the control goes, focus moves to the timeline.
    await page.keyboard.press('Enter');
    await eventually(async () => assert.equal(await earlier.count(), 0, 'nothing earlier left'));
    const all = await keys(page);
    assert.equal(new Set(all).size, all.length, 'no entry twice');
    texts = await customerTexts(page);
    assert.deepEqual(texts, Array.from({ length: 110 }, (_, i) => `m-${String(i).padStart(3, '0')}`), 'every message once, in order');
    assert.equal((await consoleTimeline(page))[0].event, 'started', 'the timeline opens with the conversation starting');
    assert.equal(await timeline.evaluate((el) => el === document.activeElement), true, 'focus moves to the timeline');
    assert.equal(await marked(), PAGE, 'still the same nodes');
    // (Once its socket is ready the page asks for what came after its newest entry, and for the regions
    // around the timeline, in case something came between its render and its subscription: that is no
    // entry already shown.)
    assert.ok(!requests.some((r) => r.startsWith('/console/conversations/') && !r.includes('/timeline?before=') && !r.includes('/timeline?after=110&') && !r.endsWith('/live')),
      `only earlier pages were fetched: ${requests}`);

    // A live message is appended; nothing shown is fetched or rebuilt again.
    requests.length = 0;
    const count = (await keys(page)).length;
    await timeline.evaluate((t) => t.scrollTo({ top: t.scrollHeight, behavior: 'instant' }));
    await v.say('live-1');
    await eventually(async () => assert.equal((await customerTexts(page)).at(-1), 'live-1'));
    assert.equal((await keys(page)).length, count + 1, 'exactly one entry more');
    assert.equal(await marked(), PAGE, 'the entries already shown survive the live message');
    // (alerts.js reads the small alert state for the title count: not the conversation.)
    assert.ok(requests.every((r) => r.includes('/timeline?after=') || r.endsWith('/read') || r === '/console/alerts/state'), `only what is new was fetched: ${requests}`);
    await eventually(async () => assert.ok(await atEnd(), 'still following the newest'));
    assert.deepEqual(await axeViolations(page), []);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test('without the script, "Show earlier messages" is a link to the page before', async () => {
    const v = await visitor();
    let conv;
    for (let i = 0; i < PAGE + 5; i++) conv = (await v.say(`m-${String(i).padStart(3, '0')}`)).conversation_id;
    const context = await browser.newContext({ javaScriptEnabled: false, storageState: await session.context.storageState() });
    try {
      const page = await context.newPage();
      await page.goto(`${parley.url}/console/conversations/${conv}`);
      assert.equal((await customerTexts(page)).at(-1), 'm-054');
      await page.getByRole('link', { name: 'Show earlier messages' }).click();
      await page.waitForURL((u) => u.searchParams.has('before'));
      const texts = await customerTexts(page);
      assert.deepEqual(texts, ['m-000', 'm-001', 'm-002', 'm-003', 'm-004', 'm-005'].slice(0, texts.length));
      assert.ok(texts.length >= 5 && !texts.includes('m-054'), `the earlier page: ${texts}`);
      await page.getByRole('link', { name: 'Back to the newest messages' }).click();
      await page.waitForURL((u) => !u.searchParams.has('before'));
      assert.equal((await customerTexts(page)).at(-1), 'm-054');
    } finally {
      await context.close();
    }
  });

  test('every customer message says whether it is verified and why: on hover, on focus and to screen readers', async () => {
    const v = await visitor();
    const conv = (await v.say('m-000 before signing in')).conversation_id;
    await v.call('/v1/widget/login', { token: signToken(w, { sub: 'u-ada', email: 'ada@example.com', name: 'Ada Lovelace' }) });
    await v.say('m-001 after signing in');
    const page = await open(conv);
    const cdp = await page.context().newCDPSession(page);
    // What Chromium's accessibility tree says of each mark: its role, name and description.
    const ax = async (selector) => {
      const { root } = await cdp.send('DOM.getDocument', { depth: 0 });
      const { nodeIds } = await cdp.send('DOM.querySelectorAll', { nodeId: root.nodeId, selector });
      const out = [];
      for (const nodeId of nodeIds) {
        const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { nodeId, fetchRelatives: false });
        const n = nodes[0];
        out.push({ role: n.role?.value, name: n.name?.value, description: n.description?.value });
      }
      return out;
    };
    await eventually(async () => assert.equal((await ax('.timeline .trust')).length, 2));
    assert.deepEqual(await ax('.timeline .trust'), [
      { role: 'image', name: 'Not verified', description: 'Sent without signing in, so whoever wrote it has not proved who they are' },
      { role: 'image', name: 'Verified customer', description: 'Sent while signed in as a verified customer' },
    ]);

    // Sighted users: the reason shows on hover and on keyboard focus, and Escape hides it.
    const untrusted = page.locator('[data-trust="none"] .trust');
    const note = page.locator('[data-trust="none"] [role="tooltip"]');
    const shown = async () => ((await note.boundingBox())?.width ?? 0) > 20;
    assert.equal(await shown(), false, 'hidden until asked for');
    await untrusted.hover();
    await eventually(async () => assert.equal(await shown(), true, 'shown on hover'));
    assert.equal(await note.innerText(), 'Not verified: Sent without signing in, so whoever wrote it has not proved who they are');
    await page.mouse.move(0, 0);
    await eventually(async () => assert.equal(await shown(), false));
    await page.getByRole('img', { name: 'Verified customer' }).focus();
    await page.keyboard.press('Shift+Tab');
    assert.equal(await untrusted.evaluate((el) => el === document.activeElement), true, 'the marks are in the tab order');
    await eventually(async () => assert.equal(await shown(), true, 'shown on focus'));
    await screenshot(page, 'console-trust-untrusted');
    await page.keyboard.press('Escape');
    await eventually(async () => assert.equal(await shown(), false, 'Escape hides it'));

    // Closed by another agent's hand (here: a second tab), the green mark turns gray live, and says why.
    const other = await session.tab();
    await other.goto(`${parley.url}/console/conversations/${conv}`);
    await other.getByRole('button', { name: 'Close conversation' }).click();
    await other.getByRole('button', { name: 'Reopen', exact: true }).waitFor();
    await other.close();
    await eventually(async () => assert.deepEqual((await ax('.timeline .trust')).map((m) => m.name), ['Not verified', 'Verified customer (conversation closed)']));
    assert.equal((await ax('.timeline .trust'))[1].description, 'Sent while signed in as a verified customer (conversation closed)');
    assert.deepEqual((await consoleTimeline(page)).filter((e) => e.sender === 'customer').map((e) => e.trust), ['none', 'gray']);
    assert.deepEqual(await axeViolations(page), []);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test('a visitor who logged out, or signed in as someone else, can no longer be reached: the composer and the timeline say so', async () => {
    // Anonymous, logging out while the agent watches.
    const anon = await visitor();
    const conv = (await anon.say('Hello, anonymous here')).conversation_id;
    // The logout comes before the page's socket does: the page learns of it by catching up.
    const page = await open(conv, { holdSocket: true });
    const reply = page.getByRole('textbox', { name: /^Reply to / });
    await reply.waitFor();
    await anon.call('/v1/widget/logout');
    const note = page.getByRole('note').filter({ hasText: 'Nobody can receive replies here any more' });
    await eventually(async () => {
      assert.equal(await reply.count(), 0, 'no reply box');
      assert.match(await note.innerText(), /they logged out/);
      assert.ok((await consoleTimeline(page)).at(-1)?.event === 'unreachable', 'the timeline ends saying so');
    });
    assert.match((await consoleTimeline(page)).at(-1).text, /Nobody can receive replies here any more/);
    assert.deepEqual(await axeViolations(page), []);
    await screenshot(page, 'console-unreachable');
    await page.close();

    // Claimed to be Ada, then signed in as Bob: Ada's conversation stays with its claim, and no one reads it.
    const claimed = await visitor();
    await claimed.call('/v1/widget/identify', { name: 'Ada', email: 'ada.claimed@example.com' });
    const claimedConv = (await claimed.say('I am Ada, trust me')).conversation_id;
    await claimed.call('/v1/widget/login', { token: signToken(w, { sub: 'u-bob', email: 'bob@example.com', name: 'Bob Other' }) });
    const p2 = await open(claimedConv);
    await p2.getByRole('note').filter({ hasText: /signed in as someone else/ }).waitFor();
    assert.equal(await p2.getByRole('textbox', { name: /^Reply to / }).count(), 0);
    assert.equal((await consoleTimeline(p2)).at(-1)?.event, 'unreachable');
    assert.equal(await p2.getByRole('button', { name: 'Ask to sign in' }).isDisabled(), true, 'nobody could receive a sign-in link either');
    assert.deepEqual(p2.errors, []);
    await p2.close();
  });

  test('the first catch-up leaves alone what did not change: a transfer picked and a refused file stay while the socket connects', async () => {
    const v = await visitor();
    const conv = (await v.say('Can someone look at this?')).conversation_id;
    const page = await open(conv, { holdSocket: true });
    const caughtUp = page.waitForResponse((r) => r.url().endsWith('/live') && r.status() === 200);
    // Before the socket is there: the agent picks someone to transfer to, and attaches a file the
    // server refuses (its alert is the only word of it).
    const transfer = page.getByLabel('Transfer to');
    const other = await transfer.evaluate((sel) => [...sel.options].find((o) => !o.selected).value);
    await transfer.selectOption(other);
    const picked = await transfer.inputValue();
    assert.equal(picked, other);
    await page.locator('[data-attach-input]').setInputFiles({ name: 'page.png', mimeType: 'image/png', buffer: Buffer.from('<html><script>alert(1)</script></html>') });
    const alert = page.locator('form[data-composer]').getByRole('alert');
    await eventually(async () => assert.match(await alert.textContent(), /^page\.png: .+/));
    await page.locator('body').click({ position: { x: 1, y: 1 } }); // focus leaves the forms
    // The socket connects, the page asks for the regions around the timeline: nothing changed there.
    await caughtUp;
    await page.waitForTimeout(300); // the answer is put in place after it arrives
    assert.equal(await transfer.inputValue(), picked, 'the transfer picked is still picked');
    assert.match(await alert.textContent(), /^page\.png: .+/, 'the alert is still there');
    // A real change of those regions still shows: the visitor logs out, the reply box goes.
    await v.call('/v1/widget/logout');
    await eventually(async () => assert.equal(await page.getByRole('textbox', { name: /^Reply to / }).count(), 0, 'no reply box'));
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test('revoking a key says how many widget sessions it ended; an administrator ends every widget session after confirming', async () => {
    // A workspace of its own, so that the counts are this test's sessions only.
    const k = await workspace(parley.dataDir, 'Keys Co');
    const admin = await createAgent(parley.dataDir, k.id, { email: 'kim@keys.example', name: 'Kim Admin', role: 'admin' });
    const kim = await consoleAgent(browser, parley.url, admin);
    const start = async () => {
      const s = await api(parley.url, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: k.id }) });
      assert.equal(s.status, 201);
      return s.data.session_token;
    };
    const alive = async (token) => (await api(parley.url, token, '/v1/widget/session')).status === 200;
    const verified = [];
    for (const sub of ['u-1', 'u-2', 'u-3']) {
      const r = await api(parley.url, await start(), '/v1/widget/login', { method: 'POST', body: JSON.stringify({ token: signToken(k, { sub }) }) });
      assert.equal(r.status, 200, JSON.stringify(r.data));
      verified.push(r.data.session_token);
    }
    const anonymous = [await start(), await start()];

    const page = await kim.tab();
    await page.goto(parley.url + '/console/settings/keys');
    await page.getByText('Revoke…').first().click();
    await page.getByRole('button', { name: 'Revoke ' + k.kid }).click();
    const flash = page.getByRole('status').filter({ hasText: `Key ${k.kid} is revoked` });
    await flash.waitFor();
    assert.match(await flash.innerText(), /the 3 widget sessions it verified ended/);
    for (const t of verified) assert.equal(await alive(t), false, 'a session the key verified still works');
    for (const t of anonymous) assert.equal(await alive(t), true, 'an anonymous session ended with the key');

    await page.goto(parley.url + '/console/settings');
    const end = page.getByRole('button', { name: 'End every widget session now' });
    assert.equal(await end.isVisible(), false, 'the button waits behind a confirmation step');
    await page.getByText('End every widget session…').click();
    assert.match(await end.evaluate((el) => document.getElementById(el.getAttribute('aria-describedby')).textContent), /cannot be undone/);
    await screenshot(page, 'console-end-sessions');
    assert.deepEqual(await axeViolations(page), []);
    await end.click();
    const done = page.getByRole('status').filter({ hasText: 'Every widget session ended' });
    await done.waitFor();
    assert.match(await done.innerText(), /Every widget session ended: 2 widget sessions\./);
    for (const t of anonymous) assert.equal(await alive(t), false, 'a session survived');
    await page.goto(parley.url + '/console/settings/audit');
    const row = page.getByRole('row').filter({ hasText: 'Every widget session ended' });
    assert.match(await row.innerText(), /kim@keys\.example/);
    assert.match(await row.innerText(), /2 widget sessions ended/);
    assert.deepEqual(page.errors, []);
    await kim.context.close();
  });
});
