// Two-factor sign-in in the agent console: an agent sets it up from Preferences with a code this test
// computes from the key the page shows (RFC 6238 in a few lines of node:crypto, as an authenticator app
// does), saves the recovery codes, signs out, signs in with the password and a code, then with a recovery
// code — which is refused the second time. A workspace requiring two-factor sends an agent without it to
// the set-up right after the password. Roles and labels, the keyboard, axe-core, screenshots.
//
// Codes are accepted once in their 30-second window: after the set-up's code, the sign-in uses the next
// window's code (the server accepts one step either side), so nothing waits for the clock.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { axeViolations, createAgent, launchBrowser, newPage, screenshot, startParley, workspace } from './harness.mjs';

// base32 (RFC 4648) decoding of the key the page shows, spaces allowed.
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    assert.notEqual(v, -1, `not base32: ${c}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// totp is RFC 6238 with HMAC-SHA1 and 30-second steps: the code of key at unix time ms.
function totp(key, ms, digits = 6) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 1000 / 30)));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  const n = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 10 ** digits).padStart(digits, '0');
}

async function noAxeViolations(page, what) {
  assert.deepEqual(await axeViolations(page), [], `axe-core on ${what}`);
}

describe('agent console: two-factor sign-in', () => {
  let parley, browser, w, sam, admin, kim;

  before(async () => {
    [parley, browser] = await Promise.all([startParley({ demo: false }), launchBrowser()]);
    w = await workspace(parley.dataDir, 'Two Factor Co');
    sam = await createAgent(parley.dataDir, w.id, { email: 'sam@2fa.example', name: 'Sam Agent' });
    admin = await createAgent(parley.dataDir, w.id, { email: 'ada@2fa.example', name: 'Ada Admin', role: 'admin' });
    kim = await createAgent(parley.dataDir, w.id, { email: 'kim@2fa.example', name: 'Kim Agent' });
  });
  after(async () => {
    await browser?.close(); await parley?.close();
  });

  // password signs in with email and password only, and returns where the console sent the browser.
  async function password(page, agent) {
    await page.goto(parley.url + '/console/login');
    await page.getByLabel('Email').fill(agent.email);
    await page.getByLabel('Password').fill(agent.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname !== '/console/login');
    return new URL(page.url()).pathname;
  }

  async function signOut(page) {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.pathname === '/console/login');
  }

  test("the test's TOTP is RFC 6238's (Appendix B, SHA1, T=59 and T=1111111109)", () => {
    const seed = Buffer.from('12345678901234567890');
    assert.equal(totp(seed, 59 * 1000, 8), '94287082');
    assert.equal(totp(seed, 1111111109 * 1000, 8), '07081804');
  });

  test('an agent sets two-factor up, signs in with a code, then with a recovery code that works once', async () => {
    const page = await newPage(browser);
    await page.setViewportSize({ width: 1100, height: 900 });
    assert.equal(await password(page, sam), '/console/');

    // From Preferences, by keyboard: the link, then the set-up button.
    await page.goto(parley.url + '/console/preferences');
    const link = page.getByRole('link', { name: 'Two-factor sign-in' });
    await link.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === '/console/account/2fa');
    await page.getByRole('heading', { name: 'Two-factor sign-in', level: 1 }).waitFor();
    assert.match(await page.locator('[data-two-factor-status]').innerText(), /is off/);
    await page.getByRole('button', { name: 'Set up two-factor sign-in' }).focus();
    await page.keyboard.press('Enter');

    const qr = page.getByRole('img', { name: 'QR code that adds Parley to an authenticator app' });
    await qr.waitFor();
    assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code is an image the page shows');
    assert.match(await qr.getAttribute('src'), /^data:image\/png;base64,/, 'made by the server, not fetched from elsewhere');
    const secret = (await page.locator('[data-totp-secret]').innerText()).trim();
    assert.match(secret, /^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/, 'the key in groups of four');
    const key = base32(secret);
    assert.equal(key.length, 20, 'a 160-bit key');
    await noAxeViolations(page, 'the set-up');
    await screenshot(page, 'console-2fa-setup');

    // The first code, typed: the field has focus, and Enter sends it.
    const field = page.getByRole('textbox', { name: 'Authentication code' });
    assert.equal(await field.getAttribute('autocomplete'), 'one-time-code');
    assert.equal(await field.getAttribute('inputmode'), 'numeric');
    assert.equal(await field.evaluate((el) => el === document.activeElement), true, 'the code field has focus');
    const enrolledAt = Date.now();
    await page.keyboard.type(totp(key, enrolledAt));
    await page.keyboard.press('Enter');
    const codesList = page.locator('[data-recovery-codes] code');
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    const codes = await codesList.allInnerTexts();
    assert.equal(codes.length, 10);
    for (const c of codes) assert.match(c, /^[a-z2-7]{6}-[a-z2-7]{6}$/);
    await noAxeViolations(page, 'the recovery codes');
    await screenshot(page, 'console-2fa-recovery-codes');
    await page.getByRole('link', { name: 'Done' }).click();
    assert.match(await page.locator('[data-two-factor-status]').innerText(), /is on since .*10 of 10 recovery codes left/);
    assert.equal(await page.locator('[data-recovery-codes]').count(), 0, 'the codes are shown once');
    await noAxeViolations(page, 'the two-factor page when on');
    await screenshot(page, 'console-2fa-account');
    await signOut(page);

    // Password, then a code: the next window's, since this window's was spent on the set-up.
    assert.equal(await password(page, sam), '/console/login/2fa');
    const code = page.getByRole('textbox', { name: 'Authentication code' });
    assert.equal(await code.evaluate((el) => el === document.activeElement), true, 'the code field has focus');
    assert.equal(await code.getAttribute('autocomplete'), 'one-time-code');
    await noAxeViolations(page, 'the code page');
    await screenshot(page, 'console-2fa-code');
    // The console itself stays shut until the code is given.
    await page.goto(parley.url + '/console/mentions');
    await page.waitForURL((u) => u.pathname === '/console/login');
    assert.equal(await password(page, sam), '/console/login/2fa');
    // Into the field by its label: after a sign-in that went through a redirect, focus may land a moment
    // after the page does (the first visit above checks it has it).
    const nextCode = page.getByRole('textbox', { name: 'Authentication code' });
    await nextCode.fill(totp(key, enrolledAt + 30_000));
    await nextCode.press('Enter');
    await page.waitForURL((u) => u.pathname === '/console/');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await signOut(page);

    // A recovery code instead, reached by keyboard.
    assert.equal(await password(page, sam), '/console/login/2fa');
    await page.getByRole('link', { name: 'Use a recovery code instead' }).focus();
    await page.keyboard.press('Enter');
    const recovery = page.getByRole('textbox', { name: 'Recovery code' });
    await recovery.waitFor();
    await noAxeViolations(page, 'the recovery code page');
    await recovery.fill(codes[0]);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL((u) => u.pathname === '/console/');
    await signOut(page);

    // The same recovery code a second time: refused, said next to the field.
    assert.equal(await password(page, sam), '/console/login/2fa');
    await page.getByRole('link', { name: 'Use a recovery code instead' }).click();
    await page.getByRole('textbox', { name: 'Recovery code' }).fill(codes[0]);
    await page.getByRole('button', { name: 'Verify' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /not one of yours, or was used already/);
    assert.equal(new URL(page.url()).pathname, '/console/login/2fa');
    assert.equal(await page.getByRole('textbox', { name: 'Recovery code' }).getAttribute('aria-invalid'), 'true');
    await noAxeViolations(page, 'a refused recovery code');
    await screenshot(page, 'console-2fa-refused');
    // Another unused one still works.
    await page.getByRole('textbox', { name: 'Recovery code' }).fill(codes[1]);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL((u) => u.pathname === '/console/');
    await page.context().close();
  });

  test('a workspace requiring two-factor sends an agent without it to the set-up after the password', async () => {
    const adminPage = await newPage(browser);
    assert.equal(await password(adminPage, admin), '/console/');
    await adminPage.goto(parley.url + '/console/settings');
    const box = adminPage.getByRole('checkbox', { name: 'Require two-factor sign-in' });
    assert.equal(await box.isChecked(), false);
    await box.focus();
    await adminPage.keyboard.press('Space');
    await adminPage.getByRole('button', { name: 'Save settings' }).click();
    await adminPage.waitForURL((u) => u.pathname === '/console/settings');
    assert.equal(await adminPage.getByRole('checkbox', { name: 'Require two-factor sign-in' }).isChecked(), true);
    await adminPage.context().close();

    const page = await newPage(browser);
    await page.setViewportSize({ width: 1100, height: 900 });
    assert.equal(await password(page, kim), '/console/login/enrol');
    await page.getByRole('heading', { name: 'Set up two-factor sign-in' }).waitFor();
    assert.match(await page.locator('main').innerText(), /Your workspace requires a code/);
    const secret = (await page.locator('[data-totp-secret]').innerText()).trim();
    await noAxeViolations(page, 'the required set-up');
    await screenshot(page, 'console-2fa-enrol');
    // No page of the console opens before it is done.
    const other = await page.context().newPage();
    await other.goto(parley.url + '/console/');
    assert.equal(new URL(other.url()).pathname, '/console/login');
    await other.close();
    // That visit signed the pending session out (a refused cookie is cleared): sign in again.
    assert.equal(await password(page, kim), '/console/login/enrol');
    const secret2 = (await page.locator('[data-totp-secret]').innerText()).trim();
    assert.notEqual(secret2, secret, 'a new key for a new set-up');
    await page.getByRole('textbox', { name: 'Authentication code' }).fill(totp(base32(secret2), Date.now()));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    assert.equal(await page.locator('[data-recovery-codes] code').count(), 10);
    await noAxeViolations(page, 'the recovery codes at sign-in');
    const cont = page.getByRole('button', { name: 'Continue' });
    await cont.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === '/console/');
    // Required: the agent's page says it cannot be turned off, and offers no way to.
    await page.goto(parley.url + '/console/account/2fa');
    assert.match(await page.locator('main').innerText(), /cannot be turned off/);
    assert.equal(await page.getByRole('button', { name: 'Turn off two-factor sign-in' }).count(), 0);
    await page.context().close();
  });
});
