// The console's identity administration as an administrator uses it, with a customer's widget on the
// business's website proving the effect: a public key registered by pasting its PEM (and a private key
// pasted by mistake, refused and never echoed), a JWKS URL on the business's own network, an API key for
// the customers API (shown once, used from the back end, revoked), and the audit trail of all of it.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import { after, afterEach, before, describe, test } from 'node:test';

import { SignJWT, exportJWK } from 'jose';

import {
  api, apiView, axeViolations, consoleAgent, createAgent, embedPage, eventually, launchBrowser, newPage, openChat, screenshot,
  startParley, startSite, whenReady, widget, widgetLogin, workspace,
} from './harness.mjs';

const KID = 'shop-2026';
const JWKS_KID = 'idp-2026-a';

// signES256 signs a login token with an EC private key, the way a back end holding its own key pair does.
function signES256(privateKey, kid, claims, { lifetime = 300 } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).setIssuedAt(now).setExpirationTime(now + lifetime)
    .sign(privateKey);
}

// The business's back end calls the customers API from Node: fetch sends no Origin header.
const customerPath = (externalID, rest = '') => `/v1/customers/${encodeURIComponent(externalID)}${rest}`;
const backEnd = (parleyURL, apiKey) => ({
  put: (id, profile) => api(parleyURL, apiKey, customerPath(id), { method: 'PUT', body: JSON.stringify(profile) }),
  loginToken: (id) => api(parleyURL, apiKey, customerPath(id, '/login-tokens'), { method: 'POST' }),
  logout: (id) => api(parleyURL, apiKey, customerPath(id, '/logout'), { method: 'POST' }),
});

