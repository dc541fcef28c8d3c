// Attachments in the widget, as a visitor sends and sees them: files attached by the paperclip (with the
// keyboard), pasted into the composer and dropped on the panel, each with its chip and progress, sent
// with the message and shown as thumbnails or a card that downloads; refusals (too large for the
// workspace, an HTML file named .png, a sixth file) explained per file with nothing sent; an upload
// cancelled mid-way on a throttled network; and people: after logout the old session's token gets 401
// for its files, a second customer on the same browser gets 404 for the first one's and none of her
// thumbnails (every blob URL revoked). axe-core with chips and thumbnails on screen.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  apiView, axeViolations, bubbles, consoleAgent, createAgent, embedPage, eventually, launchBrowser, messageBox, newPage,
  openChat, repoRoot, screenshot, send, sendButton, signToken, startParley, startSite, whenReady, widget, widgetToken,
  workspace,
} from './harness.mjs';

// Real images: two of the docs' own screenshots, the kind of file a customer sends.
const SHOT = readFileSync(path.join(repoRoot, 'docs', 'screenshots', 'widget-typing.png'));
const SHOT2 = readFileSync(path.join(repoRoot, 'docs', 'screenshots', 'onboarding.png'));
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const HTML_AS_PNG = Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>');

const ADA = { sub: 'u-ada', email: 'ada@files.example', name: 'Ada Lovelace' };
const BOB = { sub: 'u-bob', email: 'bob@files.example', name: 'Bob Stone' };

// BLOBS records every blob URL the page makes and revokes, before the widget loads.
const BLOBS = `<script>
  window.__made = []; window.__revoked = [];
  (function () {
    var make = URL.createObjectURL, revoke = URL.revokeObjectURL;
    URL.createObjectURL = function (b) { var u = make.call(URL, b); window.__made.push(u); return u; };
    URL.revokeObjectURL = function (u) { window.__revoked.push(u); return revoke.call(URL, u); };
  })();
</script>`;

const attachButton = (page) => widget(page).getByRole('button', { name: 'Attach files', exact: true });
const chips = (page) => widget(page).locator('.chip');
const chipText = (page) => chips(page).evaluateAll((els) => els.map((el) => ({
  name: el.querySelector('.chip-name').textContent,
  uploading: !!el.querySelector('[role="progressbar"]'),
  error: el.querySelector('.chip-msg').textContent,
})));
const politeNote = (page) => widget(page).locator('.typing-note').textContent();

// readyChips waits until n chips are on screen and none is uploading.
async function readyChips(page, n) {
  return eventually(async () => {
    const list = await chipText(page);
    assert.equal(list.length, n, JSON.stringify(list));
    assert.ok(list.every((c) => !c.uploading), 'uploads finished: ' + JSON.stringify(list));
    return list;
  });
}

// thumbnails reads the images of the message bubbles: their name, where they come from and their size.
function thumbnails(page) {
  return widget(page).locator('.msg img').evaluateAll((els) => els.map((img) => ({
    alt: img.alt, src: img.src, loaded: img.complete && img.naturalWidth > 0, width: img.getBoundingClientRect().width,
  })));
}

// inPage puts a file built in the page into a DataTransfer and dispatches events with it at the widget:
// a paste into the composer, or a drag onto the panel and a drop.
function pasteFile(page, name, type, bytes) {
  return page.evaluate(({ name, type, b64 }) => {
    const file = new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type });
    const dt = new DataTransfer();
    dt.items.add(file);
    const input = document.querySelector('parley-chat').shadowRoot.querySelector('textarea');
    return input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true, composed: true }));
  }, { name, type, b64: bytes.toString('base64') });
}

function dragFile(page, step, name = '', type = '', bytes = Buffer.alloc(0)) {
  return page.evaluate(({ step, name, type, b64 }) => {
    window.__dt ??= new DataTransfer();
    if (step === 'enter') {
      window.__dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type }));
    }
    const target = document.querySelector('parley-chat').shadowRoot.querySelector('.log');
    const events = step === 'enter' ? ['dragenter', 'dragover'] : ['drop'];
    for (const t of events) target.dispatchEvent(new DragEvent(t, { dataTransfer: window.__dt, bubbles: true, cancelable: true, composed: true }));
    if (step === 'drop') window.__dt = null;
  }, { step, name, type, b64: bytes.toString('base64') });
}

