// Attachments in the agent console, in Chromium: a customer (the widget's HTTP API, as the widget calls
// it) sends a screenshot with text and then a PDF alone; the agent sees the screenshot as a thumbnail
// (its own size kept, at most 240px, opening the file) and the PDF as a card, the PDF-only message with
// its trust mark as any message; the Download link saves the PDF's exact bytes, and both files come with
// the inert headers. The agent then sends a file back by keyboard alone (Tab to "Attach files", Enter,
// the file chooser), sees its chip with a progress bar until it is uploaded, and the customer receives
// it through the API, bytes and all. Paste and drop attach too; a refused file (HTML named .png) is said
// in the reply box's alert in the server's words, a sixth file is refused, an upload can be cancelled,
// files alone make a reply, an internal note's file never reaches the customer, and a customer's file
// arrives live. Without JavaScript files show and download, and text replies work. Settings: the
// administrator narrows the size and kinds and sees what the workspace stores. axe-core on the
// conversation with files and chips, and on the settings page.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  api, axeViolations, consoleAgent, consoleTimeline, createAgent, eventually, launchBrowser, repoRoot, screenshot, startParley,
  workspace,
} from './harness.mjs';

const SHOT = readFileSync(path.join(repoRoot, 'docs', 'screenshots', 'widget-typing.png'));
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const INVOICE = Buffer.from('%PDF-1.7\n% Invoice 2026-117\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const HTML_AS_PNG = Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>');

// pngSize reads a PNG's width and height from its header.
const pngSize = (buf) => ({ width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) });

const conversationPath = (id) => `/console/conversations/${encodeURIComponent(id)}`;

