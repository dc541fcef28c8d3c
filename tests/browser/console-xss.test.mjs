// Customer-controlled text in the agent console, in a real browser: names, emails, external ids and
// message bodies that are HTML or script stay text on every page that shows them, and no script runs;
// a long unbroken message does not widen the page; the console's Content Security Policy is strict.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';

import {
  consoleSignIn, createAgent, embedPage, eventually, launchBrowser, newPage, openChat, send, signToken,
  startParley, startSite, whenReady, widgetLogin, workspace,
} from './harness.mjs';

const IMG = '<img src=x onerror="window.__xss=1">';
const SCRIPT = '<script>window.__xss=2</script>';
const SVG = '<svg onload="window.__xss=3"></svg>';
const LINK = 'https://example.com/"><img src=x onerror=window.__xss=4>';
const JS_URL = 'javascript:window.__xss=5';
// Emails cannot hold < > " but may hold quotes and equals signs: an attribute breakout attempt.
const EMAIL = "x'onfocus='window.__xss=6'autofocus'@example.com";

describe('agent console: customer text is text', () => {
  let parley, browser, site, w, agent;
  const pages = [];
  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Safe Co');
    agent = await createAgent(parley.dataDir, w.id, { email: 'ines@safe.example', name: 'Ines', role: 'admin' });
  });
  // Each test's customers (and other agents) leave with it; the browser and servers with the file.
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.context().close().catch(() => {});
  });
  after(async () => {
    await browser?.close(); await site?.close(); await parley?.close();
  });

  test('payloads in names, emails, ids and messages neither run nor vanish', async () => {
    const url = site.set('/', embedPage(parley.url, w.id, { title: 'Safe Co' }));
    // A verified customer whose every claim is a payload.
    const verified = await newPage(browser);
    pages.push(verified);
    await verified.goto(url);
    await whenReady(verified);
    const login = await widgetLogin(verified, signToken(w, { sub: SCRIPT, email: EMAIL, name: IMG }));
    assert.ok(login.ok, JSON.stringify(login));
    await openChat(verified);
    const v = await send(verified, IMG);
    for (const body of [SCRIPT, SVG, LINK, JS_URL]) await send(verified, body);

    // An identified visitor who claims payloads (untrusted).
    const claimed = await newPage(browser);
    pages.push(claimed);
    await claimed.goto(url);
    await whenReady(claimed);
    await claimed.evaluate((n) => window.Parley.setUser({ name: n, email: 'claims@example.com' }), SCRIPT);
    await openChat(claimed);
    const c = await send(claimed, SVG);

    const page = await newPage(browser);
    pages.push(page);
    const dialogs = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    await consoleSignIn(page, parley.url, agent);

    const safe = async (where) => {
      assert.equal(await page.evaluate(() => window.__xss), undefined, `no script ran on ${where}`);
      assert.deepEqual(dialogs, [], `no dialog on ${where}`);
      assert.equal(await page.locator('body img[src="x"], body svg[onload], body script:not([src])').count(), 0, `no injected element on ${where}`);
    };
    const shows = async (text, where) => {
      assert.ok(await page.getByText(text, { exact: false }).first().isVisible(), `"${text}" is visible as text on ${where}`);
    };

    // The inbox lists both, with the payload names as text.
    await page.goto(parley.url + '/console/?view=open');
    await page.locator(`a[href$="/console/conversations/${v.conversation}"]`).first().waitFor();
    await page.locator(`a[href$="/console/conversations/${c.conversation}"]`).first().waitFor();
    await shows(IMG, 'the inbox');
    await shows(SCRIPT, 'the inbox');
    await safe('the inbox');

    // A search for a payload is echoed as text.
    await page.goto(parley.url + '/console/?q=' + encodeURIComponent(IMG));
    await page.locator(`a[href$="/console/conversations/${v.conversation}"]`).first().waitFor();
    assert.equal(await page.getByRole('searchbox').or(page.getByRole('textbox', { name: /search/i })).first().inputValue(), IMG);
    await safe('the inbox search');

    // The verified customer's conversation.
    await page.goto(parley.url + '/console/conversations/' + v.conversation);
    for (const body of [IMG, SCRIPT, SVG, LINK, JS_URL]) {
      await eventually(() => shows(body, 'the conversation'));
    }
    await shows(EMAIL, 'the conversation');
    await safe('the conversation');
    const hrefs = await page.locator('a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(hrefs.filter((h) => /^\s*javascript:/i.test(h)), [], 'no javascript: link');
    const focusable = await page.locator('[onfocus], [autofocus]').count();
    assert.equal(focusable, 0, 'the email did not break out of an attribute');

    // The customer page.
    const customerLink = page.locator('a[href*="/console/customers/"]').first();
    await customerLink.click();
    await page.waitForURL((u) => u.pathname.startsWith('/console/customers/'));
    await shows(IMG, 'the customer page');
    await shows(EMAIL, 'the customer page');
    await shows(SCRIPT, 'the customer page');
    await safe('the customer page');

    // The identified visitor's conversation: the claimed payload name is text.
    await page.goto(parley.url + '/console/conversations/' + c.conversation);
    await shows(SCRIPT, 'the claimed conversation');
    await shows(SVG, 'the claimed conversation');
    await safe('the claimed conversation');

    // Live: a payload arriving over the console's WebSocket is text too.
    await send(claimed, IMG + ' live');
    await eventually(() => shows(IMG + ' live', 'the live conversation'));
    await safe('the live conversation');
    assert.deepEqual(page.errors, []);
  });

  test('a long unbroken message wraps instead of widening the page', async () => {
    const url = site.set('/long', embedPage(parley.url, w.id, { title: 'Safe Co' }));
    const cust = await newPage(browser);
    pages.push(cust);
    await cust.goto(url);
    await whenReady(cust);
    await openChat(cust);
    const long = 'W'.repeat(1500) + ' https://example.com/' + 'a'.repeat(400);
    const m = await send(cust, long);
    const page = await newPage(browser);
    pages.push(page);
    await consoleSignIn(page, parley.url, agent);
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    await page.goto(parley.url + '/console/?view=open');
    await page.locator(`a[href$="/console/conversations/${m.conversation}"]`).waitFor();
    assert.equal(await overflow(), 0, 'the inbox does not scroll sideways');
    await page.goto(parley.url + '/console/conversations/' + m.conversation);
    await page.getByText('W'.repeat(50), { exact: false }).first().waitFor();
    assert.equal(await overflow(), 0, 'the conversation does not scroll sideways');
    const box = await page.locator('[data-sender="customer"]').last().boundingBox();
    assert.ok(box.x + box.width <= 1280, `the message stays within the window (${box.x}+${box.width})`);
  });

  test('the console sends a strict Content Security Policy', async () => {
    const res = await fetch(parley.url + '/console/login');
    const csp = res.headers.get('content-security-policy') || '';
    const directive = (name) => csp.split(';').map((d) => d.trim()).find((d) => d.split(/\s+/)[0] === name);
    const scripts = directive('script-src') || directive('default-src');
    assert.ok(scripts, 'a script-src or default-src directive: ' + csp);
    assert.doesNotMatch(scripts, /'unsafe-inline'|'unsafe-eval'|\*|data:|http:|https:(\s|$)/, csp);
    assert.ok(/frame-ancestors 'none'|frame-ancestors 'self'/.test(csp) || /deny|sameorigin/i.test(res.headers.get('x-frame-options') || ''),
      'the console cannot be framed: ' + csp);
  });
});