// waitForReply waits for the agent's message in the widget.
function waitForReply(page) {
  return eventually(async () => {
    const reply = (await bubbles(page)).find((b) => b.sender === 'agent');
    assert.ok(reply, 'the agent\'s reply');
    return reply;
  });
}

// posts records the bodies of the widget's message posts and every request URL of the page.
function recordRequests(page) {
  const rec = { posts: [], urls: [] };
  page.on('request', (r) => {
    rec.urls.push(r.url());
    if (r.method() === 'POST' && r.url().endsWith('/v1/widget/messages')) rec.posts.push(JSON.parse(r.postData()));
  });
  return rec;
}

// fetchAs fetches an attachment from the page (the site's origin, as the widget does) with a token.
function fetchAs(page, url, token) {
  return page.evaluate(async ({ url, token }) => {
    const res = await fetch(url, { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' });
    let code = null;
    try { code = (await res.json()).error.code; } catch (_) { /* bytes */ }
    return { status: res.status, code };
  }, { url, token });
}

describe('attachments in the widget', () => {
  let parley, browser, site, w, small, off;
  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Files Co');
    // A workspace whose files may be at most 20 kB.
    small = await workspace(parley.dataDir, 'Small Files Co', '--attachment-max-size', '20KB');
    off = await workspace(parley.dataDir, 'No Files Co', '--attachments', 'off');
  });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); });

  async function visitor(ws, name, { head = '' } = {}) {
    const page = await newPage(browser);
    const url = site.set('/' + name + '-' + Math.random().toString(36).slice(2), embedPage(parley.url, ws.id, { head, title: 'Files Co' }));
    await page.goto(url);
    await whenReady(page);
    return page;
  }

  test('paperclip (keyboard), paste and drop: chips with progress, one message with three files, thumbnails and a download', async () => {
    const page = await visitor(w, 'send');
    const rec = recordRequests(page);
    // Listening for the file chooser turns on its interception, asynchronously: well before the key press.
    const chosen = page.waitForEvent('filechooser', { timeout: 60000 });
    await page.evaluate(() => window.Parley.setUser({ name: 'Ada Lovelace', email: 'ada@files.example' }));
    await openChat(page);

    // The paperclip, by keyboard: Tab from the message box reaches it, Enter opens the file chooser.
    await messageBox(page).focus();
    await page.keyboard.press('Tab');
    assert.equal(await attachButton(page).evaluate((el) => el.getRootNode().activeElement === el), true, 'the paperclip has focus');
    assert.equal(await widget(page).locator('input[type="file"]').getAttribute('accept') !== null, true, 'the picker says what it accepts');
    await page.keyboard.press('Enter');
    const chooser = await chosen;
    assert.equal(chooser.isMultiple(), true);
    await chooser.setFiles({ name: 'screenshot.png', mimeType: 'image/png', buffer: SHOT });
    await readyChips(page, 1);
    assert.match(await politeNote(page), /screenshot\.png is ready to send/);

    // Paste: the composer takes the image and no text.
    assert.equal(await pasteFile(page, 'image.png', 'image/png', SHOT2), false, 'the paste was taken by the widget');
    await readyChips(page, 2);
    assert.equal(await messageBox(page).inputValue(), '');

    // Drag and drop onto the panel: a visible hint while dragging, gone after the drop.
    await dragFile(page, 'enter', 'report.pdf', 'application/pdf', PDF);
    const hint = widget(page).getByText('Drop files to attach them');
    await hint.waitFor({ state: 'visible' });
    await dragFile(page, 'drop');
    await hint.waitFor({ state: 'hidden' });
    const list = await readyChips(page, 3);
    assert.deepEqual(list.map((c) => c.name), ['screenshot.png', 'image.png', 'report.pdf']);
    assert.deepEqual(list.map((c) => c.error), ['', '', '']);
    assert.deepEqual(await axeViolations(page), [], 'axe-core with three chips');

    // Another tab of the same visitor, open before the message goes: it arrives there over the live
    // connection, files included.
    const other = await page.context().newPage();
    await other.goto(page.url());
    await whenReady(other);
    await openChat(other);

    await messageBox(page).fill('Here is what I see');
    await sendButton(page).click();
    await chips(page).first().waitFor({ state: 'detached' });
    const sent = await eventually(async () => {
      const mine = (await bubbles(page)).filter((b) => b.sender === 'customer');
      assert.equal(mine.length, 1);
      assert.equal(mine[0].state, 'sent');
      return mine[0];
    });
    assert.equal(rec.posts.length, 1, 'one message post');
    assert.equal(rec.posts[0].body, 'Here is what I see');
    assert.equal(rec.posts[0].attachments.length, 3);
    assert.ok(rec.posts[0].attachments.every((id) => /^att_/.test(id)), JSON.stringify(rec.posts[0]));

    // Stored with the message, as the session sees it through the API.
    const view = await apiView(page, parley.url, w.id);
    const stored = view.conversations.flatMap((c) => c.messages).find((m) => m.id === sent.id);
    assert.deepEqual(stored.attachments.map((a) => [a.name, a.kind, a.image]),
      [['screenshot.png', 'png', true], ['image.png', 'png', true], ['report.pdf', 'pdf', false]]);
    assert.deepEqual(stored.attachments.map((a) => a.id), rec.posts[0].attachments);

    // Thumbnails from blob URLs, at most 220px wide; the PDF is a card.
    const thumbs = await eventually(async () => {
      const t = await thumbnails(page);
      assert.equal(t.length, 2);
      assert.ok(t.every((x) => x.loaded && x.src.startsWith('blob:')), JSON.stringify(t));
      return t;
    });
    assert.deepEqual(thumbs.map((t) => t.alt), ['screenshot.png', 'image.png']);
    assert.ok(thumbs.every((t) => t.width > 0 && t.width <= 220), JSON.stringify(thumbs));
    const card = widget(page).getByRole('button', { name: /report\.pdf/ });
    assert.match(await card.textContent(), /report\.pdf\s*PDF · \d+ B/);
    const [download] = await Promise.all([page.waitForEvent('download'), card.click()]);
    assert.equal(download.suggestedFilename(), 'report.pdf');
    assert.deepEqual(readFileSync(await download.path()), PDF);

    // No token in any URL the page asked for.
    const token = await widgetToken(page, w.id);
    assert.deepEqual(rec.urls.filter((u) => u.includes(token)), []);

    await eventually(async () => {
      const t = await thumbnails(other);
      assert.equal(t.length, 2);
      assert.ok(t.every((x) => x.loaded), JSON.stringify(t));
    });

    // A new chip beside the sent thumbnails for the docs' picture.
    await widget(page).locator('input[type="file"]').setInputFiles({ name: 'invoice-march.pdf', mimeType: 'application/pdf', buffer: PDF });
    await readyChips(page, 1);
    await screenshot(page, 'widget-attachments');
    assert.deepEqual(await axeViolations(page), [], 'axe-core with thumbnails, a card and a chip');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('refused files: too large for the workspace, HTML named .png, a sixth file — a message for each, nothing sent', async () => {
    const page = await visitor(small, 'refused');
    const rec = recordRequests(page);
    await openChat(page);
    const picker = widget(page).locator('input[type="file"]');

    // Too large: the widget knows the workspace's limit (20 kB) and says so at once, uploading nothing.
    await picker.setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: SHOT });
    let list = await readyChips(page, 1);
    assert.equal(list[0].error, 'big.png is larger than 20 KB.');
    assert.equal(await politeNote(page), 'big.png is larger than 20 KB.');
    assert.equal(rec.urls.filter((u) => u.endsWith('/v1/widget/attachments')).length, 0, 'nothing uploaded');

    // HTML dressed as a PNG: the server looks at the bytes and refuses it.
    const refusal = page.waitForResponse((r) => r.url().endsWith('/v1/widget/attachments'));
    await picker.setInputFiles({ name: 'cat.png', mimeType: 'image/png', buffer: HTML_AS_PNG });
    const refused = await refusal;
    assert.deepEqual([refused.status(), (await refused.json()).error.code], [415, 'attachment_type_not_allowed']);
    list = await readyChips(page, 2);
    assert.equal(list[1].error, "cat.png: this type of file can't be sent.");
    assert.deepEqual(await axeViolations(page), [], 'axe-core with refused chips');

    // Only refused files: Send sends nothing.
    await sendButton(page).click();
    await page.waitForTimeout(300); // proving a negative: no post follows
    assert.deepEqual(rec.posts, []);
    assert.equal(await chips(page).count(), 2, 'the refusals stay until removed');

    // Removing them (keyboard) and attaching six small files: five are taken, the sixth is refused.
    await widget(page).getByRole('button', { name: 'Remove big.png' }).press('Enter');
    await widget(page).getByRole('button', { name: 'Remove cat.png' }).press('Enter');
    assert.equal(await chips(page).count(), 0);
    const six = Array.from({ length: 6 }, (_, i) => ({ name: 'note-' + (i + 1) + '.txt', mimeType: 'text/plain', buffer: Buffer.from('note ' + (i + 1) + '\n') }));
    await picker.setInputFiles(six);
    await readyChips(page, 5);
    await widget(page).getByRole('alert').filter({ hasText: 'You can attach up to 5 files to a message.' }).waitFor();
    // A message with files and no text.
    await sendButton(page).click();
    await eventually(() => assert.equal(rec.posts.length, 1));
    assert.equal(rec.posts[0].body, '');
    assert.equal(rec.posts[0].attachments.length, 5);
    await eventually(async () => {
      const cards = await widget(page).locator('.msg .file .fname').allTextContents();
      assert.deepEqual(cards, ['note-1.txt', 'note-2.txt', 'note-3.txt', 'note-4.txt', 'note-5.txt']);
    });
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('a workspace with attachments off: no paperclip, a pasted or dropped file is not taken', async () => {
    const page = await visitor(off, 'off');
    const rec = recordRequests(page);
    await openChat(page);
    assert.equal(await attachButton(page).count(), 0, 'no paperclip');
    assert.equal(await pasteFile(page, 'image.png', 'image/png', SHOT2), true, 'the paste is left alone');
    await dragFile(page, 'enter', 'report.pdf', 'application/pdf', PDF);
    assert.equal(await widget(page).getByText('Drop files to attach them').isVisible(), false, 'no drop hint');
    await dragFile(page, 'drop');
    assert.equal(await chips(page).count(), 0);
    assert.deepEqual(rec.urls.filter((u) => u.includes('/v1/widget/attachments')), []);
    await send(page, 'Just text here');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('a message with files that fails to go is retried with the same client_id and the same files, stored once', async () => {
    const page = await visitor(w, 'retry');
    const rec = recordRequests(page);
    await openChat(page);
    await widget(page).locator('input[type="file"]').setInputFiles({ name: 'retry.pdf', mimeType: 'application/pdf', buffer: PDF });
    await readyChips(page, 1);
    // The first two tries die on the way; the third goes through.
    let tries = 0;
    await page.route('**/v1/widget/messages', (route) => (route.request().method() === 'POST' && ++tries <= 2 ? route.abort('connectionreset') : route.continue()));
    await messageBox(page).fill('Second try lucky');
    await sendButton(page).click();
    const sent = await eventually(async () => {
      const b = (await bubbles(page)).find((x) => x.text === 'Second try lucky');
      assert.equal(b && b.state, 'sent');
      return b;
    }, { timeout: 20000 });
    assert.equal(rec.posts.length, 3);
    assert.equal(new Set(rec.posts.map((p) => p.client_id)).size, 1, 'one client_id');
    assert.ok(rec.posts.every((p) => JSON.stringify(p.attachments) === JSON.stringify(rec.posts[0].attachments) && p.attachments.length === 1), JSON.stringify(rec.posts));
    const view = await apiView(page, parley.url, w.id);
    const mine = view.conversations.flatMap((c) => c.messages).filter((m) => m.sender === 'customer');
    assert.deepEqual(mine.map((m) => [m.id, m.attachments.map((a) => a.name)]), [[sent.id, ['retry.pdf']]], 'stored once, with its file');
    await page.unroute('**/v1/widget/messages');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('an upload cancelled mid-way on a slow network: Send waits meanwhile, the message goes without it', async () => {
    const page = await visitor(w, 'cancel');
    const rec = recordRequests(page);
    await openChat(page);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 64 * 1024 });

    const big = Buffer.concat([SHOT, Buffer.alloc(2_000_000 - SHOT.length)]); // a PNG with trailing bytes, 2 MB
    await widget(page).locator('input[type="file"]').setInputFiles({ name: 'slow.png', mimeType: 'image/png', buffer: big });
    const bar = widget(page).getByRole('progressbar', { name: 'Uploading slow.png' });
    await bar.waitFor();
    await eventually(async () => {
      const now = Number(await bar.getAttribute('aria-valuenow'));
      assert.ok(now > 0 && now < 100, 'part-way: ' + now);
    });
    assert.equal(await sendButton(page).isDisabled(), true, 'Send waits for the upload');
    await messageBox(page).fill('Never mind the file');
    await messageBox(page).press('Enter');
    await page.waitForTimeout(200); // proving a negative: Enter sends nothing while a file uploads
    assert.deepEqual(rec.posts, []);

    const aborted = page.waitForEvent('requestfailed', (r) => r.url().endsWith('/v1/widget/attachments'));
    await widget(page).getByRole('button', { name: 'Cancel upload of slow.png' }).click();
    await aborted;
    assert.equal(await chips(page).count(), 0);
    assert.equal(await sendButton(page).isDisabled(), false);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await sendButton(page).click();
    await eventually(() => assert.equal(rec.posts.length, 1));
    assert.deepEqual(rec.posts[0], { body: 'Never mind the file', client_id: rec.posts[0].client_id });
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('the chat page on a phone: its CSP lets thumbnails and downloads through, the composer fits', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push('pageerror: ' + e.message));
    page.on('console', (m) => { if (m.type() === 'error' && !/^Failed to load resource:/.test(m.text())) page.errors.push('console: ' + m.text()); });
    const token = signToken(w, { sub: 'u-lee', email: 'lee@files.example', name: 'Lee Park', jti: 'files-link-1' });
    await page.goto(parley.url + '/chat/' + w.id + '#token=' + token);
    await widget(page).getByText('Signed in as Lee Park (lee@files.example)', { exact: true }).waitFor();
    await widget(page).locator('input[type="file"]').setInputFiles([
      { name: 'photo.png', mimeType: 'image/png', buffer: SHOT }, { name: 'receipt.pdf', mimeType: 'application/pdf', buffer: PDF }]);
    await readyChips(page, 2);
    const send = await sendButton(page).boundingBox();
    assert.ok(send.x + send.width <= 360, 'Send is on screen beside the paperclip: ' + JSON.stringify(send));
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'no horizontal scroll');
    await sendButton(page).click();
    await eventually(async () => {
      const t = await thumbnails(page);
      assert.equal(t.length, 1);
      assert.ok(t[0].loaded && t[0].width <= 220, JSON.stringify(t));
    });
    const [download] = await Promise.all([page.waitForEvent('download'), widget(page).getByRole('button', { name: /receipt\.pdf/ }).click()]);
    assert.deepEqual(readFileSync(await download.path()), PDF);
    assert.deepEqual(page.errors, [], 'no page error, no CSP refusal');
    await context.close();
  });

  test('an agent sends files back from the console: the widget shows them live, a thumbnail and a card', async () => {
    const page = await visitor(w, 'back');
    await page.evaluate(() => window.Parley.setUser({ name: 'Grace Hopper', email: 'grace@files.example' }));
    await openChat(page);
    const asked = await send(page, 'Could you send me my invoice?');

    const agent = await createAgent(parley.dataDir, w.id, { email: 'sam@files.example', name: 'Sam Agent' });
    const conv = await (await consoleAgent(browser, parley.url, agent)).tab();
    await conv.goto(parley.url + '/console/conversations/' + encodeURIComponent(asked.conversation));
    await conv.locator('#reply-body').waitFor();
    await conv.locator('form:has(#reply-body) [data-attach-input]').setInputFiles([
      { name: 'invoice.pdf', mimeType: 'application/pdf', buffer: PDF }, { name: 'where-to-click.png', mimeType: 'image/png', buffer: SHOT }]);
    await eventually(async () => assert.equal(await conv.locator('form:has(#reply-body) [data-attach-chips] li[data-state="done"]').count(), 2));
    await conv.locator('#reply-body').fill('Here it is, and where to click');
    await Promise.all([conv.waitForEvent('load'), conv.locator('#reply-body').press('Enter')]);

    // The customer's widget, without a reload: the reply with its two files, in the order sent.
    const reply = await waitForReply(page);
    assert.equal(reply.text, 'Here it is, and where to click');
    const files = widget(page).locator('[data-sender="agent"] .atts > *');
    assert.deepEqual(await files.evaluateAll((els) => els.map((el) => el.tagName + ' ' + (el.alt || el.querySelector('.fname').textContent))),
      ['BUTTON invoice.pdf', 'IMG where-to-click.png']);
    await eventually(async () => {
      const t = await thumbnails(page);
      assert.equal(t.length, 1);
      assert.ok(t[0].loaded && t[0].src.startsWith('blob:') && t[0].width <= 220, JSON.stringify(t));
    });
    const [download] = await Promise.all([page.waitForEvent('download'), widget(page).getByRole('button', { name: /invoice\.pdf/ }).click()]);
    assert.equal(download.suggestedFilename(), 'invoice.pdf');
    assert.deepEqual(readFileSync(await download.path()), PDF);
    assert.deepEqual(await axeViolations(page), [], 'axe-core with the agent\'s files');
    assert.deepEqual([...page.errors, ...conv.errors], []);
    await conv.context().close();
    await page.context().close();
  });

  test('people: after logout the old token gets 401, the next customer 404 and none of the first one\'s thumbnails', async () => {
    const page = await visitor(w, 'people', { head: BLOBS });
    const login = (claims) => page.evaluate((t) => window.Parley.login(t).then((id) => id.email), signToken(w, claims));
    assert.equal(await login(ADA), ADA.email);
    await openChat(page);
    const picker = widget(page).locator('input[type="file"]');
    await picker.setInputFiles([{ name: 'ada-card.png', mimeType: 'image/png', buffer: SHOT }, { name: 'ada-contract.pdf', mimeType: 'application/pdf', buffer: PDF }]);
    await readyChips(page, 2);
    await sendButton(page).click();
    await eventually(async () => assert.equal((await thumbnails(page)).filter((t) => t.loaded).length, 1));
    const adaToken = await widgetToken(page, w.id);
    const ada = await apiView(page, parley.url, w.id);
    const adaFiles = ada.conversations.flatMap((c) => c.messages).flatMap((m) => m.attachments || []);
    assert.equal(adaFiles.length, 2);
    const fileURL = (a) => parley.url + '/v1/widget/attachments/' + a.id;
    assert.equal((await fetchAs(page, fileURL(adaFiles[0]), adaToken)).status, 200);
    // The card's download makes a blob URL too.
    await Promise.all([page.waitForEvent('download'), widget(page).getByRole('button', { name: /ada-contract\.pdf/ }).click()]);
    const made = await page.evaluate(() => window.__made.slice());
    assert.equal(made.length, 2, 'a blob URL for the thumbnail and one for the download');

    // Bob signs in on the same page: Ada's blob URLs are revoked and unreadable, none of her files shows.
    assert.equal(await login(BOB), BOB.email);
    await widget(page).getByText('Signed in as Bob Stone (bob@files.example)', { exact: true }).waitFor();
    assert.deepEqual((await page.evaluate(() => window.__revoked)).filter((u) => made.includes(u)).sort(), made.slice().sort());
    for (const u of made) {
      assert.equal(await page.evaluate((u) => fetch(u).then(() => 'read', () => 'gone'), u), 'gone', 'a revoked blob URL');
    }
    assert.deepEqual(await thumbnails(page), []);
    assert.equal(await widget(page).locator('.atts, .chip').count(), 0);
    const body = await widget(page).locator('.body').textContent();
    assert.ok(!body.includes('ada-'), 'none of Ada\'s file names');
    const bobToken = await widgetToken(page, w.id);
    for (const a of adaFiles) assert.deepEqual(await fetchAs(page, fileURL(a), bobToken), { status: 404, code: 'attachment_not_found' });

    // Bob attaches a file and logs out before sending it: the chip goes, and his old token gets 401.
    const uploaded = page.waitForResponse((r) => r.url().endsWith('/v1/widget/attachments'));
    await picker.setInputFiles({ name: 'bob-draft.pdf', mimeType: 'application/pdf', buffer: PDF });
    const bobFile = (await (await uploaded).json()).attachment;
    await readyChips(page, 1);
    assert.equal((await fetchAs(page, fileURL(bobFile), bobToken)).status, 200, 'his own upload, not sent yet');
    await page.evaluate(() => window.Parley.logout());
    assert.equal(await chips(page).count(), 0, 'logout takes the chips away');
    assert.deepEqual(await fetchAs(page, fileURL(bobFile), bobToken), { status: 401, code: 'session_invalid' });
    // Ada's old token, which the switch ended, is refused the same way.
    for (const a of adaFiles) assert.deepEqual(await fetchAs(page, fileURL(a), adaToken), { status: 401, code: 'session_invalid' });
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});
