// Passwords and console sessions in the agent console, in Chromium. On a server without SMTP, an
// administrator invites an agent and is shown the link once (with a Copy button); the agent opens it in a
// fresh browser, is refused a common password with the reason shown, sets a good one and lands in the
// console. The administrator sends a reset link; the agent resets and their older sessions end. On the
// Account page the agent sees their sessions (this one marked), ends another one (that browser is signed
// out) and changes their password (the other browser is signed out). With an SMTP server (a small one in
// this file, on loopback, as console-email.test.mjs does) the invitation arrives by email and its link
// works. Roles and labels, the keyboard, axe-core, screenshots docs/screenshots/console-account-*.png.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  axeViolations, consoleSignIn, createAgent, eventually, launchBrowser, newPage, screenshot, startParley, workspace,
  startSMTP,
} from './harness.mjs';

// quotedPrintable decodes a quoted-printable text (soft line breaks and =XX escapes).
function quotedPrintable(text) {
  return text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

async function noAxeViolations(page, what) {
  assert.deepEqual(await axeViolations(page), [], `axe-core on ${what}`);
}

// signedOut: the context's console session has ended (a console page sends it to the sign-in page).
// The page may be on its way to the sign-in page already (its socket heard that the session ended),
// which interrupts our own navigation; either way it must end up there.
async function assertSignedOut(page, url, what) {
  try {
    await page.goto(url + '/console/');
  } catch (err) {
    if (!/interrupted by another navigation/.test(String(err && err.message))) throw err;
  }
  await page.waitForURL((u) => new URL(u).pathname === '/console/login', { timeout: 10000 }).catch(() => {});
  assert.equal(new URL(page.url()).pathname, '/console/login', what);
}

const GOOD = 'lanterns over the quiet harbour';
const NEWER = 'seven tall ships at dawn';
const NEWEST = 'a kettle sings in the attic';

describe('agent console: passwords and sessions', () => {
  let parley, mailing, smtp, browser, w, admin;

  before(async () => {
    smtp = await startSMTP();
    [parley, mailing, browser] = await Promise.all([
      startParley({ demo: false }),
      // The public URL is a name nobody resolves: the test follows the emailed link on the server's own
      // address, with the path and query the email holds.
      startParley({ demo: false, extraArgs: ['--smtp-url', `smtp://127.0.0.1:${smtp.port}?tls=none`, '--mail-from', 'Support <support@mail.example>', '--public-url', 'http://parley.invalid'] }),
      launchBrowser(),
    ]);
    w = await workspace(parley.dataDir, 'Harbour Co');
    admin = await createAgent(parley.dataDir, w.id, { email: 'ada@harbour.example', name: 'Ada Admin', role: 'admin' });
  });
  after(async () => {
    await browser?.close(); await parley?.close(); await mailing?.close(); await smtp?.close();
  });

  test('invite without SMTP: the link shown once; the agent sets a password (a common one refused) and lands in the console; reset; account and sessions', async () => {
    const adminPage = await newPage(browser);
    await consoleSignIn(adminPage, parley.url, admin);
    await adminPage.goto(parley.url + '/console/settings/agents');

    // Invite with the keyboard alone.
    const invite = adminPage.getByRole('region', { name: 'Invite agent' });
    await invite.getByRole('textbox', { name: 'Name' }).focus();
    await adminPage.keyboard.type('Nia Agent');
    await adminPage.keyboard.press('Tab');
    await adminPage.keyboard.type('nia@harbour.example');
    await adminPage.keyboard.press('Tab');
    assert.equal(await invite.getByRole('combobox', { name: 'Role' }).evaluate((el) => el === document.activeElement), true, 'Tab reaches the role');
    await adminPage.keyboard.press('Tab');
    assert.equal(await invite.getByRole('button', { name: 'Invite agent' }).evaluate((el) => el === document.activeElement), true, 'Tab reaches the button');
    await adminPage.keyboard.press('Enter');

    const shown = adminPage.getByRole('region', { name: 'Invitation for Nia Agent' });
    await shown.waitFor();
    assert.match(await shown.getByRole('note').textContent(), /shown this once/);
    const link = (await shown.locator('#new-link').textContent()).trim();
    assert.match(link, new RegExp('^' + parley.url.replace(/[.]/g, '\\.') + '/console/link\\?t=pal_[A-Za-z0-9_-]{43}$'));
    await adminPage.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: parley.url });
    await shown.getByRole('button', { name: 'Copy link' }).click();
    await eventually(async () => assert.equal((await shown.getByRole('status').textContent()).trim(), 'Copied.'));
    assert.equal(await adminPage.evaluate(() => navigator.clipboard.readText()), link);
    await noAxeViolations(adminPage, 'the agents page with a new invitation');
    await screenshot(adminPage, 'console-account-invite');
    await adminPage.reload();
    assert.equal(await adminPage.getByRole('region', { name: 'Invitation for Nia Agent' }).count(), 0, 'shown once only');
    assert.equal(await adminPage.content().then((h) => h.includes(link)), false);

    // The agent, in a fresh browser.
    const nia = await newPage(browser);
    await nia.goto(link);
    await nia.getByRole('heading', { name: 'Welcome, Nia Agent' }).waitFor();
    await noAxeViolations(nia, 'the invitation page');
    await screenshot(nia, 'console-account-link');
    await nia.getByLabel('New password', { exact: true }).fill('password1234');
    await nia.getByLabel('New password again').fill('password1234');
    await nia.getByRole('button', { name: 'Set password and sign in' }).click();
    const refusal = nia.getByRole('alert');
    await refusal.waitFor();
    assert.match(await refusal.textContent(), /commonly used password/);
    assert.match(await nia.getByLabel('New password', { exact: true }).getAttribute('aria-describedby'), /link-error/);
    await noAxeViolations(nia, 'the invitation page with a refusal');
    await nia.getByLabel('New password', { exact: true }).fill(GOOD);
    await nia.getByLabel('New password again').fill(GOOD);
    await nia.getByLabel('New password again').press('Enter');
    await nia.waitForURL((u) => u.pathname === '/console/');
    assert.equal(new URL(nia.url()).search, '', 'the token left the address bar');
    assert.match(await nia.locator('.who').textContent(), /Nia Agent/);
    // Used: the link says so.
    const again = await newPage(browser);
    await again.goto(link);
    await again.getByRole('heading', { name: 'This link cannot be used' }).waitFor();
    await again.context().close();

    // A second browser signed in with the password; then a reset link from the administrator.
    const second = await newPage(browser);
    await consoleSignIn(second, parley.url, { email: 'nia@harbour.example', password: GOOD });
    await adminPage.goto(parley.url + '/console/settings/agents');
    await adminPage.getByRole('button', { name: 'Send password reset link to Nia Agent' }).click();
    const resetShown = adminPage.getByRole('region', { name: 'Password reset link for Nia Agent' });
    await resetShown.waitFor();
    const resetLink = (await resetShown.locator('#new-link').textContent()).trim();
    const resetting = await newPage(browser);
    await resetting.goto(resetLink);
    await resetting.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await resetting.getByLabel('New password', { exact: true }).fill(NEWER);
    await resetting.getByLabel('New password again').fill(NEWER);
    await resetting.getByRole('button', { name: 'Change password and sign in' }).click();
    await resetting.waitForURL((u) => u.pathname === '/console/');
    await assertSignedOut(nia, parley.url, 'the invitation\'s session ended with the reset');
    await assertSignedOut(second, parley.url, 'the second browser\'s session ended with the reset');

    // The account page: reached from the header; both sessions listed, this one marked.
    await second.close();
    const other = await newPage(browser);
    await consoleSignIn(other, parley.url, { email: 'nia@harbour.example', password: NEWER });
    await resetting.getByRole('link', { name: 'Account' }).click();
    await resetting.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
    const sessions = resetting.getByRole('table', { name: /Your console sessions/ });
    const rows = sessions.locator('tbody tr');
    assert.equal(await rows.count(), 2);
    const current = sessions.locator('tr[data-current]');
    assert.equal(await current.count(), 1);
    assert.match(await current.textContent(), /This session/);
    assert.match(await current.textContent(), /Headless Chrome on Linux|Chrome on Linux/);
    assert.equal(await current.getAttribute('aria-current'), 'true');
    await noAxeViolations(resetting, 'the account page');
    await sessions.scrollIntoViewIfNeeded();
    await screenshot(resetting, 'console-account-sessions');

    // End the other session with the keyboard: that browser is signed out.
    const otherRow = sessions.locator('tbody tr:not([data-current])');
    await otherRow.getByRole('button', { name: /^End session/ }).focus();
    await resetting.keyboard.press('Enter');
    await resetting.getByRole('status').filter({ hasText: 'That session has ended' }).waitFor();
    assert.equal(await resetting.getByRole('table', { name: /Your console sessions/ }).locator('tbody tr').count(), 1);
    await assertSignedOut(other, parley.url, 'the ended session\'s browser');

    // Change the password: the other browser (signed in again) is signed out, this one stays.
    await consoleSignIn(other, parley.url, { email: 'nia@harbour.example', password: NEWER });
    await resetting.reload();
    const form = resetting.getByRole('region', { name: 'Change password' });
    await form.getByLabel('Current password').fill('not my password at all');
    await form.getByLabel('New password', { exact: true }).fill(NEWEST);
    await form.getByLabel('New password again').fill(NEWEST);
    await form.getByRole('button', { name: 'Change password' }).click();
    const wrong = resetting.getByRole('alert');
    await wrong.waitFor();
    assert.match(await wrong.textContent(), /current password is not right/);
    await noAxeViolations(resetting, 'the account page with a refusal');
    await form.getByLabel('Current password').fill(NEWER);
    await form.getByLabel('New password', { exact: true }).fill(NEWEST);
    await form.getByLabel('New password again').fill(NEWEST);
    await form.getByLabel('New password again').press('Enter');
    await resetting.getByRole('status').filter({ hasText: 'Your password is changed. Your one other session has ended.' }).waitFor();
    await screenshot(resetting, 'console-account-password');
    await assertSignedOut(other, parley.url, 'the other browser after the password change');
    await resetting.goto(parley.url + '/console/');
    assert.equal(new URL(resetting.url()).pathname, '/console/', 'the changing browser stays signed in');

    // Sign out everywhere, by the administrator.
    await adminPage.goto(parley.url + '/console/settings/agents');
    await adminPage.getByRole('button', { name: 'Sign out everywhere: Nia Agent' }).click();
    await adminPage.getByRole('status').filter({ hasText: 'Signed out everywhere.' }).waitFor();
    await assertSignedOut(resetting, parley.url, 'signed out everywhere');
    for (const p of [adminPage, nia, resetting, other]) assert.deepEqual(p.errors, []);
  });

  test('invite with SMTP: "Invitation sent to"; the emailed link sets the password and signs in', async () => {
    const mw = await workspace(mailing.dataDir, 'Mail Co');
    const boss = await createAgent(mailing.dataDir, mw.id, { email: 'boss@mail.example', name: 'Boss Admin', role: 'admin' });
    const page = await newPage(browser);
    await consoleSignIn(page, mailing.url, boss);
    await page.goto(mailing.url + '/console/settings/agents');
    const invite = page.getByRole('region', { name: 'Invite agent' });
    assert.match(await invite.textContent(), /Parley emails them a link/);
    await invite.getByRole('textbox', { name: 'Name' }).fill('Eve Example');
    await invite.getByRole('textbox', { name: 'Email' }).fill('eve@mail.example');
    await invite.getByRole('button', { name: 'Invite agent' }).click();
    await page.getByRole('status').filter({ hasText: 'Invitation sent to eve@mail.example.' }).waitFor();
    assert.equal(await page.locator('#new-link').count(), 0, 'an emailed link is not shown');

    await eventually(() => assert.equal(smtp.received.length, 1), { timeout: 15000 });
    assert.deepEqual(smtp.received[0].to, ['eve@mail.example']);
    const text = quotedPrintable(smtp.received[0].data);
    const m = /http:\/\/parley\.invalid(\/console\/link\?t=pal_[A-Za-z0-9_-]{43})/.exec(text);
    assert.ok(m, 'the email holds the link:\n' + text);
    const eve = await newPage(browser);
    await eve.goto(mailing.url + m[1]);
    await eve.getByRole('heading', { name: 'Welcome, Eve Example' }).waitFor();
    await eve.getByLabel('New password', { exact: true }).fill(GOOD);
    await eve.getByLabel('New password again').fill(GOOD);
    await eve.getByRole('button', { name: 'Set password and sign in' }).click();
    await eve.waitForURL((u) => u.pathname === '/console/');
    assert.match(await eve.locator('.who').textContent(), /Eve Example/);
    assert.deepEqual(eve.errors, []);
  });
});
