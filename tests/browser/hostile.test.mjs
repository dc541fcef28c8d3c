// The widget on pages it does not control: aggressive global CSS must not hide or break it, the
// widget's CSS must not reach the page, and message text is never interpreted as HTML.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  apiView, embedPage, launchBrowser, launcher, messageBox, messageLog, newPage, openChat, panel, screenshot,
  send, sendButton, sleep, startParley, startSite, whenReady, widget, workspace,
} from './harness.mjs';

const HOSTILE_CSS = `<style>
  * { all: unset !important; display: block !important; color: red !important; font-size: 40px !important; }
  parley-chat { display: none !important; }
  button { display: none !important; }
  div { visibility: hidden !important; }
  body::before { content: "HOSTILE PAGE"; }
</style>`;

const NASTY = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>';

// The computed style of the page's own <p id="probe"> (what the widget's CSS must leave alone).
const PROBE_PROPS = ['display', 'font-family', 'font-size', 'font-weight', 'line-height', 'color', 'background-color',
  'margin-top', 'margin-bottom', 'padding-top', 'box-sizing', 'text-align', 'letter-spacing', 'text-transform', 'width', 'height'];

function probeStyle(page) {
  return page.locator('#probe').evaluate((el, props) => {
    const cs = getComputedStyle(el);
    return Object.fromEntries(props.map((p) => [p, cs.getPropertyValue(p)]));
  }, PROBE_PROPS);
}

describe('hostile host pages', () => {
  let parley, browser, site, ws;
  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    ws = (await workspace(parley.dataDir, 'Sturdy Co', '--first-message', 'Ask us anything.')).id;
  });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); });

  test('aggressive page CSS neither hides nor breaks the widget; HTML in messages stays text', async () => {
    const url = site.set('/hostile', embedPage(parley.url, ws, { head: HOSTILE_CSS, title: 'Hostile page' }));
    const page = await newPage(browser);
    try {
      await page.goto(url);
      await whenReady(page);
      await launcher(page).waitFor({ state: 'visible' });
      const l = await launcher(page).boundingBox();
      assert.ok(l.width >= 40 && l.width <= 80 && l.height >= 40 && l.height <= 80, `launcher size ${l.width}×${l.height}`);
      assert.ok(l.x + l.width <= 1280 && l.y + l.height <= 800 && l.x > 1000 && l.y > 600, 'launcher in the bottom right corner');

      await openChat(page);
      const p = await panel(page).boundingBox();
      assert.ok(p.width >= 300 && p.width <= 400 && p.height >= 400, `panel size ${p.width}×${p.height}`);
      const style = await messageBox(page).evaluate((el) => {
        const cs = getComputedStyle(el);
        return { fontSize: parseFloat(cs.fontSize), color: cs.color, visibility: cs.visibility };
      });
      assert.ok(style.fontSize >= 12 && style.fontSize <= 20, `message box font-size ${style.fontSize}px`);
      assert.notEqual(style.color, 'rgb(255, 0, 0)');
      assert.equal(style.visibility, 'visible');
      assert.ok(await sendButton(page).isVisible());

      const sent = await send(page, NASTY);
      assert.equal(sent.text, NASTY, 'shown literally');
      assert.ok(await messageLog(page).getByText(NASTY, { exact: true }).isVisible());
      // Give an injected <img onerror> or <script> the chance to run before proving that none did.
      await sleep(300);
      assert.equal(await page.evaluate(() => window.__pwned), undefined);
      const injected = await messageLog(page).evaluate((log) => log.querySelectorAll('img, script, b, iframe, svg').length);
      assert.equal(injected, 0, 'no element from the message body');

      const view = await apiView(page, parley.url, ws);
      assert.equal(view.conversations[0].messages.find((m) => m.id === sent.id).body, NASTY, 'stored unchanged');

      // After a reload (the history path rather than the live one) it is still text.
      await page.reload();
      await whenReady(page);
      await openChat(page);
      await messageLog(page).getByText(NASTY, { exact: true }).waitFor({ state: 'visible' });
      await sleep(300);
      assert.equal(await page.evaluate(() => window.__pwned), undefined);
      assert.equal(await messageLog(page).evaluate((log) => log.querySelectorAll('img, script, b, iframe, svg').length), 0);
      await screenshot(page, 'hostile-page');
    } finally {
      await page.context().close();
    }
  });

  test('the widget\'s CSS does not leak into the page', async () => {
    const body = '<p id="probe">A paragraph of the page.</p><button id="page-button">Page button</button>';
    const withWidget = site.set('/leak', embedPage(parley.url, ws, { body, title: 'Leak check' }));
    const without = site.set('/no-widget', embedPage(parley.url, ws, { body, title: 'Leak check' }).replace(/<script src=[^>]*><\/script>/, ''));
    const page = await newPage(browser);
    try {
      await page.goto(without);
      const expected = await probeStyle(page);
      const button = await page.locator('#page-button').evaluate((el) => getComputedStyle(el).cssText || [...getComputedStyle(el)].map((p) => p + ':' + getComputedStyle(el).getPropertyValue(p)).join(';'));

      await page.goto(withWidget);
      await whenReady(page);
      await openChat(page);
      await send(page, 'checking styles');
      assert.deepEqual(await probeStyle(page), expected);
      const buttonAfter = await page.locator('#page-button').evaluate((el) => getComputedStyle(el).cssText || [...getComputedStyle(el)].map((p) => p + ':' + getComputedStyle(el).getPropertyValue(p)).join(';'));
      assert.equal(buttonAfter, button, 'a page <button> keeps its computed style');
      assert.equal(await page.evaluate(() => document.styleSheets.length), 0, 'no stylesheet added to the page');
      assert.equal(await widget(page).count(), 1);
    } finally {
      await page.context().close();
    }
  });
});
