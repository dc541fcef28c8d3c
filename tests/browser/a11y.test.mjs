// Accessibility: the widget works with the keyboard alone, and axe-core finds nothing serious in it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';

import {
  QUEUE_STUB, bubbles, embedPage, eventually, launchBrowser, launcher, messageBox, newPage, openChat, panel, send,
  settled, startParley, startSite, unreadBadge, waitForBubble, whenReady, widget, workspace,
} from './harness.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// focused describes the element that has the keyboard focus, looking into open shadow roots.
function focused(page) {
  return page.evaluate(() => {
    let el = document.activeElement;
    let inWidget = false;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) {
      if (el.tagName === 'PARLEY-CHAT') inWidget = true;
      el = el.shadowRoot.activeElement;
    }
    if (!el) return null;
    return { tag: el.tagName.toLowerCase(), label: el.getAttribute('aria-label'), id: el.id, inWidget, inPanel: !!el.closest('[role="dialog"]') };
  });
}

// axeInWidget runs axe-core on the whole page and returns the serious and critical violations whose
// nodes lie inside <parley-chat>.
async function axeInWidget(page) {
  await page.evaluate(axeSource); // evaluate, not a <script>: the demo page's CSP allows no inline script
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const found = [];
  for (const v of results.violations) {
    if (v.impact !== 'serious' && v.impact !== 'critical') continue;
    const nodes = v.nodes.filter((n) => Array.isArray(n.target[0]) ? n.target[0][0] === 'parley-chat' : String(n.target[0]).startsWith('parley-chat'));
    if (nodes.length) found.push({ id: v.id, impact: v.impact, help: v.help, nodes: nodes.map((n) => ({ target: n.target, summary: n.failureSummary })) });
  }
  return found;
}

// launcherAnnouncement reads the launcher's accessible name and description from Chromium's own
// accessibility tree, i.e. what a screen reader is given.
async function launcherAnnouncement(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    const buttons = nodes.filter((n) => !n.ignored && n.role?.value === 'button' && n.name?.value === 'Chat');
    assert.equal(buttons.length, 1, 'one launcher in the accessibility tree');
    return { name: buttons[0].name.value, description: buttons[0].description?.value || '' };
  } finally {
    await cdp.detach();
  }
}

