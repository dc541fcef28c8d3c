// Shared harness of the widget's browser tests: the real parley binary, its CLI, a second website on
// another origin, signed tokens, headless Chromium, and small helpers that read the widget the way a
// visitor (or a screen reader) does — through the roles and names of docs/widget.md.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { promisify } from 'node:util';

import jwt from 'jsonwebtoken';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// Everything this process started, so nothing outlives it even when a test forgets its teardown.
const children = new Set();
const tempDirs = new Set();
process.on('exit', () => {
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
  for (const d of tempDirs) { try { rmSync(d, { recursive: true, force: true }); } catch { /* gone */ } }
});
// Browsers and websites keep the test file's process alive until they are closed. A before hook that
// fails half-way (one of several things it starts in parallel refusing to start) never hands them to its
// after hook, and the file would then wait forever: whatever is still open is closed once every test
// of the file is done (a root after hook runs after the files' own).
const browsers = new Set();
const sites = new Set();
const starting = new Set(); // launches not finished yet: a failed before hook does not wait for them
after(async () => {
  await Promise.allSettled([...starting]);
  for (const b of browsers) await b.close().catch(() => {});
  for (const close of sites) await close().catch(() => {});
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
});

function tempDir(prefix) {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

// ------------------------------------------------------------------ the binary

let bin = null;

// parleyBin is $PARLEY_BIN, or a binary built once for this process from the work tree (the Go build
// cache makes the second and later builds a link step).
export function parleyBin() {
  if (bin) return bin;
  if (process.env.PARLEY_BIN) {
    bin = path.resolve(process.env.PARLEY_BIN);
    return bin;
  }
  const out = path.join(tempDir('parley-bin-'), 'parley');
  const r = spawnSync('go', ['build', '-o', out, './cmd/parley'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error('go build ./cmd/parley failed:\n' + r.stdout + r.stderr);
  bin = out;
  return bin;
}

// startParley runs `parley serve` on a fresh data folder and a port of its own, which restart() reuses.
// env adds environment variables (e.g. PARLEY_CLOCK_OFFSET_FILE, the test clock).
export async function startParley({ demo = true, extraArgs = [], env = {} } = {}) {
  const dataDir = tempDir('parley-data-');
  // Port 0: the server takes a free port itself and says which (a port picked here and handed over could
  // be taken by another test's server or browser in between). A restart asks for the same one again.
  const args = ['serve', ...(demo ? ['--demo'] : []), '--data', dataDir, '--addr', '127.0.0.1:0', '--no-rate-limits', ...extraArgs];
  const addrAt = args.indexOf('--addr') + 1;
  let child = null;
  let exited = null;
  let log = '';

  async function launch() {
    const c = spawn(parleyBin(), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PARLEY_LOG_LEVEL: 'info', ...env } });
    children.add(c);
    child = c;
    exited = new Promise((resolve) => c.once('exit', (code, signal) => { children.delete(c); resolve({ code, signal }); }));
    let addr;
    try {
      addr = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('parley did not start listening within 20s')), 20000);
        let buf = '';
        const onData = (d) => {
          buf += d;
          log = (log + d).slice(-20000);
          if (process.env.PARLEY_TEST_VERBOSE) process.stderr.write(d);
          const m = /msg=listening addr=(\S+)/.exec(buf);
          if (m) { clearTimeout(timer); resolve(m[1]); }
        };
        c.stdout.setEncoding('utf8').on('data', (d) => { log = (log + d).slice(-20000); });
        c.stderr.setEncoding('utf8').on('data', onData);
        c.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`parley exited (${code ?? signal}) before listening`)); });
      });
    } catch (err) {
      c.kill('SIGKILL');
      err.message += '\n' + log;
      throw err;
    }
    if (args[addrAt] === '127.0.0.1:0') args[addrAt] = addr;
    assert.equal(addr, args[addrAt]);
  }

  // relaunch starts the server again on its port, which something else may hold for a moment.
  async function relaunch() {
    for (let i = 0; ; i++) {
      try {
        return await launch();
      } catch (err) {
        if (i >= 20 || !/address already in use/.test(err.message)) throw err;
        await sleep(250);
      }
    }
  }

  async function stop(signal = 'SIGTERM') {
    const c = child;
    if (!c) return;
    child = null;
    if (c.exitCode === null && c.signalCode === null) c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
  }

  await launch();
  const url = `http://${args[addrAt]}`;
  const demoSetup = demo ? JSON.parse(readFileSync(path.join(dataDir, 'demo.json'), 'utf8')) : null;
  return {
    url,
    dataDir,
    demo: demoSetup,
    stop,
    async restart() { await stop(); await relaunch(); },
    log: () => log,
    // close stops the server and removes its data folder: call it in teardown.
    async close() { await stop('SIGKILL'); rmSync(dataDir, { recursive: true, force: true }); tempDirs.delete(dataDir); },
  };
}

