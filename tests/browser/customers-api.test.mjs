// The customers API (docs/api.md) as a business uses it — LiveChat's custom identity provider: its back end
// holds an API key, registers its user as a customer, issues a single-use login token each time the
// user signs in to its website, reads the customer's conversations and, when the user signs out of the
// website, ends every widget session of that customer on every device.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import {
  QUEUE_STUB, api, apiView, bubbles, cli, consoleAgent, consoleTimeline, createAgent, embedPage, eventually, launchBrowser,
  newPage, openChat, screenshot, send, startParley, trackErrors, waitForBubble, whenReady, widget, widgetLogin, widgetToken, workspace,
} from './harness.mjs';

const conversationURL = (parleyURL, id) => `${parleyURL}/console/conversations/${encodeURIComponent(id)}`;
const customerPath = (externalID, rest = '') => `/v1/customers/${encodeURIComponent(externalID)}${rest}`;

// The business's back end calls the customers API from Node: fetch sends no Origin header.
const backEnd = (parleyURL, apiKey) => ({
  put: (id, profile) => api(parleyURL, apiKey, customerPath(id), { method: 'PUT', body: JSON.stringify(profile) }),
  loginToken: (id) => api(parleyURL, apiKey, customerPath(id, '/login-tokens'), { method: 'POST' }),
  conversations: (id) => api(parleyURL, apiKey, customerPath(id, '/conversations')),
  logout: (id) => api(parleyURL, apiKey, customerPath(id, '/logout'), { method: 'POST' }),
});

// The account page signs the widget in the way a real website does after its own sign-in: it asks its
// back end for a login token and passes it to Parley.login. window.parleyLogin holds the outcome;
// window.parleyLogouts counts the widget's logout events (the page would update its own header).
const LOGIN_SCRIPT = `<script>
  window.parleyLogouts = 0;
  window.Parley.on('logout', function () { window.parleyLogouts++; });
  window.parleyLogin = fetch('/parley-token', { method: 'POST' })
    .then(function (r) { if (!r.ok) throw new Error('the shop could not get a login token: ' + r.status); return r.json(); })
    .then(function (t) { return window.Parley.login(t.token); })
    .then(function (identity) { return { ok: true, identity: identity }; },
          function (e) { return { ok: false, code: e.code, message: e.message }; });
</script>`;

// startShop is the business: a website on another origin (http://localhost:<port>) with the widget on
// every page, its own sign-in (a cookie naming the user), and a back end that, for the signed-in user,
// asks Parley's customers API for a login token. issued holds every answer of the customers API.
async function startShop(parleyURL, ws, apiKey) {
  const issued = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const user = /(?:^|;\s*)shop_user=([^;]+)/.exec(req.headers.cookie || '')?.[1];
    const html = (body) => { res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }); res.end(body); };
    try {
      if (req.method === 'GET' && url.pathname === '/') {
        html(embedPage(parleyURL, ws, { title: 'Harbour Bank', body: '<p>Welcome to Harbour Bank.</p>' }));
      } else if (req.method === 'GET' && url.pathname === '/signin') {
        res.writeHead(303, { 'Set-Cookie': `shop_user=${encodeURIComponent(url.searchParams.get('user'))}; Path=/; HttpOnly; SameSite=Lax`, Location: '/account' });
        res.end();
      } else if (req.method === 'GET' && url.pathname === '/account') {
        html(embedPage(parleyURL, ws, { head: QUEUE_STUB + LOGIN_SCRIPT, title: 'Your account', body: '<p>Welcome back.</p>' }));
      } else if (req.method === 'POST' && url.pathname === '/parley-token') {
        if (!user) { res.writeHead(401, { 'Content-Type': 'application/json' }); res.end('{"error":"not signed in"}'); return; }
        const r = await backEnd(parleyURL, apiKey).loginToken(decodeURIComponent(user));
        issued.push(r);
        res.writeHead(r.status === 201 ? 200 : 502, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end(JSON.stringify(r.status === 201 ? { token: r.data.token } : { error: r.data }));
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found');
      }
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String(err));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://localhost:${server.address().port}`;
  return { url, issued, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }) };
}