describe('agent console: attachments', () => {
  let parley, browser, w, sam;

  // customer starts a widget session that claims a name, through the widget's HTTP API.
  async function customer(name) {
    const s = await api(parley.url, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: w.id }) });
    assert.equal(s.status, 201, JSON.stringify(s.data));
    const id = await api(parley.url, s.data.session_token, '/v1/widget/identify', { method: 'POST', body: JSON.stringify({ name }) });
    assert.equal(id.status, 200, JSON.stringify(id.data));
    return id.data.session_token;
  }

  async function upload(token, name, type, bytes) {
    const fd = new FormData();
    fd.append('file', new Blob([bytes], { type }), name);
    const res = await fetch(parley.url + '/v1/widget/attachments', { method: 'POST', headers: { Authorization: 'Bearer ' + token }, body: fd });
    const data = await res.json();
    assert.equal(res.status, 201, JSON.stringify(data));
    return data.attachment;
  }

  async function say(token, body, attachments = []) {
    const m = await api(parley.url, token, '/v1/widget/messages', { method: 'POST', body: JSON.stringify({ body, attachments, client_id: 'c-' + Math.random() }) });
    assert.equal(m.status, 201, JSON.stringify(m.data));
    return m.data.message;
  }

  async function customerMessages(token, conv) {
    const m = await api(parley.url, token, `/v1/widget/conversations/${encodeURIComponent(conv)}/messages`);
    assert.equal(m.status, 200, JSON.stringify(m.data));
    return m.data.messages;
  }

  async function customerFetch(token, id) {
    const res = await fetch(parley.url + '/v1/widget/attachments/' + encodeURIComponent(id), { headers: { Authorization: 'Bearer ' + token } });
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
  }

  // chips reads the reply box's chips: name, state, and whether it carries a file id.
  function chips(page) {
    return page.locator('[data-attach-chips] li').evaluateAll((els) => els.map((li) => ({
      name: li.querySelector('.chip-name').textContent,
      state: li.getAttribute('data-state'),
      id: li.querySelector('input[name="attachment"]')?.value || null,
    })));
  }

  async function doneChips(page, n) {
    return eventually(async () => {
      const list = await chips(page);
      assert.equal(list.length, n, JSON.stringify(list));
      assert.ok(list.every((c) => c.state === 'done' && /^att_/.test(c.id)), JSON.stringify(list));
      return list;
    });
  }

  // holdUploads holds every upload before it reaches the server until the returned function is called:
  // long enough to see (and cancel) one in progress, however slow the machine.
  async function holdUploads(page) {
    let release;
    const released = new Promise((resolve) => { release = resolve; });
    await page.route('**/console/attachments', async (route) => {
      await released;
      return route.continue().catch(() => {}); // cancelled meanwhile
    });
    return async () => { release(); await page.unroute('**/console/attachments'); };
  }

  // submitted runs an action that sends the reply form and waits for the page it leads to (the
  // form posts, the server redirects back to the conversation).
  async function submitted(page, action) {
    await Promise.all([page.waitForEvent('load'), action()]);
  }

  // fileEvent dispatches a paste into the reply box, or a drop on it, of one file built in the page.
  function fileEvent(page, kind, name, type, bytes) {
    return page.evaluate(({ kind, name, type, b64 }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type }));
      const area = document.getElementById('reply-body');
      if (kind === 'paste') return area.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
      area.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      const hinted = area.closest('form').classList.contains('attach-drop');
      area.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      return hinted;
    }, { kind, name, type, b64: bytes.toString('base64') });
  }

  before(async () => {
    [parley, browser] = await Promise.all([startParley({ demo: false }), launchBrowser()]);
    w = await workspace(parley.dataDir, 'Files Co');
    sam = await createAgent(parley.dataDir, w.id, { email: 'sam@files.example', name: 'Sam Agent', role: 'admin' });
  });
  after(async () => { await browser?.close(); await parley?.close(); });

  test('a screenshot and a PDF from the customer; a file back by keyboard; paste, drop, refusals, notes', async () => {
    const token = await customer('Ada Lovelace');
    const shot = await upload(token, 'screenshot.png', 'image/png', SHOT);
    const first = await say(token, 'This is what I see', [shot.id]);
    const pdf = await upload(token, 'statement.pdf', 'application/pdf', PDF);
    const second = await say(token, '', [pdf.id]);
    const conv = first.conversation_id;

    const page = await (await consoleAgent(browser, parley.url, sam)).tab();
    await page.goto(parley.url + conversationPath(conv));
    await page.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();

    // The screenshot: a thumbnail that loaded, its width and height from the metadata, no wider than
    // 240px, inside a link that opens the file.
    const img = page.getByRole('img', { name: 'screenshot.png' });
    await eventually(async () => assert.equal(await img.evaluate((el) => el.complete && el.naturalWidth > 0), true));
    const { width, height } = pngSize(SHOT);
    assert.deepEqual(await img.evaluate((el) => [el.getAttribute('width'), el.getAttribute('height')]), [String(width), String(height)]);
    const box = await img.boundingBox();
    assert.ok(box.width <= 240.5 && box.height <= 240.5, JSON.stringify(box));
    assert.equal(await page.getByRole('link', { name: 'screenshot.png' }).getAttribute('href'), '/console/attachments/' + shot.id);

    // The PDF alone: a card with its name, size and type, and the message keeps its trust mark.
    const card = page.locator(`[data-attachment="${pdf.id}"]`);
    assert.match((await card.textContent()).replace(/\s+/g, ' '), new RegExp(`statement\\.pdf ${PDF.length} bytes · PDF document Download statement\\.pdf`));
    const timeline = await consoleTimeline(page);
    const customerMsgs = timeline.filter((m) => m.sender === 'customer');
    assert.equal(customerMsgs.length, 2);
    assert.deepEqual(customerMsgs.map((m) => m.trust), ['none', 'none'], 'the PDF-only message is marked as any message');
    assert.ok(customerMsgs.every((m) => m.tooltip && m.tooltip === customerMsgs[0].tooltip), JSON.stringify(customerMsgs));
    const pdfMsg = page.locator(`li[data-seq="${parseInt(second.id.split('_').pop(), 10)}"]`);
    assert.equal(await pdfMsg.locator('[data-trust-mark="none"]').count(), 1);
    assert.equal(await pdfMsg.locator('.msg-body').count(), 0, 'no empty body drawn');

    // Download: the exact bytes, saved under the file's name.
    const [download] = await Promise.all([page.waitForEvent('download'), card.getByRole('link', { name: 'Download statement.pdf' }).click()]);
    assert.equal(download.suggestedFilename(), 'statement.pdf');
    assert.deepEqual(readFileSync(await download.path()), PDF);
    // The headers, as the browser gets them with the agent's cookies.
    for (const [a, type, disposition, bytes] of [[pdf, 'application/pdf', "attachment; filename*=UTF-8''statement.pdf", PDF], [shot, 'image/png', "inline; filename*=UTF-8''screenshot.png", SHOT]]) {
      const res = await page.context().request.get(parley.url + '/console/attachments/' + a.id);
      assert.equal(res.status(), 200);
      const h = res.headers();
      assert.equal(h['content-type'], type);
      assert.equal(h['x-content-type-options'], 'nosniff');
      assert.equal(h['content-security-policy'], "default-src 'none'; sandbox");
      assert.equal(h['content-disposition'], disposition);
      assert.equal(h['cache-control'], 'private');
      assert.equal(h['content-length'], String(bytes.length));
      assert.deepEqual(await res.body(), bytes);
    }
    await screenshot(page, 'console-attachments-received');

    // A file back, by keyboard alone: Tab from the reply box reaches "Attach files", Enter opens the
    // file chooser. The upload is held a moment, so its chip shows a progress bar first.
    const releaseUploads = await holdUploads(page);
    // Listening for the file chooser turns on its interception asynchronously, so listen well before
    // the key press (a listener added in the same tick as Enter lost the race in a loaded CI run).
    const chosen = page.waitForEvent('filechooser', { timeout: 60000 });
    await page.locator('#reply-body').focus();
    await page.keyboard.press('Tab');
    const clip = page.getByRole('button', { name: 'Attach files' });
    assert.equal(await clip.evaluate((el) => el === document.activeElement), true, 'Tab reaches the paperclip');
    await page.keyboard.press('Enter');
    const chooser = await chosen;
    assert.equal(chooser.isMultiple(), true);
    await chooser.setFiles({ name: 'invoice.pdf', mimeType: 'application/pdf', buffer: INVOICE });
    await page.getByRole('progressbar', { name: 'Uploading invoice.pdf' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Cancel upload of invoice.pdf' }).count(), 1);
    await releaseUploads();
    const [invoiceChip] = await doneChips(page, 1);
    assert.equal(invoiceChip.name, 'invoice.pdf');
    assert.equal(await page.getByRole('progressbar').count(), 0);
    await page.locator('#reply-body').focus();
    await page.keyboard.type('Here is your invoice');
    await screenshot(page, 'console-attachments-composer');
    assert.deepEqual(await axeViolations(page), [], 'axe-core with thumbnails, cards and a chip');
    await submitted(page, () => page.keyboard.press('Enter'));
    const sentCard = page.locator(`li[data-sender="agent"] [data-attachment="${invoiceChip.id}"]`);
    await sentCard.waitFor();
    assert.equal(await chips(page).then((c) => c.length), 0, 'the composer is empty again');

    // The customer receives it, and its bytes.
    const reply = await eventually(async () => {
      const msgs = await customerMessages(token, conv);
      const r = msgs.find((m) => m.sender === 'agent');
      assert.ok(r, 'the reply reached the customer');
      return r;
    });
    assert.equal(reply.body, 'Here is your invoice');
    assert.deepEqual(reply.attachments.map((a) => [a.id, a.name, a.kind, a.image, a.size]), [[invoiceChip.id, 'invoice.pdf', 'pdf', false, INVOICE.length]]);
    const got = await customerFetch(token, invoiceChip.id);
    assert.equal(got.status, 200);
    assert.deepEqual(got.bytes, INVOICE);

    // Paste and drop attach; a file alone makes a reply.
    assert.equal(await fileEvent(page, 'paste', 'pasted.png', 'image/png', SHOT), false, 'the paste was taken');
    assert.equal(await page.locator('#reply-body').inputValue(), '', 'no text pasted');
    assert.equal(await fileEvent(page, 'drop', 'dropped.txt', 'text/plain', Buffer.from('order 117\n')), true, 'the form shows it takes the drop');
    const two = await doneChips(page, 2);
    assert.deepEqual(two.map((c) => c.name), ['pasted.png', 'dropped.txt']);
    // Keyboard: Remove takes the file back and leaves focus on the next control.
    await page.getByRole('button', { name: 'Remove dropped.txt' }).focus();
    await page.keyboard.press('Enter');
    await doneChips(page, 1);
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label') || document.activeElement.textContent), 'Remove pasted.png');
    await submitted(page, () => page.getByRole('button', { name: 'Send', exact: true }).click());
    const alone = await eventually(async () => {
      const msgs = (await customerMessages(token, conv)).filter((m) => m.sender === 'agent');
      assert.equal(msgs.length, 2);
      return msgs[1];
    });
    assert.equal(alone.body, '');
    assert.deepEqual(alone.attachments.map((a) => [a.name, a.image]), [['pasted.png', true]]);

    // Refused in the server's words: HTML named .png; and a sixth file, by the page.
    const alert = page.locator('form[data-composer]').getByRole('alert');
    await page.locator('[data-attach-input]').setInputFiles({ name: 'page.png', mimeType: 'image/png', buffer: HTML_AS_PNG });
    await eventually(async () => assert.match(await alert.textContent(), /^page\.png: .+/));
    assert.equal((await chips(page)).length, 0, 'nothing kept of the refused file');
    const six = Array.from({ length: 6 }, (_, i) => ({ name: `note-${i + 1}.txt`, mimeType: 'text/plain', buffer: Buffer.from(`line ${i + 1}\n`) }));
    await page.locator('[data-attach-input]').setInputFiles(six);
    await eventually(async () => assert.match(await alert.textContent(), /note-6\.txt was not added: up to 5 files per message\./));
    await doneChips(page, 5);
    for (let i = 5; i >= 1; i--) await page.getByRole('button', { name: `Remove note-${i}.txt` }).click();
    assert.equal((await chips(page)).length, 0);

    // Cancel mid-upload: the chip goes, the form carries nothing.
    const releaseSlow = await holdUploads(page);
    await page.locator('[data-attach-input]').setInputFiles({ name: 'slow.pdf', mimeType: 'application/pdf', buffer: PDF });
    await page.getByRole('progressbar', { name: 'Uploading slow.pdf' }).waitFor();
    await page.getByRole('button', { name: 'Cancel upload of slow.pdf' }).click();
    assert.equal((await chips(page)).length, 0);
    assert.equal(await page.locator('input[name="attachment"]').count(), 0);
    await releaseSlow();

    // An internal note with a file: agents see it; the customer neither sees the note nor reaches the file.
    await page.getByRole('group', { name: 'Send as' }).getByRole('radio', { name: 'Internal note' }).check();
    await page.locator('[data-attach-input]').setInputFiles({ name: 'refund-approval.pdf', mimeType: 'application/pdf', buffer: PDF });
    const [noteChip] = await doneChips(page, 1);
    await page.locator('#reply-body').fill('Approval attached');
    await submitted(page, () => page.locator('#reply-body').press('Enter'));
    await page.locator(`li[data-internal] [data-attachment="${noteChip.id}"]`).waitFor();
    const seen = await customerMessages(token, conv);
    assert.ok(!seen.some((m) => m.body === 'Approval attached'), 'the note is not the customer\'s');
    assert.equal((await customerFetch(token, noteChip.id)).status, 404);

    // A file the customer sends while the agent looks arrives live, thumbnail and all.
    const later = await upload(token, 'later.png', 'image/png', SHOT);
    await say(token, 'one more', [later.id]);
    const live = page.getByRole('img', { name: 'later.png' });
    await live.waitFor();
    await eventually(async () => assert.equal(await live.evaluate((el) => el.complete && el.naturalWidth > 0), true));
    assert.deepEqual(page.errors, []);
  });

  test('without JavaScript: files show and download, no paperclip, text replies as before', async () => {
    const token = await customer('Cy Noscript');
    const shot = await upload(token, 'noscript.png', 'image/png', SHOT);
    const pdf = await upload(token, 'noscript.pdf', 'application/pdf', PDF);
    const m = await say(token, 'files', [shot.id, pdf.id]);
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      await page.goto(parley.url + '/console/login');
      await page.getByLabel('Email').fill(sam.email);
      await page.getByLabel('Password').fill(sam.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => u.pathname === '/console/');
      await page.goto(parley.url + conversationPath(m.conversation_id));
      const img = page.getByRole('img', { name: 'noscript.png' });
      await eventually(async () => assert.equal(await img.evaluate((el) => el.complete && el.naturalWidth > 0), true));
      assert.equal(await page.getByRole('button', { name: 'Attach files' }).isVisible(), false, 'no paperclip without the script');
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download noscript.pdf' }).click()]);
      assert.deepEqual(readFileSync(await download.path()), PDF);
      await page.locator('#reply-body').fill('Got them, thanks');
      await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Send', exact: true }).click()]);
      const msgs = await customerMessages(token, m.conversation_id);
      assert.deepEqual(msgs.filter((x) => x.sender === 'agent').map((x) => [x.body, x.attachments ?? []]), [['Got them, thanks', []]]);
    } finally {
      await context.close();
    }
  });

  test('settings: on or off, size and kinds, what is stored', async () => {
    const page = await (await consoleAgent(browser, parley.url, sam)).tab();
    await page.goto(parley.url + '/console/settings');
    const group = page.getByRole('group', { name: 'Attachments' });
    assert.equal(await group.getByRole('checkbox', { name: 'Customers and agents may send files' }).isChecked(), true);
    assert.equal(await group.getByLabel('Maximum file size (MB)').inputValue(), '10');
    assert.match(await page.locator('[data-stored-attachments]').textContent(), /^Stored attachments: \d+(\.\d)? (bytes|KB|MB)$/);
    assert.deepEqual(await axeViolations(page), [], 'axe-core on the settings page');
    await group.getByLabel('Maximum file size (MB)').fill('2');
    await group.getByRole('checkbox', { name: 'GIF image' }).uncheck();
    await group.scrollIntoViewIfNeeded();
    await screenshot(page, 'console-attachment-settings');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor();
    assert.equal(await group.getByLabel('Maximum file size (MB)').inputValue(), '2');
    assert.equal(await group.getByRole('checkbox', { name: 'GIF image' }).isChecked(), false);
    const cfg = await api(parley.url, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: w.id }) });
    assert.equal(cfg.data.config.attachments.max_size, 2000000);
    assert.ok(!cfg.data.config.attachments.kinds.includes('gif'));

    // A size out of range is refused on the page, with what to fix.
    await group.getByLabel('Maximum file size (MB)').evaluate((el) => { el.removeAttribute('max'); el.value = '250'; });
    await page.getByRole('button', { name: 'Save settings' }).click();
    await eventually(async () => assert.match(await page.locator('#settings-error').textContent(), /Maximum attachment size: write a number of MB from 1 to 100/));
    assert.deepEqual(await axeViolations(page), [], 'axe-core on the refused settings');

    // Off: the reply box has no paperclip.
    await page.goto(parley.url + '/console/settings');
    await group.getByRole('checkbox', { name: 'Customers and agents may send files' }).uncheck();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor();
    const token = await customer('Bob Stone');
    const m = await say(token, 'no files here');
    await page.goto(parley.url + conversationPath(m.conversation_id));
    await page.getByRole('heading', { name: 'Bob Stone' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Attach files' }).count(), 0);
    assert.deepEqual(page.errors, []);
  });
});