const execFileP = promisify(execFile);

// cli runs `parley <args> --json --data <dataDir>` and returns the parsed JSON.
export async function cli(dataDir, ...args) {
  let out;
  try {
    out = await execFileP(parleyBin(), [...args, '--json', '--data', dataDir], { encoding: 'utf8' });
  } catch (err) {
    throw new Error(`parley ${args.join(' ')} failed: ${err.stdout || ''}${err.stderr || ''}`);
  }
  return JSON.parse(out.stdout);
}

// workspace creates a workspace with a signing key and the given settings (CLI flags of `workspace update`).
export async function workspace(dataDir, name, ...settings) {
  const { id } = await cli(dataDir, 'workspace', 'create', '--name', name);
  const key = await cli(dataDir, 'key', 'create', '--workspace', id);
  if (settings.length) await cli(dataDir, 'workspace', 'update', '--workspace', id, ...settings);
  return { id, kid: key.kid, secret: key.secret };
}

// ------------------------------------------------------------------ tokens

// signToken signs an HS256 login token the way a business's back end does. claims may override iat/exp.
export function signToken({ secret, kid }, claims, { lifetime = 300 } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iat: now, exp: now + lifetime, ...claims };
  return jwt.sign(payload, secret, { algorithm: 'HS256', keyid: kid });
}

// ------------------------------------------------------------------ another website

// startSite serves pages from http://localhost:<port>, an origin other than Parley's 127.0.0.1.
export async function startSite(pages = {}) {
  const routes = new Map(Object.entries(pages));
  const server = http.createServer((req, res) => {
    const page = routes.get(new URL(req.url, 'http://x').pathname);
    if (page === undefined) { res.writeHead(404, { 'Content-Type': 'text/plain' }); res.end('not found'); return; }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(page);
  });
  const listening = new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  starting.add(listening);
  await listening;
  starting.delete(listening);
  const url = `http://localhost:${server.address().port}`;
  const close = () => new Promise((resolve) => {
    sites.delete(close);
    server.closeAllConnections();
    server.close(() => resolve());
  });
  sites.add(close);
  return {
    url,
    // set adds or replaces the page at path and returns its URL.
    set(p, html) { routes.set(p, html); return url + p; },
    close,
  };
}

// embedPage is a plain website with the widget embedded. head goes before the embed (e.g. the queue
// stub and Parley calls), body into <body>.
export function embedPage(parleyURL, ws, { head = '', body = '', title = 'A website' } = {}) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
${head}
<script src="${parleyURL}/widget.js" data-workspace="${ws}" async></script>
</head>
<body>
<main>
<h1>${title}</h1>
${body || '<p>Welcome to our site.</p>'}
</main>
</body>
</html>`;
}

// The queue stub of docs/widget.md, for pages that call Parley before the widget has loaded.
export const QUEUE_STUB = `<script>
  window.Parley = window.Parley || { q: [] };
  ['setUser', 'clearUser', 'login', 'logout', 'setTokenProvider', 'open', 'close', 'on'].forEach(function (m) {
    window.Parley[m] = window.Parley[m] || function () {
      var a = arguments;
      return new Promise(function (resolve, reject) { window.Parley.q.push([m, a, resolve, reject]); });
    };
  });
