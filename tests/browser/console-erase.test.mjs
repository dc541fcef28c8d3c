// A customer's data on request, in the console: an administrator downloads everything Parley holds about
// a customer (Export data) and erases them after typing their user id, with the keyboard; a wrong
// confirmation erases nobody. A plain agent sees neither and is refused both. axe-core on every screen.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';

import {
  axeViolations, consoleAgent, createAgent, embedPage, launchBrowser, newPage, openChat, screenshot, send, signToken,
  startParley, startSite, whenReady, widgetLogin, workspace,
} from './harness.mjs';

describe('console: export and erase a customer', () => {
  let parley, browser, site, w, admin, agent, customerURL;

  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Forget Bank');
    admin = await createAgent(parley.dataDir, w.id, { email: 'dana@forget.example', name: 'Dana Admin', role: 'admin' });
    agent = await createAgent(parley.dataDir, w.id, { email: 'sam@forget.example', name: 'Sam Agent' });
    customerURL = site.set('/', embedPage(parley.url, w.id, { title: 'Forget Bank' }));
  });
  after(async () => {
    await browser?.close(); await site?.close(); await parley?.close();
  });

  test('the admin exports, then erases with the confirmation; a plain agent can do neither', async () => {
    // Grace signs in on the bank's site and writes.
    const grace = await newPage(browser);
    await grace.goto(customerURL);
    await whenReady(grace);
    const login = await widgetLogin(grace, signToken(w, { sub: 'grace-42', email: 'grace@forget.example', name: 'Grace Hopper' }));
    assert.ok(login.ok, JSON.stringify(login));
    await openChat(grace);
    const msg = await send(grace, 'Please delete everything you hold about me');

    const adminSession = await consoleAgent(browser, parley.url, admin);
    const con = await adminSession.tab();
    await con.setViewportSize({ width: 1280, height: 1000 });
    await con.goto(parley.url + '/console/conversations/' + encodeURIComponent(msg.conversation));
    const customerLink = con.locator('a[href^="/console/customers/cu_"]').first();
    const customerPath = await customerLink.getAttribute('href');
    assert.match(customerPath, /^\/console\/customers\/cu_/);

    // A plain agent: no export, no erasure; posting anyway is refused.
    const sam = await (await consoleAgent(browser, parley.url, agent)).tab();
    await sam.goto(parley.url + customerPath);
    await sam.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
    assert.equal(await sam.getByRole('link', { name: 'Export data (JSON)' }).count(), 0);
    assert.equal(await sam.getByText('Erase customer').count(), 0);
    const refused = await sam.evaluate(async (p) => {
      const csrf = document.querySelector('input[name=csrf]')?.value ?? '';
      const get = await fetch(p + '/export');
      const post = await fetch(p + '/erase', { method: 'POST', body: new URLSearchParams({ csrf, confirm: 'grace-42' }) });
      return [get.status, post.status];
    }, customerPath);
    assert.deepEqual(refused, [403, 403]);
    assert.deepEqual(await axeViolations(sam), [], 'the customer page for a plain agent');

    // The admin's customer page: the data section, export first.
    await con.goto(parley.url + customerPath);
    const data = con.getByRole('region', { name: 'Customer data' });
    await data.waitFor();
    assert.deepEqual(await axeViolations(con), [], 'the customer page for an administrator');
    const [download] = await Promise.all([con.waitForEvent('download'), data.getByRole('link', { name: 'Export data (JSON)' }).click()]);
    assert.match(download.suggestedFilename(), /^parley-customer-cu_.+\.json$/);
    const doc = JSON.parse(await readFile(await download.path(), 'utf8'));
    assert.equal(doc.customer.external_id, 'grace-42');
    assert.equal(doc.customer.email, 'grace@forget.example');
    assert.deepEqual(doc.conversations.flatMap((c) => c.messages.map((m) => m.body)), ['Please delete everything you hold about me']);

    // Erase, with the keyboard: open the confirmation, type a wrong id first.
    const summary = data.getByText('Erase customer…');
    await summary.focus();
    await con.keyboard.press('Enter');
    const confirm = data.getByRole('textbox', { name: 'Type grace-42 to confirm' });
    await confirm.waitFor();
    assert.match(await confirm.evaluate((el) => document.getElementById(el.getAttribute('aria-describedby')).textContent), /cannot be undone/);
    await confirm.focus();
    await con.keyboard.type('grace');
    await con.keyboard.press('Enter');
    await con.getByRole('alert').filter({ hasText: 'grace-42' }).waitFor();
    assert.equal(new URL(con.url()).pathname, customerPath, 'a wrong confirmation stays on the customer');
    assert.deepEqual(await axeViolations(con), [], 'the customer page after a wrong confirmation');

    await data.getByText('Erase customer…').focus();
    await con.keyboard.press('Enter');
    await confirm.focus();
    await con.keyboard.type('grace-42');
    assert.deepEqual(await axeViolations(con), [], 'the erase confirmation, filled in');
    await data.scrollIntoViewIfNeeded();
    await screenshot(con, 'console-erase');
    await con.keyboard.press('Enter');
    await con.getByRole('status').filter({ hasText: 'The customer is erased' }).waitFor();
    assert.equal(new URL(con.url()).pathname, '/console/');
    assert.deepEqual(await axeViolations(con), [], 'the inbox after the erasure');

    // The customer is gone: their page is 404, their conversation too.
    const gone = await con.evaluate(async ([p, c]) => [(await fetch(p)).status, (await fetch('/console/conversations/' + c)).status],
      [customerPath, msg.conversation]);
    assert.deepEqual(gone, [404, 404]);
    assert.deepEqual(con.errors, []);
  });
});