// startJWKS publishes a key set from http://127.0.0.1:<port>/.well-known/jwks.json, an identity provider on
// the business's own network; hits counts the fetches.
async function startJWKS(keys) {
  const served = { hits: 0 };
  const server = http.createServer((req, res) => {
    if (new URL(req.url, 'http://x').pathname !== '/.well-known/jwks.json') { res.writeHead(404); res.end(); return; }
    served.hits++;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=60' });
    res.end(JSON.stringify({ keys }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    served,
    port,
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

const signedInLine = (page, text) => widget(page).getByText(text, { exact: true });
const pemLines = (pem) => pem.trim().split('\n').filter((l) => !l.startsWith('-----'));

describe('agent console: public keys, JWKS, API keys and the audit trail', () => {
  let parley, browser, site, jwks, w, admin, customerURL;
  const pages = [];
  // What the tests made, for the audit trail.
  const made = { jwksID: null, apiKeyID: null, apiKey: null };
  let session = null;
  let lastTab = null;
  // adminPage is a tab of the administrator's console (signed in once for the file; the previous tab is closed).
  async function adminPage() {
    session ??= await consoleAgent(browser, parley.url, admin);
    await lastTab?.close();
    lastTab = await session.tab();
    return lastTab;
  }
  async function customer() {
    const page = await newPage(browser);
    pages.push(page);
    await page.goto(customerURL);
    await whenReady(page);
    return page;
  }
  const keyRows = (page) => page.locator('tr[data-kid]');
  const keyRow = (page, kid) => page.getByRole('row').filter({ has: page.getByRole('cell', { name: kid, exact: true }) });
  const publicForm = (page) => page.getByRole('region', { name: 'Register a public key' });
  const jwksForm = (page) => page.getByRole('region', { name: 'Use a JWKS URL' });

  before(async () => {
    // The operator lets JWKS URLs reach 127.0.0.1 alone, where this file's identity provider listens.
    [parley, browser, site] = await Promise.all([
      startParley({ demo: false, extraArgs: ['--jwks-allow-networks', '127.0.0.1/32'] }), launchBrowser(), startSite(),
    ]);
    w = await workspace(parley.dataDir, 'Shop Co');
    admin = await createAgent(parley.dataDir, w.id, { email: 'ops@shop.example', name: 'Olu Ops', role: 'admin' });
    customerURL = site.set('/', embedPage(parley.url, w.id, { title: 'Shop Co' }));
  });
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.context().close().catch(() => {});
  });
  after(async () => {
    await browser?.close(); await site?.close(); await jwks?.close(); await parley?.close();
  });

  test('a public key: pasted as PEM, it signs customers in (verified) until it is revoked, then token_unknown_key', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' });

    const page = await adminPage();
    await page.goto(parley.url + '/console/settings/keys');
    const form = publicForm(page);
    await form.getByLabel('Algorithm', { exact: true }).selectOption('ES256');
    await form.getByRole('textbox', { name: /^Key id \(kid\)/ }).fill(KID);
    await form.getByRole('textbox', { name: 'Public key', exact: true }).fill(pem);
    await form.getByRole('button', { name: 'Register public key' }).click();
    const done = page.getByRole('status').filter({ hasText: `Public key ${KID} (ES256) is registered` });
    await done.waitFor();
    assert.equal(new URL(page.url()).pathname, '/console/settings/keys', 'the answer is the keys page');

    const row = keyRow(page, KID);
    assert.equal(await row.getAttribute('data-kind'), 'public');
    assert.equal((await row.locator('.key-kind').innerText()).trim(), 'Public key (ES256)', 'the list says what kind of key it is');
    await row.getByText('Active', { exact: true }).waitFor();
    assert.equal(await row.getByRole('cell').nth(3).innerText(), 'Never', 'not used yet');
    assert.equal(await row.getByRole('button', { name: /^Rotate/ }).count(), 0, 'a public key is not rotated here');
    await row.getByText('Show the public key').click();
    assert.equal((await row.locator('pre').innerText()).trim(), pem.trim(), 'the stored public key is the one pasted');
    // The secret Parley made for the workspace is listed too, with its own kind.
    assert.equal((await keyRow(page, w.kid).locator('.key-kind').innerText()).trim(), 'Secret (HS256)');

    // A customer on the business's website signs in with a token signed by the private key.
    const cust = await customer();
    const token = await signES256(privateKey, KID, { sub: 'u-ada', email: 'ada@shop.example', name: 'Ada Lovelace' });
    const r = await widgetLogin(cust, token);
    assert.ok(r.ok, JSON.stringify(r));
    await openChat(cust);
    await signedInLine(cust, 'Signed in as Ada Lovelace (ada@shop.example)').waitFor({ state: 'visible' });
    const view = await apiView(cust, parley.url, w.id);
    assert.equal(view.identity.level, 'verified');
    assert.equal(view.identity.email, 'ada@shop.example');

    // The list shows the key in use.
    await eventually(async () => {
      await page.reload();
      assert.notEqual(await keyRow(page, KID).getByRole('cell').nth(3).innerText(), 'Never');
    }, { timeout: 5000, interval: 500 });

    // The administrator revokes it; a new token signed with it is refused.
    await keyRow(page, KID).getByText('Revoke…').click();
    await keyRow(page, KID).getByRole('button', { name: `Revoke ${KID}` }).click();
    await page.getByRole('status').filter({ hasText: `Key ${KID} is revoked` }).waitFor();
    await keyRow(page, KID).getByText('Revoked', { exact: true }).waitFor();
    assert.equal(await keyRow(page, KID).getByRole('button').count(), 0, 'a revoked key cannot be revoked again');

    const again = await customer();
    const refused = await widgetLogin(again, await signES256(privateKey, KID, { sub: 'u-ada', email: 'ada@shop.example', name: 'Ada Lovelace' }));
    assert.equal(refused.ok, false);
    assert.equal(refused.code, 'token_unknown_key', JSON.stringify(refused));
    assert.deepEqual([...page.errors, ...cust.errors, ...again.errors], []);
  });

  test('a private key pasted by mistake is refused, named as such, and never sent back', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const page = await adminPage();
    for (const type of ['pkcs8', 'sec1']) {
      const secret = privateKey.export({ type, format: 'pem' });
      await page.goto(parley.url + '/console/settings/keys');
      const before = await keyRows(page).count();
      const form = publicForm(page);
      await form.getByLabel('Algorithm', { exact: true }).selectOption('ES256');
      await form.getByRole('textbox', { name: /^Key id \(kid\)/ }).fill('oops-' + type);
      await form.getByRole('textbox', { name: 'Public key', exact: true }).fill(secret);
      const [answer] = await Promise.all([
        page.waitForResponse((res) => res.url().endsWith('/console/settings/keys/public') && res.request().method() === 'POST'),
        form.getByRole('button', { name: 'Register public key' }).click(),
      ]);
      assert.equal(answer.status(), 422, type);
      const alert = publicForm(page).getByRole('alert');
      await alert.waitFor();
      assert.match(await alert.innerText(), /this is a private key/i, type);
      const box = publicForm(page).getByRole('textbox', { name: 'Public key', exact: true });
      assert.equal(await box.inputValue(), '', `${type}: the textarea is empty`);
      assert.equal(await box.getAttribute('aria-invalid'), 'true');
      assert.match(await box.getAttribute('aria-describedby'), /\bpublic-key-error\b/, 'the error is tied to the field');
      const html = await page.content();
      assert.ok(!html.includes('PRIVATE KEY-----'), `${type}: no private key block on the page`);
      for (const line of pemLines(secret)) assert.ok(!html.includes(line), `${type}: the private key's line ${line} is not on the page`);
      assert.equal(await keyRows(page).count(), before, `${type}: no key was added`);
      assert.equal(await keyRow(page, 'oops-' + type).count(), 0);
    }
    assert.deepEqual(page.errors, []);
  });

  test('a JWKS URL on the business\'s own network: only inside the networks the operator allowed, whatever the form sends; its key signs in', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    jwks = await startJWKS([{ ...(await exportJWK(publicKey)), kid: JWKS_KID, alg: 'ES256', use: 'sig' }]);

    const page = await adminPage();
    await page.goto(parley.url + '/console/settings/keys');
    const before = await keyRows(page).count();
    assert.equal(await jwksForm(page).getByRole('checkbox').count(), 0, 'no box lets an admin allow private addresses');
    // Outside the operator's allow-list (127.0.0.1/32): refused before anything is fetched, even when the
    // post carries the old form's allow_private=on.
    const outside = [
      [`http://[::1]:${jwks.port}/.well-known/jwks.json`, /points at ::1, a loopback address.*--jwks-allow-networks/],
      ['https://169.254.169.254/latest/meta-data/', /points at 169\.254\.169\.254, a link-local address.*--jwks-allow-networks/],
    ];
    for (const [url, why] of outside) {
      await page.goto(parley.url + '/console/settings/keys');
      await jwksForm(page).getByRole('textbox', { name: 'JWKS URL', exact: true }).fill(url);
      await jwksForm(page).locator('form').evaluate((form) => {
        const box = Object.assign(document.createElement('input'), { type: 'checkbox', name: 'allow_private', checked: true });
        form.append(box);
      });
      await jwksForm(page).getByRole('button', { name: 'Use this JWKS' }).click();
      const alert = jwksForm(page).getByRole('alert');
      await alert.waitFor();
      assert.match(await alert.innerText(), why, url);
      assert.match(await alert.innerText(), /^The JWKS URL /, 'the field is named in words, not by its API name');
      const field = jwksForm(page).getByRole('textbox', { name: 'JWKS URL', exact: true });
      assert.equal(await field.inputValue(), url, 'the URL is kept to fix');
      assert.equal(await field.getAttribute('aria-invalid'), 'true');
      assert.equal(await keyRows(page).count(), before, 'no key was added');
    }
    assert.equal(jwks.served.hits, 0, 'a refused URL is not fetched');

    // Inside it: Parley fetches the set once and lists it.
    await page.goto(parley.url + '/console/settings/keys');
    await jwksForm(page).getByRole('textbox', { name: 'JWKS URL', exact: true }).fill(jwks.url);
    await jwksForm(page).getByRole('button', { name: 'Use this JWKS' }).click();
    const done = page.getByRole('status').filter({ hasText: `JWKS ${jwks.url} is in use as` });
    await done.waitFor();
    assert.match(await done.innerText(), /it holds 1 key now/);
    assert.ok(jwks.served.hits >= 1, 'the set was fetched before it was saved');
    const row = page.locator('tr[data-kind="jwks"]');
    assert.equal(await row.count(), 1);
    made.jwksID = await row.getAttribute('data-kid');
    assert.match(made.jwksID, /^jwks_/);
    assert.match(await done.innerText(), new RegExp(`in use as ${made.jwksID}`));
    assert.equal((await row.locator('.key-kind').innerText()).trim(), 'JWKS');
    assert.equal((await row.locator('[data-jwks-url]').innerText()).trim(), jwks.url);
    await row.getByText('Active', { exact: true }).waitFor();

    // A token signed with the published key signs the customer in.
    const cust = await customer();
    const r = await widgetLogin(cust, await signES256(privateKey, JWKS_KID, { sub: 'u-grace', email: 'grace@shop.example', name: 'Grace Hopper' }));
    assert.ok(r.ok, JSON.stringify(r));
    await openChat(cust);
    await signedInLine(cust, 'Signed in as Grace Hopper (grace@shop.example)').waitFor({ state: 'visible' });
    assert.equal((await apiView(cust, parley.url, w.id)).identity.level, 'verified');
    assert.deepEqual([...page.errors, ...cust.errors], []);
  });

  test('an API key: created with two scopes, shown once, used by the back end to sign a customer in, then revoked', async () => {
    const page = await adminPage();
    await page.goto(parley.url + '/console/settings/api-keys');
    await page.getByRole('heading', { name: 'API keys', exact: true }).waitFor();
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Shop back end');
    const scopes = page.getByRole('group', { name: 'Scopes' });
    await scopes.getByRole('checkbox', { name: /^customers:write\b/ }).check();
    await scopes.getByRole('checkbox', { name: /^customers:read\b/ }).check();
    await scopes.getByRole('checkbox', { name: /^sessions:revoke\b/ }).uncheck();
    await page.getByRole('button', { name: 'Create API key' }).click();

    const created = page.getByRole('region', { name: /^New API key / });
    await created.waitFor();
    made.apiKeyID = await page.locator('[data-new-api-key]').getAttribute('data-new-api-key');
    made.apiKey = (await page.locator('#new-api-key').innerText()).trim();
    assert.match(made.apiKey, /^pak_[A-Za-z0-9_-]{20,}$/);
    assert.match(await created.getByRole('heading', { level: 2 }).innerText(), new RegExp(`^New API key ${made.apiKeyID} \\(Shop back end\\)$`));
    const about = await created.innerText();
    assert.match(about, /shown this once and never again/);
    assert.match(about, /Scopes: customers:write, customers:read\./);
    assert.doesNotMatch(about, /sessions:revoke/);
    assert.ok((await page.locator('[data-curl]').innerText()).includes(`${parley.url}/v1/customers/USER_ID -H "Authorization: Bearer ${made.apiKey}"`),
      'the first call to try uses this server and the key');
    const row = () => page.locator(`tr[data-api-key="${made.apiKeyID}"]`);
    assert.equal(await row().getByRole('cell').nth(2).innerText(), 'customers:write, customers:read');
    await screenshot(page, 'console-apikeys');

    // Coming back to the page never shows the key again.
    await page.goto(parley.url + '/console/settings/api-keys');
    await row().waitFor();
    assert.equal(await page.locator('[data-new-api-key]').count(), 0);
    assert.ok(!(await page.content()).includes(made.apiKey), 'the key is not shown after a reload');
    assert.ok(!(await page.content()).includes('pak_'), 'no key at all is shown');
    assert.equal(await row().getByRole('cell').nth(1).innerText(), 'Shop back end');
    assert.equal(await row().getByRole('cell').nth(4).innerText(), 'Never');
    await row().getByText('Live', { exact: true }).waitFor();

    // The back end uses it: creates a customer, issues a login token; the widget signs in with it.
    const shop = backEnd(parley.url, made.apiKey);
    const put = await shop.put('shop-user-42', { email: 'lin@shop.example', name: 'Lin Park' });
    assert.equal(put.status, 201, JSON.stringify(put.data));
    const issued = await shop.loginToken('shop-user-42');
    assert.equal(issued.status, 201, JSON.stringify(issued.data));
    assert.ok(issued.data.token);
    const cust = await customer();
    const r = await widgetLogin(cust, issued.data.token);
    assert.ok(r.ok, JSON.stringify(r));
    await openChat(cust);
    await signedInLine(cust, 'Signed in as Lin Park (lin@shop.example)').waitFor({ state: 'visible' });
    assert.equal((await apiView(cust, parley.url, w.id)).identity.level, 'verified');
    // The scope left unchecked was not granted.
    const logout = await shop.logout('shop-user-42');
    assert.equal(logout.status, 403, JSON.stringify(logout.data));
    assert.equal(logout.data.error.code, 'insufficient_scope');

    // The list shows when it was last used.
    await page.reload();
    assert.notEqual(await row().getByRole('cell').nth(4).innerText(), 'Never');
    assert.equal(await row().getByRole('cell').nth(4).locator('time').count(), 1, 'last used is a time');

    // The administrator revokes it; the next call is refused.
    await row().getByText('Revoke…').click();
    await row().getByRole('button', { name: `Revoke ${made.apiKeyID}` }).click();
    await page.getByRole('status').filter({ hasText: `API key ${made.apiKeyID} is revoked` }).waitFor();
    await row().getByText('Revoked', { exact: true }).waitFor();
    assert.equal(await row().getByRole('button').count(), 0);
    const refused = await shop.put('shop-user-42', { name: 'Lin P.' });
    assert.equal(refused.status, 401, JSON.stringify(refused.data));
    assert.equal(refused.data.error.code, 'api_key_invalid');
    assert.deepEqual([...page.errors, ...cust.errors], []);
  });

  test('the audit trail: every change above, newest first, by the administrator', async () => {
    assert.ok(made.jwksID && made.apiKeyID, 'the tests above ran');
    const page = await adminPage();
    await page.goto(parley.url + '/console/settings/audit');
    await page.getByRole('heading', { name: 'Audit trail', exact: true }).waitFor();
    const rows = await page.locator('tr[data-audit-action]').evaluateAll((trs) => trs.map((tr) => ({
      action: tr.dataset.auditAction,
      at: tr.querySelector('time').getAttribute('datetime'),
      cells: [...tr.cells].map((c) => c.textContent.replace(/\s+/g, ' ').trim()),
    })));
    const find = (action, target) => {
      const found = rows.filter((r) => r.action === action && r.cells[3] === target);
      assert.equal(found.length, 1, `one ${action} of ${target}: ${JSON.stringify(rows)}`);
      return rows.indexOf(found[0]);
    };
    const expected = [
      ['key.registered', KID, 'Public key registered'],
      ['jwks.added', made.jwksID, 'JWKS URL added'],
      ['key.revoked', KID, 'Key revoked'],
      ['apikey.created', made.apiKeyID, 'API key created'],
      ['apikey.revoked', made.apiKeyID, 'API key revoked'],
    ];
    const at = {};
    for (const [action, target, label] of expected) {
      const i = find(action, target);
      at[action] = i;
      const [, who, what] = rows[i].cells;
      assert.ok(who.includes(admin.email), `${action} is attributed to ${admin.email}: ${who}`);
      assert.equal(what, `${label} ${action}`, 'the action in words, with its code');
    }
    // Newest first: the public key was registered and revoked, then the JWKS added, then the API key made and revoked.
    assert.ok(at['apikey.revoked'] < at['apikey.created'] && at['apikey.created'] < at['jwks.added']
      && at['jwks.added'] < at['key.revoked'] && at['key.revoked'] < at['key.registered'], JSON.stringify(at));
    const times = rows.map((r) => Date.parse(r.at));
    assert.ok(times.every((t, i) => !Number.isNaN(t) && (i === 0 || t <= times[i - 1])), JSON.stringify(rows.map((r) => r.at)));
    // The details say which key and which URL; the CLI's own changes and the customers API's are told apart.
    assert.match(rows[at['key.registered']].cells[4], /^ES256 public key \S+/);
    assert.equal(rows[at['jwks.added']].cells[4], jwks.url);
    const byCLI = rows.find((r) => r.action === 'key.created' && r.cells[3] === w.kid);
    assert.equal(byCLI?.cells[1], 'cli', JSON.stringify(rows));
    const serverKey = rows.find((r) => r.action === 'server_key.created');
    assert.ok(serverKey?.cells[1].includes(made.apiKeyID), `the customers API's key, made on first use: ${JSON.stringify(serverKey)}`);
    assert.ok(!(await page.content()).includes(made.apiKey), 'the API key is not in the audit trail');
    await screenshot(page, 'console-audit-keys');
    assert.deepEqual(page.errors, []);
  });

  test('axe-core finds nothing serious on the signing keys, API keys and audit pages', async () => {
    const page = await adminPage();
    for (const path of ['/console/settings/keys', '/console/settings/api-keys', '/console/settings/audit']) {
      await page.goto(parley.url + path);
      assert.deepEqual(await axeViolations(page), [], path);
    }
    // The keys page with both forms refused and their errors shown.
    await page.goto(parley.url + '/console/settings/keys');
    await publicForm(page).getByRole('textbox', { name: 'Public key', exact: true }).fill('not a key');
    await publicForm(page).getByRole('button', { name: 'Register public key' }).click();
    await publicForm(page).getByRole('alert').waitFor();
    assert.deepEqual(await axeViolations(page), [], 'keys page, refused public key');
    await page.goto(parley.url + '/console/settings/keys');
    await jwksForm(page).getByRole('textbox', { name: 'JWKS URL', exact: true }).fill('https://localhost/jwks.json');
    await jwksForm(page).getByRole('button', { name: 'Use this JWKS' }).click();
    await jwksForm(page).getByRole('alert').waitFor();
    assert.deepEqual(await axeViolations(page), [], 'keys page, refused JWKS URL');
    // The API keys page answering a creation, with the key shown once; and a creation refused.
    await page.goto(parley.url + '/console/settings/api-keys');
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('axe check');
    await page.getByRole('button', { name: 'Create API key' }).click();
    await page.locator('[data-new-api-key]').waitFor();
    assert.deepEqual(await axeViolations(page), [], 'API keys page with a new key');
    await page.goto(parley.url + '/console/settings/api-keys');
    for (const box of await page.getByRole('group', { name: 'Scopes' }).getByRole('checkbox').all()) await box.uncheck();
    await page.getByRole('button', { name: 'Create API key' }).click();
    await page.getByRole('alert').filter({ hasText: 'Choose at least one scope' }).waitFor();
    assert.deepEqual(await axeViolations(page), [], 'API keys page, refused creation');
    assert.deepEqual(page.errors, []);
  });
});
