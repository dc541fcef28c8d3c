// Business hours and email in the agent console, in Chromium: an administrator sets the workspace's
// business hours and email settings with the keyboard alone (a refused time zone is said next to its
// field), sees whether the team is open now, and on a server without SMTP the notice of what Parley would
// email; an agent turns on email alerts in Preferences; "Email transcript to customer" shows for a
// verified customer only and, without SMTP, says the server sends no email; with an SMTP server (a small
// one in this file, on loopback) the transcript goes to the verified address and the email log shows it
// sent with the server's answer. axe-core finds nothing serious on any of these screens.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  api, axeViolations, consoleAgent, createAgent, eventually, launchBrowser, screenshot, signToken, startParley, workspace,
  startSMTP,
} from './harness.mjs';

const NO_EMAIL = 'This server sends no email (no SMTP server is configured). With one, Parley would email: ' +
  'unseen replies to verified customers, transcripts, and alerts to agents who turn them on.';

describe('agent console: business hours and email', () => {
  let parley, mailing, smtp, browser;

  // verifiedSays signs a customer in through the widget's API and sends a message; it returns the
  // conversation id.
  async function verifiedSays(server, w, claims, text) {
    const s = await api(server.url, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: w.id }) });
    assert.equal(s.status, 201, JSON.stringify(s.data));
    let token = s.data.session_token;
    if (claims) {
      const l = await api(server.url, token, '/v1/widget/login', { method: 'POST', body: JSON.stringify({ token: signToken(w, claims) }) });
      assert.equal(l.status, 200, JSON.stringify(l.data));
      token = l.data.session_token;
    }
    const m = await api(server.url, token, '/v1/widget/messages', { method: 'POST', body: JSON.stringify({ body: text, client_id: 'c-' + Math.random() }) });
    assert.equal(m.status, 201, JSON.stringify(m.data));
    return m.data.message.conversation_id;
  }

  before(async () => {
    smtp = await startSMTP();
    [parley, mailing, browser] = await Promise.all([
      startParley({ demo: false }),
      startParley({ demo: false, extraArgs: ['--smtp-url', `smtp://127.0.0.1:${smtp.port}?tls=none`, '--mail-from', 'Support <support@mail.example>', '--public-url', 'http://127.0.0.1:9'] }),
      launchBrowser(),
    ]);
  });
  after(async () => {
    await browser?.close(); await parley?.close(); await mailing?.close(); await smtp?.close();
  });

  test('settings: business hours and email saved with the keyboard; a refused zone said at the field; the no-SMTP notice', async () => {
    const w = await workspace(parley.dataDir, 'Hours Co');
    const admin = await createAgent(parley.dataDir, w.id, { email: 'root@hours.example', name: 'Rita Admin', role: 'admin' });
    const page = await (await consoleAgent(browser, parley.url, admin)).tab();
    await page.setViewportSize({ width: 1280, height: 900 });
    try {
      await page.goto(parley.url + '/console/settings');
      const hours = page.getByRole('group', { name: 'Business hours' });
      const email = page.getByRole('group', { name: 'Email', exact: true });
      assert.equal((await hours.locator('[data-hours-status]').textContent()).trim(), 'Business hours are off: the team counts as always open.');
      assert.equal((await email.getByRole('note').textContent()).trim(), NO_EMAIL);
      assert.deepEqual(await axeViolations(page), [], 'the settings page');

      // Keyboard only: Space ticks and unticks, typing fills, arrows pick the radio, Enter saves.
      await hours.getByRole('checkbox', { name: 'Use business hours' }).focus();
      await page.keyboard.press('Space');
      await page.keyboard.press('Tab'); // to the time zone
      assert.equal(await page.evaluate(() => document.activeElement.id), 'time_zone');
      await page.keyboard.type('Mars/Olympus_Mons');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'hours');
      await page.keyboard.type('mon-fri 09:00-12:30, 13:30-17:00; sat 10:00-14:00');
      await page.keyboard.press('Tab');
      await page.keyboard.type('2026-12-24');
      await page.keyboard.press('Enter');
      await page.keyboard.type('2026-12-25');
      await hours.getByRole('radio', { name: 'Keeps taking messages, with an away notice' }).focus();
      await page.keyboard.press('ArrowDown');
      assert.equal(await hours.getByRole('radio', { name: 'Hides from visitors without an open conversation' }).isChecked(), true);
      await email.getByRole('checkbox', { name: 'Email replies a customer has not seen' }).focus();
      await page.keyboard.press('Space');
      for (const [label, value] of [['Email an unseen reply after', '20m'], ['Time between emails to one customer', '2h'], ['Alert agents to an unread message after', '15m']]) {
        await email.getByLabel(label).focus();
        await page.keyboard.press('ControlOrMeta+a');
        await page.keyboard.type(value);
      }
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);

      // Refused: the zone's message next to it, the field invalid and described by it, the rest as typed.
      const zone = page.getByLabel('Time zone', { exact: true });
      const zoneError = page.locator('#time_zone-error');
      assert.match(await zoneError.textContent(), /^Time zone: "Mars\/Olympus_Mons" is not a time zone this server knows/);
      assert.equal(await zone.getAttribute('aria-invalid'), 'true');
      assert.match(await zone.getAttribute('aria-describedby'), /^time_zone-error /);
      assert.equal(await page.getByLabel('Opening hours').inputValue(), 'mon-fri 09:00-12:30, 13:30-17:00; sat 10:00-14:00');
      assert.equal(await page.getByLabel('Email an unseen reply after').inputValue(), '20m');
      assert.deepEqual(await axeViolations(page), [], 'the refused settings page');
      await zone.scrollIntoViewIfNeeded();
      await screenshot(page, 'console-settings-hours-refused');

      // The datalist suggests common zones; the fixed zone saves everything.
      const options = await page.locator('datalist#time-zones option').evaluateAll((els) => els.map((o) => o.value));
      assert.ok(options.includes('Europe/Berlin') && options.includes('America/New_York'), options.join(','));
      await zone.focus();
      await page.keyboard.press('ControlOrMeta+a');
      await page.keyboard.type('Europe/Berlin');
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      assert.equal((await page.getByRole('status').filter({ hasText: 'Settings saved.' }).textContent()).trim(), 'Settings saved.');
      assert.match((await page.locator('[data-hours-status]').textContent()).trim(),
        /^(Open now, closes|Closed, opens) (Mon|Tue|Wed|Thu|Fri|Sat) \d\d:\d\d \(Europe\/Berlin\)\.$/);
      assert.equal(await page.getByRole('checkbox', { name: 'Use business hours' }).isChecked(), true);
      assert.equal(await zone.inputValue(), 'Europe/Berlin');
      assert.equal(await page.getByLabel('Holidays').inputValue(), '2026-12-24\n2026-12-25');
      assert.equal(await page.getByRole('radio', { name: 'Hides from visitors without an open conversation' }).isChecked(), true);
      assert.equal(await page.getByRole('checkbox', { name: 'Email replies a customer has not seen' }).isChecked(), false);
      assert.equal(await page.getByLabel('Time between emails to one customer').inputValue(), '2h');
      assert.equal(await page.getByLabel('Alert agents to an unread message after').inputValue(), '15m');
      assert.equal(await page.locator('[data-field-error]').count(), 0);
      // The widget's configuration follows: hidden out of hours, in Berlin.
      const s = await api(parley.url, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: w.id }) });
      assert.equal(s.status, 201);
      assert.equal(s.data.config.hours.time_zone, 'Europe/Berlin');
      assert.equal(s.data.config.hours.mode, 'hide');
      assert.equal(s.data.config.hours.enabled, true);
      assert.deepEqual(await axeViolations(page), [], 'the saved settings page');
      await page.locator('#hours-section').scrollIntoViewIfNeeded();
      await screenshot(page, 'console-settings-hours');
      await page.locator('#email-section').scrollIntoViewIfNeeded();
      await screenshot(page, 'console-settings-email');

      // From the navigation to the email log: empty, with the notice.
      await Promise.all([page.waitForNavigation(), page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Email log' }).click()]);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Email log');
      assert.equal((await page.getByRole('note').textContent()).trim(), NO_EMAIL);
      assert.equal((await page.getByRole('region', { name: 'Email log' }).getByRole('cell').textContent()).trim(), 'No email yet.');
      assert.deepEqual(await axeViolations(page), [], 'the empty email log');
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('preferences: an agent turns on email alerts with the keyboard', async () => {
    const w = await workspace(parley.dataDir, 'Prefs Co');
    const agent = await createAgent(parley.dataDir, w.id, { email: 'grace@prefs.example', name: 'Grace Hopper' });
    const page = await (await consoleAgent(browser, parley.url, agent)).tab();
    try {
      await page.goto(parley.url + '/console/preferences');
      const box = page.getByRole('checkbox', { name: 'Email me when a conversation waits unread' });
      assert.equal(await box.isChecked(), false);
      assert.match(await page.locator('#' + await box.getAttribute('aria-describedby')).textContent(), /stays unread by every agent for 5m/);
      assert.equal((await page.getByRole('note').textContent()).trim(), NO_EMAIL);
      await box.focus();
      await page.keyboard.press('Space');
      await page.getByRole('button', { name: 'Save preferences' }).focus();
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      await page.getByRole('status').filter({ hasText: 'Preferences saved.' }).waitFor();
      assert.equal(await box.isChecked(), true);
      assert.deepEqual(await axeViolations(page), [], 'the preferences page');
      await screenshot(page, 'console-preferences-email');
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('transcript without SMTP: a verified customer only; the server sends no email', async () => {
    const w = await workspace(parley.dataDir, 'Transcript Co');
    const agent = await createAgent(parley.dataDir, w.id, { email: 'sam@transcript.example', name: 'Sam Agent' });
    const verified = await verifiedSays(parley, w, { sub: 'u-ada', email: 'ada@example.com', name: 'Ada Lovelace' }, 'Where is my parcel?');
    const anonymous = await verifiedSays(parley, w, null, 'Hello?');
    const page = await (await consoleAgent(browser, parley.url, agent)).tab();
    try {
      await page.goto(`${parley.url}/console/conversations/${encodeURIComponent(anonymous)}`);
      assert.equal(await page.getByRole('button', { name: 'Email transcript to customer' }).count(), 0, 'not for an anonymous visitor');

      await page.goto(`${parley.url}/console/conversations/${encodeURIComponent(verified)}`);
      const button = page.getByRole('button', { name: 'Email transcript to customer' });
      assert.equal(await button.getAttribute('aria-describedby'), 'transcript-hint');
      assert.equal((await page.locator('#transcript-hint').textContent()).trim(), 'This server sends no email (no SMTP server is configured).');
      await button.focus();
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      const alert = page.getByRole('alert').filter({ hasText: 'transcript' });
      assert.equal((await alert.textContent()).trim(), 'This server sends no email (no SMTP server is configured), so the transcript cannot be emailed.');
      assert.deepEqual(await axeViolations(page), [], 'the conversation page with the refusal');
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('transcript with SMTP: mailed to the verified address; the email log shows it sent', async () => {
    const w = await workspace(mailing.dataDir, 'Mail Co');
    const [admin, agent] = await Promise.all([
      createAgent(mailing.dataDir, w.id, { email: 'root@mail.example', name: 'Rita Admin', role: 'admin' }),
      createAgent(mailing.dataDir, w.id, { email: 'sam@mail.example', name: 'Sam Agent' }),
    ]);
    const conv = await verifiedSays(mailing, w, { sub: 'u-ada', email: 'ada@example.com', name: 'Ada Lovelace' }, 'Please send me this chat');
    const page = await (await consoleAgent(browser, mailing.url, agent)).tab();
    await page.setViewportSize({ width: 1280, height: 900 });
    try {
      await page.goto(`${mailing.url}/console/conversations/${encodeURIComponent(conv)}`);
      assert.equal((await page.locator('#transcript-hint').textContent()).trim(), 'Sends the conversation, without internal notes, to ada@example.com.');
      await page.getByRole('button', { name: 'Email transcript to customer' }).focus();
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      const done = page.getByRole('status').filter({ hasText: 'transcript' });
      assert.equal((await done.textContent()).trim(), 'The transcript will be emailed to ada@example.com.');
      assert.deepEqual(await axeViolations(page), [], 'the conversation page with the confirmation');
      await screenshot(page, 'console-transcript');
      await eventually(() => assert.equal(smtp.received.length, 1), { timeout: 15000 });
      assert.deepEqual(smtp.received[0].to, ['ada@example.com']);
      assert.match(smtp.received[0].data, /Please send me this chat/);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }

    const log = await (await consoleAgent(browser, mailing.url, admin)).tab();
    await log.setViewportSize({ width: 1280, height: 900 });
    try {
      await log.goto(mailing.url + '/console/settings');
      assert.equal(await log.locator('[data-no-email]').count(), 0, 'no notice on a server with SMTP');
      await log.goto(mailing.url + '/console/settings/email');
      const table = log.getByRole('region', { name: 'Email log' }).getByRole('table');
      const headers = await table.getByRole('columnheader').allTextContents();
      assert.deepEqual(headers, ['Time (UTC)', 'Recipient', 'Kind', 'State', 'Attempts', "Mail server's last answer"]);
      await eventually(async () => {
        await log.reload();
        const cells = (await table.getByRole('row').nth(1).getByRole('cell').allTextContents()).map((s) => s.trim());
        assert.deepEqual(cells.slice(1), ['ada@example.com', 'Transcript', 'Sent', '1', '2.0.0 Ok: queued as PARLEY1']);
      });
      assert.equal(await log.locator('[data-no-email]').count(), 0);
      assert.deepEqual(await axeViolations(log), [], 'the email log');
      await screenshot(log, 'console-email-log');
      assert.deepEqual(log.errors, []);
    } finally {
      await log.context().close();
    }
  });
});
