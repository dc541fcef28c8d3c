// The console's webhooks page, as an administrator uses it with the keyboard: adding an endpoint (the
// secret shown once), sending a test event to a receiver running in this test, and reading the
// delivery in the endpoint's log; the receiver verifies the signature with the Standard Webhooks
// reference verifier. Editing an endpoint (URL, events, notes) by keyboard, a refused URL, a disabled
// endpoint enabled again, and the same form without JavaScript. axe-core on the page with the new
// secret, the list, the log and the edit form.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { Webhook } from 'standardwebhooks';

import { axeViolations, cli, consoleSignIn, createAgent, eventually, launchBrowser, newPage, screenshot, startParley, workspace } from './harness.mjs';

describe('agent console: webhooks', () => {
  let parley, browser, receiver, w, admin;
  const received = [];

  before(async () => {
    [parley, browser] = await Promise.all([
      startParley({ demo: false, extraArgs: ['--webhook-allow-networks', '127.0.0.0/8'] }), launchBrowser(),
    ]);
    receiver = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d) => { body += d; });
      req.on('end', () => { received.push({ url: req.url, headers: req.headers, body }); res.writeHead(200, { Connection: 'close' }).end('thanks'); });
    });
    await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    w = await workspace(parley.dataDir, 'Hooks Co');
    admin = await createAgent(parley.dataDir, w.id, { email: 'ada@hooks.example', name: 'Ada Admin', role: 'admin' });
  });
  after(async () => {
    receiver?.closeAllConnections(); receiver?.close(); await browser?.close(); await parley?.close();
  });

  test('an administrator adds an endpoint, sees the secret once, sends a test event and reads its delivery', { timeout: 120000 }, async () => {
    const page = await newPage(browser);
    await page.setViewportSize({ width: 1280, height: 1000 });
    await consoleSignIn(page, parley.url, admin);
    await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Webhooks', exact: true }).getAttribute('aria-current'), 'page');

    // Keyboard only: the URL, two event boxes, submit.
    const hookURL = `http://127.0.0.1:${receiver.address().port}/parley`;
    await page.getByRole('textbox', { name: 'URL' }).focus();
    await page.keyboard.type(hookURL);
    const created = page.getByRole('checkbox', { name: /conversation\.created/ });
    await created.focus();
    await page.keyboard.press('Space');
    assert.equal(await created.isChecked(), true);
    await page.getByRole('checkbox', { name: /message\.created/ }).focus();
    await page.keyboard.press('Space');
    await page.getByRole('group', { name: /Events/ }).waitFor();
    await page.getByRole('button', { name: 'Add endpoint' }).focus();
    await page.keyboard.press('Enter');

    const fresh = page.getByRole('region', { name: /New webhook endpoint/ });
    await fresh.waitFor();
    const secret = (await page.locator('#new-webhook-secret').textContent()).trim();
    assert.match(secret, /^whsec_[A-Za-z0-9+/=]{44}$/);
    assert.match(await fresh.getByRole('note').textContent(), /shown this once/);
    assert.deepEqual(await axeViolations(page), [], 'the page with the new secret');

    // Reloaded: the secret is gone, the endpoint listed as active.
    await page.goto(parley.url + '/console/settings/webhooks');
    assert.equal(await page.getByText(secret).count(), 0, 'the secret is not shown again');
    const row = page.getByRole('row', { name: /wh_/ });
    assert.match(await row.textContent(), /Active/);
    assert.match(await row.textContent(), /conversation\.created, message\.created/);

    // Send test event (keyboard), which lands on the endpoint's delivery log.
    await row.getByRole('button', { name: /Send test event/ }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: /Deliveries to wh_/ }).waitFor();
    await eventually(() => assert.equal(received.length, 1), { timeout: 15000 });
    const payload = new Webhook(secret).verify(received[0].body, received[0].headers);
    assert.equal(payload.type, 'webhook.test');

    // The log shows the delivery: event, webhook id, attempt 1, status 200.
    await eventually(async () => {
      await page.reload();
      const delivery = page.locator(`[data-delivery="${received[0].headers['webhook-id']}"]`);
      assert.equal(await delivery.count(), 1);
      const cells = await delivery.getByRole('cell').allTextContents();
      assert.equal(cells[1], 'webhook.test');
      assert.equal(cells[3], '1');
      assert.equal(cells[4], '200');
      assert.match(cells[5], /^\d+ ms$/);
    }, { timeout: 10000 });
    assert.deepEqual(await axeViolations(page), [], 'the delivery log');

    await page.getByRole('link', { name: '← Webhooks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    assert.deepEqual(await axeViolations(page), [], 'the list');
    await screenshot(page, 'console-webhooks');
    await page.context().close();
  });

  test('an administrator edits an endpoint by keyboard, and enables a disabled one again', { timeout: 120000 }, async () => {
    const base = `http://127.0.0.1:${receiver.address().port}`;
    const hook = await cli(parley.dataDir, 'webhook', 'create', '--workspace', w.id, '--url', base + '/old',
      '--events', 'conversation.created,message.created');
    const page = await newPage(browser);
    await page.setViewportSize({ width: 1280, height: 1100 });
    await consoleSignIn(page, parley.url, admin);
    await page.goto(parley.url + '/console/settings/webhooks');
    const row = page.getByRole('row', { name: new RegExp(hook.id) });

    // Disabled (as after a day of failures, here by the administrator): the warning and "Enable again".
    await row.getByRole('button', { name: `Disable ${hook.id}` }).focus();
    await page.keyboard.press('Enter');
    await page.locator(`[data-webhook-warning="${hook.id}"]`).waitFor();
    assert.match(await row.textContent(), /Disabled/);
    await row.getByRole('button', { name: `Enable again ${hook.id}` }).waitFor();
    assert.deepEqual(await axeViolations(page), [], 'the list with a disabled endpoint');

    // Edit, from the list: the form is prefilled, the warning and "Enable again" are there too.
    await row.getByRole('link', { name: `Edit ${hook.id}` }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: `Edit webhook endpoint ${hook.id}` }).waitFor();
    const url = page.getByRole('textbox', { name: 'URL' });
    const messages = page.getByRole('checkbox', { name: /message\.created/ });
    const notes = page.getByRole('checkbox', { name: "Include agents' internal notes" });
    assert.equal(await url.inputValue(), base + '/old');
    assert.equal(await page.getByRole('checkbox', { name: /conversation\.created/ }).isChecked(), true);
    assert.equal(await messages.isChecked(), true);
    assert.equal(await page.getByRole('checkbox', { name: /conversation\.closed/ }).isChecked(), false);
    assert.equal(await notes.isChecked(), false);
    assert.match(await page.getByRole('alert').textContent(), /is disabled/);
    await page.getByRole('button', { name: 'Enable again', exact: true }).waitFor();
    assert.deepEqual(await axeViolations(page), [], 'the edit form of a disabled endpoint');
    await screenshot(page, 'console-webhooks-edit');

    // A URL the server refuses: create's message, the form as typed.
    await url.focus();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('ftp://crm.example/parley');
    await messages.focus();
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Save changes' }).focus();
    await page.keyboard.press('Enter');
    const refusal = page.locator('#webhook-error');
    await refusal.waitFor();
    assert.equal(await refusal.getAttribute('role'), 'alert');
    assert.match(await refusal.textContent(), /must be an http or https URL/);
    assert.equal(await url.inputValue(), 'ftp://crm.example/parley');
    assert.equal(await messages.isChecked(), false, 'the form as sent');
    assert.deepEqual(await axeViolations(page), [], 'the refused edit');

    // Fixed, notes included: saved, back on the list.
    await url.focus();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(base + '/v2');
    await notes.focus();
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Save changes' }).focus();
    await page.keyboard.press('Enter');
    await page.getByText(`Webhook endpoint ${hook.id} is saved.`).waitFor();
    const text = await row.textContent();
    assert.match(text, /\/v2/);
    assert.match(text, /conversation\.created/);
    assert.doesNotMatch(text, /message\.created/);
    assert.match(text, /Included/);
    assert.match(text, /Disabled/, 'editing does not enable');

    // Enable again, by keyboard: the warning goes; a test event reaches the new URL.
    await row.getByRole('button', { name: `Enable again ${hook.id}` }).focus();
    await page.keyboard.press('Enter');
    await page.getByText(`Webhook endpoint ${hook.id} is enabled again.`).waitFor();
    assert.equal(await page.locator(`[data-webhook-warning="${hook.id}"]`).count(), 0);
    assert.match(await row.textContent(), /Active/);
    assert.deepEqual(await axeViolations(page), [], 'the list after the edit');
    const before = received.length;
    await row.getByRole('button', { name: `Send test event to ${hook.id}` }).focus();
    await page.keyboard.press('Enter');
    await eventually(() => assert.equal(received.length, before + 1), { timeout: 15000 });
    assert.equal(received.at(-1).url, '/v2');
    assert.equal(JSON.parse(received.at(-1).body).data.endpoint_id, hook.id);
    await page.context().close();

    // Without JavaScript the same form saves.
    const plain = await newPage(browser, { javaScriptEnabled: false });
    await consoleSignIn(plain, parley.url, admin);
    await plain.goto(`${parley.url}/console/settings/webhooks/${hook.id}/edit`);
    await plain.getByRole('textbox', { name: 'URL' }).fill(base + '/v3');
    await plain.getByRole('button', { name: 'Save changes' }).click();
    await plain.getByText(`Webhook endpoint ${hook.id} is saved.`).waitFor();
    const listed = await cli(parley.dataDir, 'webhook', 'list', '--workspace', w.id);
    const stored = listed.webhooks.find((h) => h.id === hook.id);
    assert.equal(stored.url, base + '/v3');
    assert.deepEqual(stored.events, ['conversation.created']);
    assert.equal(stored.include_notes, true);
    await plain.context().close();
  });
});
