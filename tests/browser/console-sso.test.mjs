// Single sign-on for console agents: a small OpenID Connect provider runs inside the test (node:http and
// jose: discovery, a JWKS, an approval page with an "Approve" button, a token endpoint that checks the
// client secret and the PKCE verifier and signs the ID token RS256). The administrator configures it in
// the console's settings, signs out; the agent takes the "Sign in with single sign-on" button, approves at
// the provider and lands in the console signed in. A refused account (email not verified) is told so on
// the sign-in page. Roles and labels, the keyboard, axe-core, screenshots.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { SignJWT, exportJWK, generateKeyPair } from 'jose';

import { axeViolations, consoleSignIn, createAgent, launchBrowser, newPage, screenshot, startParley, workspace } from './harness.mjs';

const CLIENT_ID = 'parley-console';
const CLIENT_SECRET = 'a-secret-the-provider-issued-' + randomBytes(8).toString('hex');

// startProvider runs the test's OpenID provider on loopback; user() says whom it signs in.
async function startProvider(user) {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const codes = new Map();
  const log = { tokenRequests: 0, refusals: [] };
  let issuer = '';
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const json = (res, status, body) => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(body)); };
  const readForm = (req) => new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => resolve(new URLSearchParams(body)));
  });

  const srv = http.createServer(async (req, res) => {
    const url = new URL(req.url, issuer);
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer, authorization_endpoint: issuer + '/authorize', token_endpoint: issuer + '/token', jwks_uri: issuer + '/jwks',
        response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'], scopes_supported: ['openid', 'email', 'profile'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/jwks') return json(res, 200, { keys: [jwk] });
    if (req.method === 'GET' && url.pathname === '/authorize') {
      const q = url.searchParams;
      if (q.get('client_id') !== CLIENT_ID || q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256'
        || !q.get('scope')?.split(' ').includes('openid')) {
        log.refusals.push('authorize: ' + url.search);
        res.writeHead(400); return res.end('bad authorization request');
      }
      const u = user();
      const hidden = ['redirect_uri', 'state', 'nonce', 'code_challenge'].map((k) => `<input type="hidden" name="${k}" value="${esc(q.get(k) ?? '')}">`).join('');
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test identity provider</title>
<style>body{font-family:sans-serif;margin:3rem auto;max-width:28rem}button{font-size:1rem;padding:.5rem 1.5rem}</style></head>
<body><main><h1>Test identity provider</h1><p>Parley asks to sign you in as <strong>${esc(u.email)}</strong>.</p>
<form method="post" action="/approve">${hidden}<button type="submit">Approve</button></form></main></body></html>`);
    }
    if (req.method === 'POST' && url.pathname === '/approve') {
      const f = await readForm(req);
      const code = randomBytes(16).toString('hex');
      codes.set(code, { challenge: f.get('code_challenge'), nonce: f.get('nonce'), redirect: f.get('redirect_uri'), user: user() });
      const back = new URL(f.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', f.get('state'));
      res.writeHead(302, { Location: back.toString() });
      return res.end();
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      log.tokenRequests++;
      const f = await readForm(req);
      let id = f.get('client_id');
      let secret = f.get('client_secret');
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      if (basic) {
        const [i, s] = Buffer.from(basic[1], 'base64').toString().split(':');
        id = decodeURIComponent(i); secret = decodeURIComponent(s);
      }
      if (id !== CLIENT_ID || secret !== CLIENT_SECRET) { log.refusals.push('token: client'); return json(res, 401, { error: 'invalid_client' }); }
      const g = codes.get(f.get('code'));
      codes.delete(f.get('code'));
      const challenge = createHash('sha256').update(f.get('code_verifier') ?? '').digest('base64url');
      if (!g || f.get('grant_type') !== 'authorization_code' || f.get('redirect_uri') !== g.redirect || challenge !== g.challenge) {
        log.refusals.push('token: grant');
        return json(res, 400, { error: 'invalid_grant' });
      }
      const idToken = await new SignJWT({ email: g.user.email, email_verified: g.user.verified, name: g.user.name, nonce: g.nonce })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' })
        .setIssuer(issuer).setAudience(CLIENT_ID).setSubject(g.user.email).setIssuedAt().setExpirationTime('5m')
        .sign(privateKey);
      return json(res, 200, { access_token: randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: 300, id_token: idToken });
    }
    res.writeHead(404); res.end();
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${srv.address().port}`;
  return { issuer, log, close: () => new Promise((resolve) => { srv.closeAllConnections(); srv.close(resolve); }) };
}

describe('agent console: single sign-on', () => {
  let parley, browser, idp, w, admin;
  let who = { email: 'ada@acme.example', verified: true, name: 'Ada Lovelace' };

  before(async () => {
    // The provider listens on loopback over plain http: the operator allows that network for the URLs
    // admins configure (the same knob as for JWKS URLs), as a development setup would.
    [parley, browser, idp] = await Promise.all([
      startParley({ demo: false, extraArgs: ['--jwks-allow-networks', '127.0.0.0/8'] }), launchBrowser(), startProvider(() => who)]);
    w = await workspace(parley.dataDir, 'Acme Support');
    admin = await createAgent(parley.dataDir, w.id, { email: 'root@acme.example', name: 'Robin Admin', role: 'admin' });
    await createAgent(parley.dataDir, w.id, { email: 'ada@acme.example', name: 'Ada Lovelace' });
  });
  after(async () => {
    await browser?.close(); await idp?.close(); await parley?.close();
  });

  test('an administrator configures single sign-on and an agent signs in through it', async () => {
    const page = await newPage(browser);
    await consoleSignIn(page, parley.url, admin);
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Single sign-on' }).click();
    await page.getByRole('heading', { name: 'Single sign-on', level: 1 }).waitFor();
    const redirectURI = `${parley.url}/console/sso/${w.id}/callback`;
    assert.equal((await page.locator('#sso-redirect-uri').textContent()).trim(), redirectURI);

    // A refused value is told next to its field, by its label.
    await page.getByLabel('Sign agents in with single sign-on').check();
    await page.getByLabel('Issuer URL').fill('https://10.1.2.3');
    await page.getByRole('button', { name: 'Save single sign-on' }).click();
    await page.getByRole('alert').filter({ hasText: 'The issuer URL' }).waitFor();
    assert.equal(await page.getByLabel('Issuer URL').getAttribute('aria-invalid'), 'true');

    await page.getByLabel('Issuer URL').fill(idp.issuer);
    await page.getByLabel('Client id').fill(CLIENT_ID);
    await page.getByLabel('Client secret').fill(CLIENT_SECRET);
    await page.getByLabel('Allowed email domains').fill('acme.example');
    await page.getByLabel('Trust the provider\'s two-factor sign-in').check();
    await page.getByRole('button', { name: 'Save single sign-on' }).click();
    await page.getByRole('status').filter({ hasText: 'Single sign-on settings saved.' }).waitFor();
    assert.equal(await page.getByLabel('Client secret').inputValue(), '', 'the secret is never shown again');
    assert.match(await page.locator('#sso-secret-hint').textContent(), /A secret is stored/);
    assert.equal(await page.content().then((h) => h.includes(CLIENT_SECRET)), false);
    assert.deepEqual(await axeViolations(page), []);
    await screenshot(page, 'console-sso-settings');

    // The audit trail names the change, never the secret.
    await page.goto(parley.url + '/console/settings/audit');
    const row = page.locator('tr[data-audit-action="settings.sso"]').first();
    await row.waitFor();
    const detail = await row.textContent();
    assert.match(detail, /secret changed/);
    assert.equal(detail.includes(CLIENT_SECRET), false);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.pathname === '/console/login');

    // Ada: from the email field (focused on arrival), Shift+Tab reaches the button above the form.
    const sso = page.getByRole('link', { name: 'Sign in with single sign-on' });
    await sso.waitFor();
    assert.deepEqual(await axeViolations(page), []);
    await screenshot(page, 'console-sso-signin');
    await page.getByLabel('Email').focus();
    await page.keyboard.press('Shift+Tab');
    assert.equal(await sso.evaluate((el) => el === document.activeElement), true, 'the single sign-on button takes the focus');
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.origin === idp.issuer && u.pathname === '/authorize');
    await page.getByText('ada@acme.example').waitFor();
    await page.getByRole('button', { name: 'Approve' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.origin === parley.url && (u.pathname === '/console/' || u.pathname === '/console'));
    await page.getByRole('banner').getByText('Ada Lovelace').first().waitFor();
    assert.equal(idp.log.tokenRequests, 1);
    assert.deepEqual(idp.log.refusals, []);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('an account whose email the provider has not verified is refused, and told why', async () => {
    who = { email: 'ada@acme.example', verified: false, name: 'Ada Lovelace' };
    const page = await newPage(browser);
    await page.goto(parley.url + '/console/login');
    await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
    await page.getByRole('button', { name: 'Approve' }).click();
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: 'Single sign-on failed' }).waitFor();
    assert.match(await alert.textContent(), /not verified this account's email address/);
    assert.equal(new URL(page.url()).pathname, `/console/sso/${w.id}/callback`);
    // Still signed out: the console sends the browser back to the sign-in page.
    await page.goto(parley.url + '/console/');
    await page.waitForURL((u) => u.pathname === '/console/login');
    assert.deepEqual(await axeViolations(page), []);
    await page.goto(parley.url + '/console/login');
    await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('alert').filter({ hasText: 'Single sign-on failed' }).waitFor();
    await screenshot(page, 'console-sso-refused');
    assert.deepEqual(page.errors, []);
    await page.context().close();
    who = { email: 'ada@acme.example', verified: true, name: 'Ada Lovelace' };
  });
});