describe('accessibility', () => {
  let parley, browser, site;
  before(async () => { [parley, browser, site] = await Promise.all([startParley(), launchBrowser(), startSite()]); });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); });

  test('keyboard only: Tab reaches the launcher, Enter opens, Escape closes and returns focus', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(parley.url + '/');
      await whenReady(page);
      let reached = false;
      for (let i = 0; i < 30 && !reached; i++) {
        await page.keyboard.press('Tab');
        const f = await focused(page);
        reached = f && f.inWidget && f.label === 'Chat';
      }
      assert.ok(reached, 'Tab reaches the launcher');

      await page.keyboard.press('Enter');
      await panel(page).waitFor({ state: 'visible' });
      // One launcher name in both states, its state in aria-expanded; the panel's close button is the only "Close chat".
      assert.equal(await widget(page).getByRole('button', { name: 'Chat', exact: true, expanded: true }).count(), 1, 'the launcher says it is expanded');
      assert.equal(await launcher(page).getAttribute('aria-controls'), await panel(page).getAttribute('id'), 'the launcher names the panel it controls');
      assert.equal(await widget(page).getByRole('button', { name: 'Close chat' }).count(), 1, 'one control is called "Close chat"');
      assert.deepEqual(await focused(page), { tag: 'textarea', label: 'Message', id: '', inWidget: true, inPanel: true }, 'focus is in the message box');

      // Enter sends; Shift+Enter starts a new line.
      await page.keyboard.type('line one');
      await page.keyboard.press('Shift+Enter');
      await page.keyboard.type('line two');
      assert.equal(await messageBox(page).inputValue(), 'line one\nline two');
      await page.keyboard.press('Enter');
      await waitForBubble(page, (b) => b.text === 'line one\nline two' && b.state === 'sent', 'the message sent with Enter');
      assert.equal((await focused(page)).label, 'Message', 'focus stays in the message box');

      await page.keyboard.press('Escape');
      await panel(page).waitFor({ state: 'hidden' });
      const f = await focused(page);
      assert.equal(f.inWidget && f.label, 'Chat', 'focus returns to the launcher');
      assert.equal(await launcher(page).getAttribute('aria-expanded'), 'false');

      // Space opens it as well, and the close button closes it.
      await page.keyboard.press('Space');
      await panel(page).waitFor({ state: 'visible' });
      assert.equal((await focused(page)).label, 'Message');
      await panel(page).getByRole('button', { name: 'Close chat' }).focus();
      await page.keyboard.press('Enter');
      await panel(page).waitFor({ state: 'hidden' });
      assert.equal((await focused(page)).label, 'Chat');
    } finally {
      await page.context().close();
    }
  });

  test('axe-core: no serious or critical violations in the widget (chat, badge, onboarding, sign-in prompt)', async () => {
    const page = await newPage(browser);
    try {
      // The demo shop with a conversation and the agent's reply, panel open.
      await page.goto(parley.url + '/');
      await whenReady(page);
      await openChat(page);
      await send(page, 'Hello, accessibility check');
      await waitForBubble(page, (b) => b.sender === 'agent', 'the agent greeting');
      await settled(panel(page));
      assert.deepEqual(await axeInWidget(page), [], 'chat panel open');

      // The launcher with its unread badge, panel closed.
      await page.reload();
      await whenReady(page);
      await openChat(page);
      await waitForBubble(page, (b) => b.sender === 'agent', 'the history');
      assert.equal((await bubbles(page)).length, 2);
      await page.keyboard.press('Escape');
      await panel(page).waitFor({ state: 'hidden' });
      assert.deepEqual(await axeInWidget(page), [], 'panel closed');

      // The onboarding form with its errors, and the sign-in prompt of a verified-only workspace.
      const onboarding = await workspace(parley.dataDir, 'Onboard A11y', '--onboarding', 'on');
      const verified = await workspace(parley.dataDir, 'Verified A11y', '--require-verified', '--login-url', site.url + '/login');
      for (const [name, ws] of [['onboarding', onboarding.id], ['sign-in prompt', verified.id]]) {
        await page.goto(site.set('/' + ws, embedPage(parley.url, ws, { head: QUEUE_STUB })));
        await whenReady(page);
        await openChat(page);
        if (name === 'onboarding') {
          await panel(page).getByRole('button', { name: 'Start chat' }).click();
          await eventually(async () => assert.equal(await panel(page).getByRole('alert').count(), 2));
        } else {
          await panel(page).getByText('Please sign in to chat with us.').waitFor();
        }
        assert.deepEqual(await axeInWidget(page), [], name);
      }
    } finally {
      await page.context().close();
    }
  });

  test('the unread badge is announced with the launcher', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(parley.url + '/');
      await whenReady(page);
      await openChat(page);
      await messageBox(page).fill('Hello, is the badge announced?');
      await page.keyboard.press('Enter');
      await page.keyboard.press('Escape');
      await panel(page).waitFor({ state: 'hidden' });
      await unreadBadge(page).getByText('1', { exact: true }).waitFor({ state: 'visible' });
      assert.deepEqual(await axeInWidget(page), [], 'badge shown');
      // What a screen reader says for the launcher must include the count (docs/widget.md: launcher
      // "Chat" described by "N unread messages"), in its name or its description.
      const said = await launcherAnnouncement(page);
      assert.match(`${said.name} ${said.description}`, /\b1 unread message\b/,
        `Chromium's accessibility tree has the launcher as ${JSON.stringify(said)}`);
    } finally {
      await page.context().close();
    }
  });
});