</script>`;

// ------------------------------------------------------------------ browser

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

export async function launchBrowser() {
  const launching = chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: CHROMIUM_ARGS });
  starting.add(launching);
  try {
    const b = await launching;
    browsers.add(b);
    b.on('disconnected', () => browsers.delete(b));
    return b;
  } finally {
    starting.delete(launching);
  }
}

// newPage opens a page in a fresh context (a fresh device: its own localStorage) and records the
// page's script errors (uncaught exceptions, console.error), which tests assert on. Failed HTTP
// responses are not errors of the page: the widget meets some by design (a rotated session token),
// and handles them.
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push('pageerror: ' + e.message));
  page.on('console', (m) => {
    const network = /^(Failed to load resource:|WebSocket connection to .* failed)/.test(m.text());
    if (m.type() === 'error' && !network) page.errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  return page;
}

// ------------------------------------------------------------------ waiting

// eventually retries fn (an assertion) until it passes or the time is up, then throws its last error.
export async function eventually(fn, { timeout = 10000, interval = 50 } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ the widget

export const widget = (page) => page.locator('parley-chat');
// The launcher is the button "Chat" in both states (aria-expanded tells which); the unread count is its
// description ("2 unread messages").
export const launcher = (page) => widget(page).getByRole('button', { name: 'Chat', exact: true });
export const panel = (page) => widget(page).getByRole('dialog');
// The unread badge beside the launcher (decoration: a screen reader hears the launcher's description).
export const unreadBadge = (page) => widget(page).locator('.badge');
export const messageBox = (page) => widget(page).getByRole('textbox', { name: 'Message', exact: true });
export const sendButton = (page) => widget(page).getByRole('button', { name: 'Send', exact: true });
export const messageLog = (page) => widget(page).getByRole('log', { name: 'Messages' });
export const connectionStatus = (page) => widget(page).getByRole('status', { includeHidden: true }); // empty (and hidden) when all is well

// whenReady resolves with the identity once the widget has started (Parley.on('ready')), even if it is
// called before the loader has run.
export function whenReady(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const P = window.Parley = window.Parley || { q: [] };
    if (!P.q) P.q = [];
    const t = setTimeout(() => reject(new Error('the widget did not become ready')), 10000);
    const done = (id) => { clearTimeout(t); resolve(id); };
    if (typeof P.on === 'function') P.on('ready', done);
    else P.q.push(['on', ['ready', done]]);
  }));
}

export async function openChat(page) {
  await launcher(page).click();
  await panel(page).waitFor({ state: 'visible' });
  await settled(panel(page));
}

// settled waits until the element's animations (the panel rising into place) have finished.
export function settled(locator) {
  return locator.evaluate((el) => Promise.all(el.getAnimations({ subtree: true }).map((a) => a.finished)));
}

// bubbles reads the message bubbles as the visitor sees them.
export function bubbles(page) {
  return widget(page).locator('[data-sender]').evaluateAll((els) => els.map((el) => ({
    sender: el.dataset.sender,
    state: el.dataset.state,
    text: (el.querySelector('.text') || el).textContent,
    id: el.dataset.id || null,
    conversation: el.dataset.conversation || null,
  })));
}

// send types a message and presses Send; with wait (the default) it waits until its bubble is stored.
export async function send(page, text, { wait = true } = {}) {
  await messageBox(page).fill(text);
  await sendButton(page).click();
  if (!wait) return null;
  return eventually(async () => {
    const mine = (await bubbles(page)).filter((b) => b.sender === 'customer' && b.text === text);
    assert.equal(mine.length, 1, `one bubble "${text}"`);
    assert.equal(mine[0].state, 'sent');
    assert.ok(mine[0].id, 'the bubble has its message id');
    return mine[0];
  });
}

export async function waitForBubble(page, predicate, what = 'a matching bubble', timeout = 10000) {
  return eventually(async () => {
    const found = (await bubbles(page)).find(predicate);
    assert.ok(found, 'waiting for ' + what);
    return found;
  }, { timeout });
}

// shadowText returns the text of each element inside the widget that matches selector.
export async function shadowText(page, selector) {
  return widget(page).locator(selector).evaluateAll((els) => els.map((e) => e.textContent));
}

// ------------------------------------------------------------------ the API view

export const tokenKey = (ws) => `parley:${ws}:token`;

export function widgetToken(page, ws) {
  return page.evaluate((k) => localStorage.getItem(k), tokenKey(ws));
}

export async function api(parleyURL, token, p, init = {}) {
  const res = await fetch(parleyURL + p, {
    ...init,
    headers: { ...(token ? { Authorization: 'Bearer ' + token } : {}), ...(init.body ? { 'Content-Type': 'application/json' } : {}), ...init.headers },
  });
  const data = await res.json().catch(() => null);
  return { status: res.status, data };
}

// apiView is what the widget's session may see through the HTTP API: its identity and every
// conversation with its messages (trust flags included).
export async function apiView(page, parleyURL, ws) {
  const token = await widgetToken(page, ws);
  assert.ok(token, 'the widget stored a session token');
  const s = await api(parleyURL, token, '/v1/widget/session');
  assert.equal(s.status, 200, JSON.stringify(s.data));
  const c = await api(parleyURL, token, '/v1/widget/conversations');
  assert.equal(c.status, 200, JSON.stringify(c.data));
  const conversations = [];
  for (const conv of c.data.conversations) {
    const m = await api(parleyURL, token, `/v1/widget/conversations/${encodeURIComponent(conv.id)}/messages`);
    assert.equal(m.status, 200, JSON.stringify(m.data));
    conversations.push({ ...conv, messages: m.data.messages });
  }
  return { token, identity: s.data.identity, conversations };
}

// ------------------------------------------------------------------ screenshots

// Screenshots go to docs/screenshots/ with PARLEY_SCREENSHOTS=1, otherwise to a temporary folder so
// that ordinary runs do not change the work tree.
export const screenshotDir = process.env.PARLEY_SCREENSHOTS === '1'
  ? path.join(repoRoot, 'docs', 'screenshots')
  : path.join(os.tmpdir(), 'parley-screenshots');

export async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, name + '.png');
  await page.screenshot({ path: file, animations: 'disabled' });
  return file;
}

// ------------------------------------------------------------------ the agent console

export const AGENT_PASSWORD = 'correct horse battery staple';

// createAgent runs `parley agent create` with the password on standard input and returns its JSON.
export function createAgent(dataDir, ws, { email, name, role = 'agent', password = AGENT_PASSWORD }) {
  return new Promise((resolve, reject) => {
    const c = spawn(parleyBin(), ['agent', 'create', '--workspace', ws, '--email', email, '--name', name, '--role', role, '--json', '--data', dataDir],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    c.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    c.on('error', reject);
    c.on('exit', (code) => {
      if (code !== 0) { reject(new Error(`parley agent create failed (${code}): ${out}${err}`)); return; }
      resolve({ ...JSON.parse(out), password });
    });
    c.stdin.end(password + '\n');
  });
}

// consoleSignIn signs an agent in through the console's login form and waits for the inbox.
export async function consoleSignIn(page, parleyURL, { email, password = AGENT_PASSWORD }) {
  await page.goto(parleyURL + '/console/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === '/console/' || u.pathname === '/console');
}

// consoleTimeline reads the console's conversation timeline as the agent sees it: each message with
// its sender, trust mark and the mark's tooltip, and each event with its type.
export function consoleTimeline(page) {
  return page.locator('[data-sender], [data-event-type]').evaluateAll((els) => els.map((el) => {
    // A customer message's mark explains itself in a tooltip (role=tooltip, its accessible description).
    const note = el.querySelector('[role="tooltip"]');
    const titled = el.querySelector('[title]:not(time)'); // the console's script puts the UTC time in <time title>
    return {
      sender: el.dataset.sender || null,
      event: el.dataset.eventType || null,
      trust: el.dataset.trust ?? (el.querySelector('[data-trust]')?.dataset.trust ?? null),
      tooltip: note ? note.textContent.replace(/\s+/g, ' ').trim() : (titled ? titled.getAttribute('title') : null),
      text: el.textContent.replace(/\s+/g, ' ').trim(),
      visibleText: el.innerText.replace(/\s+/g, ' ').trim(),
    };
  }));
}

// widgetLogin calls Parley.login in the page and returns what it settled with (code/message on failure).
export function widgetLogin(page, token) {
  return page.evaluate((t) => window.Parley.login(t).then(
    (identity) => ({ ok: true, identity }),
    (e) => ({ ok: false, code: e.code, message: e.message }),
  ), token);
}

// trackErrors records a page's script errors in page.errors, as newPage does.
export function trackErrors(page) {
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push('pageerror: ' + e.message));
  page.on('console', (m) => {
    const network = /^(Failed to load resource:|WebSocket connection to .* failed)/.test(m.text());
    if (m.type() === 'error' && !network) page.errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  return page;
}

// consoleAgent signs an agent in once, in a browser context of its own, and returns a function that
// opens another tab of that signed-in console (sign-in costs a password hash; tabs are free).
export async function consoleAgent(browser, parleyURL, agent) {
  const first = await newPage(browser);
  await consoleSignIn(first, parleyURL, agent);
  const context = first.context();
  let used = false;
  return {
    context,
    async tab() {
      if (!used) { used = true; return first; }
      return trackErrors(await context.newPage());
    },
  };
}

// axeViolations runs axe-core on the whole page (a console page: no shadow DOM to pick from) and returns
// its serious and critical violations, each with the elements it found.
let axeSource = null;
export async function axeViolations(page) {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource); // evaluate, not a <script>: the console's CSP allows no inline script
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary })) }));
}

// startSMTP runs the plainest SMTP server that accepts mail (no TLS, no AUTH: the server is started with
// ?tls=none), keeping what arrives.
export function startSMTP() {
  const received = [];
  const server = net.createServer((sock) => {
    sock.setEncoding('utf8');
    let buf = '';
    let inData = false;
    let msg = { to: [], data: '' };
    sock.write('220 mail.test ESMTP\r\n');
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf += d;
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          msg.data = buf.slice(0, end);
          buf = buf.slice(end + 5);
          inData = false;
          received.push(msg);
          msg = { to: [], data: '' };
          sock.write('250 2.0.0 Ok: queued as PARLEY1\r\n');
          continue;
        }
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO') sock.write('250-mail.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n');
        else if (cmd === 'HELO') sock.write('250 mail.test\r\n');
        else if (cmd === 'MAIL') sock.write('250 2.1.0 Ok\r\n');
        else if (cmd === 'RCPT') { msg.to.push(/<([^>]*)>/.exec(line)?.[1]); sock.write('250 2.1.5 Ok\r\n'); }
        else if (cmd === 'DATA') { inData = true; sock.write('354 End data with <CR><LF>.<CR><LF>\r\n'); }
        else if (cmd === 'QUIT') { sock.end('221 2.0.0 Bye\r\n'); return; }
        else if (cmd === 'RSET' || cmd === 'NOOP') sock.write('250 2.0.0 Ok\r\n');
        else sock.write('502 5.5.2 Command not recognized\r\n');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port, received, close: () => new Promise((r) => server.close(r)),
  })));
}