// signInAtShop signs the user in to the shop's website; the account page then signs the widget in.
async function signInAtShop(page, shop, user) {
  await page.goto(`${shop.url}/signin?user=${encodeURIComponent(user)}`);
  await page.waitForURL((u) => u.pathname === '/account');
  await whenReady(page);
  return page.evaluate(() => window.parleyLogin);
}

// watchSockets records, for each of the widget's live connections, when it received session_ended and
// whether it closed; and counts page loads, to prove a change happened without a reload.
function watchSockets(page) {
  const seen = { sockets: [], loads: 0 };
  page.on('load', () => { seen.loads++; });
  page.on('websocket', (socket) => {
    const s = { endedAt: null, closedAt: null };
    seen.sockets.push(s);
    socket.on('framereceived', (f) => {
      try {
        if (JSON.parse(String(f.payload)).type === 'session_ended') s.endedAt ??= Date.now();
      } catch { /* not JSON */ }
    });
    socket.on('close', () => { s.closedAt = Date.now(); });
  });
  return seen;
}

const signedInLine = (page) => widget(page).getByText(/^Signed in as /);

describe('customers API: the business signs its customer in, across devices, and out again', () => {
  let parley, browser, w, agent, owner, shop;
  const contexts = [];
  const device = async () => {
    const page = await newPage(browser);
    contexts.push(page.context());
    return page;
  };

  before(async () => {
    [parley, browser] = await Promise.all([startParley({ demo: false }), launchBrowser()]);
    w = await workspace(parley.dataDir, 'Harbour Bank');
    agent = await createAgent(parley.dataDir, w.id, { email: 'sam@harbour.example', name: 'Sam Agent' });
    owner = await cli(parley.dataDir, 'apikey', 'create', '--workspace', w.id, '--name', 'harbour back end');
    shop = await startShop(parley.url, w.id, owner.key);
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close(); await shop?.close(); await parley?.close();
  });

  test('one customer: trusted chat on device 1, a follow-up while away, the history on device 2, logout everywhere', async () => {
    const USER = 'user-1001';
    const CUSTOMER_MESSAGE = 'Can I raise my loan to 20,000?';
    const FOLLOW_UP = 'Yes: I have sent you an offer for 20,000 over 5 years.';
    assert.match(owner.key, /^pak_/, 'the API key is shown once, with its prefix');
    assert.deepEqual(owner.scopes.toSorted(), ['customers:read', 'customers:write', 'sessions:revoke'], 'a new key has every scope');
    assert.equal(owner.name, 'harbour back end');
    const bank = backEnd(parley.url, owner.key);

    // 1. The back end registers its user as a customer (create, then update: one customer).
    const created = await bank.put(USER, { email: 'Noor@Example.com', name: 'Noor Haddad' });
    assert.equal(created.status, 201, JSON.stringify(created.data));
    assert.equal(created.data.customer.external_id, USER);
    assert.equal(created.data.customer.email, 'noor@example.com', 'the email is stored canonical');
    assert.equal(created.data.customer.name, 'Noor Haddad');
    assert.ok(created.data.customer.id);
    const updated = await bank.put(USER, { phone: '+44 20 7946 0000' });
    assert.equal(updated.status, 200, JSON.stringify(updated.data));
    assert.equal(updated.data.customer.id, created.data.customer.id, 'the same customer');
    assert.equal(updated.data.customer.name, 'Noor Haddad', 'fields left out are kept');

    // 2. Device 1: Noor signs in to the bank's website; its page signs the widget in with a token the
    // back end issued. Noor chats, trusted.
    const d1 = await device();
    const d1Sockets = watchSockets(d1);
    const login1 = await signInAtShop(d1, shop, USER);
    assert.equal(login1.ok, true, JSON.stringify(login1));
    assert.equal(login1.identity.level, 'verified');
    assert.equal(login1.identity.email, 'noor@example.com');
    assert.equal(shop.issued.length, 1);
    const token1 = shop.issued[0].data;
    assert.equal(shop.issued[0].status, 201);
    const lifetime = Date.parse(token1.expires_at) - Date.now();
    assert.ok(lifetime > 0 && lifetime <= 10 * 60 * 1000, `a short-lived token (expires_at ${token1.expires_at})`);

    await openChat(d1);
    await signedInLine(d1).filter({ hasText: 'Noor Haddad (noor@example.com)' }).waitFor({ state: 'visible' });
    const asked = await send(d1, CUSTOMER_MESSAGE);
    const id = asked.conversation;
    const view1 = await apiView(d1, parley.url, w.id);
    assert.equal(view1.identity.level, 'verified');
    const stored = view1.conversations.flatMap((c) => c.messages).find((m) => m.id === asked.id);
    assert.equal(stored.trusted, true, 'a message sent after the customers API login is trusted');

    // The agent sees it with a green trust mark, from the named customer.
    const console_ = await (await consoleAgent(browser, parley.url, agent)).tab();
    contexts.push(console_.context());
    await console_.goto(conversationURL(parley.url, id));
    await eventually(async () => {
      const t = await consoleTimeline(console_);
      const m = t.find((e) => e.sender === 'customer' && e.text.includes(CUSTOMER_MESSAGE));
      assert.ok(m, JSON.stringify(t));
      assert.equal(m.trust, 'green', 'a verified message in an open conversation has the green mark');
      assert.match(m.tooltip || '', /verified/i);
    });
    assert.equal(await console_.getByRole('heading', { level: 1 }).innerText(), 'Noor Haddad', 'the heading names the customer');

    // 3. Noor leaves. The agent closes the conversation, then follows up, which reopens it.
    await d1.close();
    await console_.getByRole('button', { name: 'Close conversation' }).click();
    const followUp = console_.getByRole('button', { name: /follow-up/i });
    await followUp.waitFor({ state: 'visible' });
    await console_.getByRole('textbox', { name: /^(Reply|Follow-up) to / }).fill(FOLLOW_UP);
    await followUp.click();
    await console_.getByRole('button', { name: 'Close conversation' }).waitFor({ state: 'visible' });
    await eventually(async () => {
      const t = await consoleTimeline(console_);
      assert.ok(t.some((e) => e.event === 'reopened'), 'a reopened event');
      assert.ok(t.some((e) => e.sender === 'agent' && e.text.includes(FOLLOW_UP)), 'the follow-up in the timeline');
    });

    // 4. Device 2, hours later. Token 1 was single-use: replaying it is refused, and grants nothing.
    const d2 = await device();
    const d2Sockets = watchSockets(d2);
    await d2.goto(shop.url + '/');
    await whenReady(d2);
    const replay = await widgetLogin(d2, token1.token);
    assert.equal(replay.ok, false, 'a login token works once');
    assert.equal(replay.code, 'token_replayed', JSON.stringify(replay));
    assert.equal((await apiView(d2, parley.url, w.id)).identity.level, 'anonymous', 'the replay granted nothing');

    // Noor signs in on device 2: a fresh token, and the whole history, the follow-up included, in order.
    const login2 = await signInAtShop(d2, shop, USER);
    assert.equal(login2.ok, true, JSON.stringify(login2));
    assert.equal(login2.identity.customer_id, login1.identity.customer_id, 'the same customer');
    assert.equal(shop.issued.length, 2);
    assert.notEqual(shop.issued[1].data.token, token1.token, 'a fresh token');
    await openChat(d2);
    await signedInLine(d2).filter({ hasText: 'Noor Haddad (noor@example.com)' }).waitFor({ state: 'visible' });
    await waitForBubble(d2, (b) => b.sender === 'agent' && b.text === FOLLOW_UP, 'the follow-up on device 2');
    const history = (await bubbles(d2)).filter((b) => b.sender === 'customer' || b.sender === 'agent');
    assert.deepEqual(history.map((b) => [b.sender, b.text, b.conversation]),
      [['customer', CUSTOMER_MESSAGE, id], ['agent', FOLLOW_UP, id]], 'the history, in order');
    await screenshot(d2, 'customers-api-device2');

    // 5. Device 1 again: a new page in the same browser, signed in with a fresh token. Both devices are live.
    const d1Again = trackErrors(await d1.context().newPage());
    const d1AgainSockets = watchSockets(d1Again);
    const login3 = await signInAtShop(d1Again, shop, USER);
    assert.equal(login3.ok, true, JSON.stringify(login3));
    await openChat(d1Again);
    await waitForBubble(d1Again, (b) => b.sender === 'agent' && b.text === FOLLOW_UP, 'the follow-up on device 1');
    await send(d1Again, 'Thanks, I will read it tonight.');
    await waitForBubble(d2, (b) => b.text === 'Thanks, I will read it tonight.' && b.state === 'sent', 'device 1\'s message live on device 2');
    const tokensBefore = { d1: await widgetToken(d1Again, w.id), d2: await widgetToken(d2, w.id) };
    const loads = { d1: d1AgainSockets.loads, d2: d2Sockets.loads };

    // Noor signs out of the bank's website; its back end ends every widget session of Noor.
    const t0 = Date.now();
    const out = await bank.logout(USER);
    const logoutCall = Date.now() - t0;
    assert.equal(out.status, 200, JSON.stringify(out.data));
    assert.deepEqual(out.data, { revoked_sessions: 2 }, 'one session per device');
    // Each device: when its socket heard session_ended, when the widget stopped showing Noor, and when
    // its new session was confirmed anonymous and empty through the API.
    const anonymous = async (page, sockets, name) => {
      await eventually(async () => {
        assert.deepEqual(await bubbles(page), [], `no bubble of Noor on ${name}`);
        assert.equal(await signedInLine(page).count(), 0, `no signed-in line on ${name}`);
      }, { timeout: 15000, interval: 20 });
      const shown = Date.now() - t0;
      await eventually(async () => {
        const view = await apiView(page, parley.url, w.id);
        assert.notEqual(view.token, tokensBefore[name], `a new session on ${name}`);
        assert.equal(view.identity.level, 'anonymous', `${name} is anonymous`);
        assert.deepEqual(view.conversations, [], `${name} sees no conversation`);
      });
      const confirmed = Date.now() - t0;
      await eventually(async () => assert.equal(await page.evaluate(() => window.parleyLogouts), 1, `the page on ${name} heard one logout event`));
      const ended = sockets.sockets.filter((s) => s.endedAt >= t0);
      assert.ok(ended.length >= 1, `${name}'s live connection received session_ended`);
      await eventually(() => assert.ok(ended.every((s) => s.closedAt), `${name}'s ended connection closed`));
      return `${name}: session_ended ${ended[0].endedAt - t0} ms, widget anonymous ${shown} ms, API confirms ${confirmed} ms`;
    };
    const timings = await Promise.all([anonymous(d1Again, d1AgainSockets, 'd1'), anonymous(d2, d2Sockets, 'd2')]);
    console.log(`customers API logout (call took ${logoutCall} ms) → ${timings.join('; ')}`);
    assert.deepEqual({ d1: d1AgainSockets.loads, d2: d2Sockets.loads }, loads, 'no page reloaded');
    for (const [name, token] of Object.entries(tokensBefore)) {
      const old = await api(parley.url, token, '/v1/widget/session');
      assert.equal(old.status, 401, `${name}'s old session is refused`);
      assert.equal(old.data.error.code, 'session_invalid');
    }

    // 6. The back end still lists Noor's conversation: reopened by the follow-up, with its last message.
    const convs = await bank.conversations(USER);
    assert.equal(convs.status, 200, JSON.stringify(convs.data));
    assert.equal(convs.data.conversations.length, 1, JSON.stringify(convs.data));
    const [conv] = convs.data.conversations;
    assert.equal(conv.id, id);
    assert.equal(conv.status, 'open');
    assert.ok(!Number.isNaN(Date.parse(conv.created_at)), 'created_at is a timestamp');
    assert.ok(Date.parse(conv.last_message_at) >= Date.parse(conv.created_at), `last_message_at ${conv.last_message_at}`);

    // 7. The audit trail: the key was created from the command line; the first token created the
    // workspace's server key, by the customers API with that key. The key itself appears nowhere.
    const audit = await cli(parley.dataDir, 'audit', '--workspace', w.id);
    const keyCreated = audit.events.find((e) => e.action === 'apikey.created' && e.target === owner.id);
    assert.ok(keyCreated, JSON.stringify(audit.events));
    assert.equal(keyCreated.actor, 'cli');
    const serverKey = audit.events.filter((e) => e.action === 'server_key.created');
    assert.equal(serverKey.length, 1, 'one server key, made on first use: ' + JSON.stringify(audit.events));
    assert.ok(serverKey[0].actor.includes(owner.id), `made by the customers API with ${owner.id}: ${serverKey[0].actor}`);
    for (const e of audit.events) assert.ok(!Number.isNaN(Date.parse(e.at)), `a timestamp: ${e.at}`);
    assert.ok(!JSON.stringify(audit).includes(owner.key), 'the API key is not in the audit trail');

    assert.deepEqual([...d1.errors, ...d2.errors, ...d1Again.errors, ...console_.errors], []);
  });

  test('scopes and revocation: a read-only key cannot sign customers in; a revoked key is refused', async () => {
    const USER = 'user-2002';
    const full = backEnd(parley.url, owner.key);
    assert.equal((await full.put(USER, { email: 'lee@example.com', name: 'Lee Park' })).status, 201);

    // A reporting job's key can read, and nothing else.
    const reader = await cli(parley.dataDir, 'apikey', 'create', '--workspace', w.id, '--name', 'reporting', '--scopes', 'customers:read');
    assert.deepEqual(reader.scopes, ['customers:read']);
    const report = backEnd(parley.url, reader.key);
    const read = await report.conversations(USER);
    assert.equal(read.status, 200, JSON.stringify(read.data));
    assert.deepEqual(read.data.conversations, []);
    const token = await report.loginToken(USER);
    assert.equal(token.status, 403, JSON.stringify(token.data));
    assert.equal(token.data.error.code, 'insufficient_scope');
    assert.match(token.data.error.message, /customers:write/, 'the message names the missing scope');
    assert.equal(token.data.token, undefined);
    for (const r of [await report.put(USER, { name: 'Mallory' }), await report.logout(USER)]) {
      assert.equal(r.status, 403, JSON.stringify(r.data));
      assert.equal(r.data.error.code, 'insufficient_scope');
    }

    // An API key sent from a browser (any request with an Origin) is refused: it would be a leaked key.
    const fromPage = await api(parley.url, owner.key, customerPath(USER, '/conversations'), { headers: { Origin: shop.url } });
    assert.equal(fromPage.status, 403, JSON.stringify(fromPage.data));
    assert.equal(fromPage.data.error.code, 'browser_not_allowed');

    // A revoked key stops working at once; a missing or made-up one never worked.
    const retired = await cli(parley.dataDir, 'apikey', 'create', '--workspace', w.id, '--name', 'old back end');
    const old = backEnd(parley.url, retired.key);
    assert.equal((await old.loginToken(USER)).status, 201, 'the key works before it is revoked');
    await cli(parley.dataDir, 'apikey', 'revoke', '--workspace', w.id, '--id', retired.id);
    for (const r of [await old.loginToken(USER), await old.put(USER, { name: 'Lee' }), await old.conversations(USER),
      await backEnd(parley.url, null).conversations(USER), await backEnd(parley.url, 'pak_' + 'x'.repeat(43)).conversations(USER)]) {
      assert.equal(r.status, 401, JSON.stringify(r.data));
      assert.equal(r.data.error.code, 'api_key_invalid');
    }
    const { api_keys: keys } = await cli(parley.dataDir, 'apikey', 'list', '--workspace', w.id);
    const listed = keys.find((k) => k.id === retired.id);
    assert.ok(listed?.revoked_at, 'the list shows the key revoked: ' + JSON.stringify(keys));
    assert.ok(keys.find((k) => k.id === reader.id && !k.revoked_at), 'the other keys stay live');
    assert.ok(!JSON.stringify(keys).includes('pak_'), 'the list never shows a key');
    const audit = await cli(parley.dataDir, 'audit', '--workspace', w.id);
    assert.ok(audit.events.some((e) => e.action === 'apikey.revoked' && e.target === retired.id && e.actor === 'cli'), JSON.stringify(audit.events));

    // The full key still works.
    assert.equal((await full.loginToken(USER)).status, 201);
  });
});
