// The widget wears the business's colours (issue 19): an administrator picks a light brand colour and
// the left side in the console, by keyboard and labels, watching the preview follow before saving; the
// widget on the business's site then sits on the left in that colour with near-black, readable text. A
// mid-grey is refused beside its field, which takes the focus. The dark theme (always, and following a
// dark system with theme auto) and the light brand colour are axe-core clean. The business's own texts
// fall back to the default language's; a language's own texts need Parley.setLocale (the i18n work).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  axeViolations, cli, consoleSignIn, createAgent, embedPage, launchBrowser, newPage, panel, screenshot, settled,
  startParley, startSite, whenReady, widget, workspace,
} from './harness.mjs';

// WCAG 2 contrast of two CSS rgb() colours, as the server computes it for #rrggbb.
function contrast(a, b) {
  const lum = (css) => {
    const [r, g, bl] = css.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((v) => {
      const c = v / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

// colours reads an element's computed text and background colours inside the widget.
const colours = (locator) => locator.evaluate((el) => {
  const s = getComputedStyle(el);
  return { color: s.color, background: s.backgroundColor };
});

describe('widget appearance and texts', () => {
  let parley, browser, site, w, admin;
  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Acme Shop');
    admin = await createAgent(parley.dataDir, w.id, { email: 'root@acme.example', name: 'Robin Admin', role: 'admin' });
  });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); });

  test('the console: a light brand colour and the left side, by keyboard, with a live preview', async () => {
    const page = await newPage(browser);
    await consoleSignIn(page, parley.url, admin);
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Widget appearance' }).click();
    await page.getByRole('heading', { name: 'Widget appearance and texts', level: 1 }).waitFor();
    const preview = page.getByRole('img', { name: /^Preview:/ });
    assert.equal(await preview.getAttribute('data-preview'), '');
    assert.deepEqual(await axeViolations(page), [], 'the page as it opens');

    // The brand colour, typed: the preview takes it (and near-black text on it) before anything is saved.
    const brand = page.getByLabel('Brand colour', { exact: true });
    await brand.focus();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('#fde047');
    assert.equal(await preview.getAttribute('data-brand'), '#fde047');
    assert.equal(await preview.getAttribute('data-text'), '#111827');
    assert.match(await preview.textContent(), /./);
    assert.match(await page.locator('figcaption').textContent(), /near-black \(13\.5:1\)/);
    assert.equal(await preview.locator('[data-preview-brand]').first().getAttribute('fill'), '#fde047');

    // The side, with the arrow keys in the radio group; the label, typed.
    const right = page.getByRole('radio', { name: 'Bottom right' });
    assert.ok(await right.isChecked());
    await right.focus();
    await page.keyboard.press('ArrowDown');
    assert.ok(await page.getByRole('radio', { name: 'Bottom left' }).isChecked());
    assert.equal(await preview.locator('[data-preview-panel]').getAttribute('transform'), 'translate(16 12)');
    assert.equal(await preview.locator('[data-preview-launcher-bg]').getAttribute('x'), '16');
    await page.getByLabel('Launcher label', { exact: true }).focus();
    await page.keyboard.type('Questions?');
    assert.equal(await preview.locator('[data-preview-label]').textContent(), 'Questions?');
    assert.match(await page.locator('figcaption').textContent(), /launcher bottom left/);
    await page.keyboard.press('Enter'); // submits the form
    await page.getByText('Appearance saved.').waitFor();
    assert.equal(await page.getByLabel('Brand colour', { exact: true }).inputValue(), '#fde047');
    assert.ok(await page.getByRole('radio', { name: 'Bottom left' }).isChecked());
    assert.deepEqual(await axeViolations(page), [], 'after saving');
    await screenshot(page, 'console-appearance');
    assert.deepEqual(page.errors, []);
  });

  test('a brand colour no text reads on is refused beside its field, which takes the focus', async () => {
    const page = await newPage(browser);
    await consoleSignIn(page, parley.url, admin);
    await page.goto(parley.url + '/console/settings/appearance');
    const brand = page.getByLabel('Brand colour', { exact: true });
    await brand.fill('#777777');
    // The preview warns as it is typed (a polite live region) ...
    await page.getByText('Too little contrast: even white text reaches only 4.47:1').waitFor();
    await page.getByRole('button', { name: 'Save appearance' }).click();
    // ... and the server refuses it, saying why, next to the field, which is focused and described by it.
    const error = page.locator('#brand_color-error');
    await error.waitFor();
    const text = await error.textContent();
    assert.match(text, /#777777/);
    assert.match(text, /even white text on it reaches only 4\.47:1/);
    assert.match(text, /at least 4\.5:1 contrast/);
    assert.equal(await brand.getAttribute('aria-invalid'), 'true');
    assert.match(await brand.getAttribute('aria-describedby'), /\bbrand_color-error\b/);
    assert.ok(await brand.evaluate((el) => document.activeElement === el), 'focus is on the refused field');
    assert.equal(await brand.inputValue(), '#777777', 'the form as it was sent');
    // The preview keeps the saved look: the refused colour is what must not be shown as the widget.
    assert.equal(await page.getByRole('img', { name: /^Preview:/ }).locator('[data-preview-brand]').first().getAttribute('fill'), '#fde047');
    assert.deepEqual(await axeViolations(page), [], 'with the refusal');
    const saved = await cli(parley.dataDir, 'workspace', 'show', '--workspace', w.id);
    assert.equal(saved.settings.appearance.brand_color, '#fde047', 'nothing saved');
  });

  test('the widget on the site: on the left, in the brand colour, with readable text', async () => {
    const url = site.set('/brand', embedPage(parley.url, w.id, { title: 'Acme Shop' }));
    const page = await newPage(browser);
    await page.goto(url);
    await whenReady(page);
    const launcher = widget(page).getByRole('button', { name: 'Questions?', exact: true });
    await launcher.waitFor({ state: 'visible' });
    const box = await launcher.boundingBox();
    assert.ok(box.x < 40 && box.x >= 0, `the launcher is on the left (x = ${box.x})`);
    const lc = await colours(launcher);
    assert.equal(lc.background, 'rgb(253, 224, 71)');
    assert.equal(lc.color, 'rgb(17, 24, 39)');
    assert.ok(contrast(lc.color, lc.background) >= 4.5);
    assert.equal(await widget(page).locator('.launcher-label').textContent(), 'Questions?');

    await launcher.click();
    await panel(page).waitFor({ state: 'visible' });
    await settled(panel(page));
    const pb = await panel(page).boundingBox();
    assert.ok(pb.x < 40, `the panel opens on the left (x = ${pb.x})`);
    const head = await colours(widget(page).locator('.head'));
    assert.equal(head.background, 'rgb(253, 224, 71)');
    assert.ok(contrast(head.color, head.background) >= 4.5, 'the title reads on the brand colour');
    const send = await colours(widget(page).getByRole('button', { name: 'Send', exact: true }));
    assert.ok(contrast(send.color, send.background) >= 4.5, 'Send reads on the brand colour');
    assert.deepEqual(await axeViolations(page), [], 'a light brand colour');
    await page.mouse.move(900, 300); // the launcher as it looks, not hovered
    await screenshot(page, 'widget-brand');
    assert.deepEqual(page.errors, []);
  });

  test('the dark theme: always, and following a dark system with theme auto; axe-core clean', async () => {
    const dark = await workspace(parley.dataDir, 'Night Owl Books', '--theme', 'auto', '--onboarding', 'on',
      '--logo-url', 'https://127.0.0.1:9/no-such-logo.png');
    const url = site.set('/dark', embedPage(parley.url, dark.id, { title: 'Night Owl Books' }));
    const bg = (page) => widget(page).locator('.panel').evaluate((el) => getComputedStyle(el).backgroundColor);

    // theme auto: a light system gets the light theme, a dark one the dark theme.
    for (const [scheme, want] of [['light', 'rgb(255, 255, 255)'], ['dark', 'rgb(17, 24, 39)']]) {
      const page = await newPage(browser, { colorScheme: scheme });
      await page.goto(url);
      await whenReady(page);
      await widget(page).getByRole('button', { name: 'Chat', exact: true }).click();
      await panel(page).waitFor({ state: 'visible' });
      await settled(panel(page));
      assert.equal(await bg(page), want, `theme auto on a ${scheme} system`);
      // A logo that does not load leaves no broken image behind.
      await widget(page).locator('.logo').evaluate((el) => el.hidden || new Promise((r) => el.addEventListener('error', r, { once: true })));
      assert.equal(await widget(page).locator('.logo').isHidden(), true);
      await widget(page).getByRole('form', { name: 'Introduce yourself' }).waitFor();
      assert.deepEqual(await axeViolations(page), [], `theme auto, ${scheme} system, onboarding form`);
      await page.context().close();
    }

    // theme dark: dark whatever the system says; a conversation's bubbles too.
    await cli(parley.dataDir, 'workspace', 'update', '--workspace', dark.id, '--theme', 'dark', '--onboarding', 'off', '--logo-url', '');
    const page = await newPage(browser, { colorScheme: 'light' });
    await page.goto(url);
    await whenReady(page);
    await widget(page).getByRole('button', { name: 'Chat', exact: true }).click();
    await panel(page).waitFor({ state: 'visible' });
    await settled(panel(page));
    assert.equal(await bg(page), 'rgb(17, 24, 39)');
    const box = widget(page).getByRole('textbox', { name: 'Message', exact: true });
    await box.fill('Do you have the owl book in stock?');
    await box.press('Enter');
    await widget(page).locator('[data-sender="customer"][data-state="sent"]').waitFor();
    const ink = await colours(widget(page).locator('.hello'));
    assert.ok(contrast(ink.color, 'rgb(17, 24, 39)') >= 4.5, 'text on the dark panel');
    assert.deepEqual(await axeViolations(page), [], 'theme dark with a conversation');
    await page.mouse.move(300, 300);
    await screenshot(page, 'widget-dark');
    assert.deepEqual(page.errors, []);
  });

  test('the business\'s texts fall back to the default language\'s', async () => {
    const t = await workspace(parley.dataDir, 'Texts GmbH', '--onboarding', 'on', '--greeting', 'Welcome to Texts!',
      '--first-message', 'Ask us anything.', '--onboarding-intro', 'Who may we help today?');
    // German texts for part of the fields only: without a locale the widget shows the default language's.
    await cli(parley.dataDir, 'workspace', 'update', '--workspace', t.id, '--locale', 'de', '--greeting', 'Willkommen bei Texts!');
    const url = site.set('/texts', embedPage(parley.url, t.id, { title: 'Texts GmbH' }));
    const page = await newPage(browser);
    await page.goto(url);
    await whenReady(page);
    await widget(page).getByRole('button', { name: 'Chat', exact: true }).click();
    await panel(page).waitFor({ state: 'visible' });
    assert.equal(await widget(page).locator('.hello').textContent(), 'Welcome to Texts!');
    assert.equal(await widget(page).locator('.first').textContent(), 'Ask us anything.');
    assert.equal(await widget(page).locator('.onboarding .hint').textContent(), 'Who may we help today?');
    assert.deepEqual(page.errors, []);
  });

  // The business's texts follow the widget's language (bizText in widget.js reads state.locale).
  test('a German visitor gets the German greeting and the default language\'s other texts', async () => {
    const t = await workspace(parley.dataDir, 'Sprachen AG', '--greeting', 'Welcome!', '--first-message', 'Ask us anything.');
    await cli(parley.dataDir, 'workspace', 'update', '--workspace', t.id, '--locale', 'de', '--greeting', 'Willkommen!');
    const url = site.set('/de', embedPage(parley.url, t.id, { title: 'Sprachen AG' }));
    const page = await newPage(browser, { locale: 'de-DE' });
    await page.goto(url);
    await whenReady(page);
    assert.equal(await page.evaluate(() => typeof window.Parley.setLocale), 'function');
    await page.evaluate(() => window.Parley.setLocale('de'));
    await widget(page).getByRole('button').first().click();
    await panel(page).waitFor({ state: 'visible' });
    assert.equal(await widget(page).locator('.hello').textContent(), 'Willkommen!');
    assert.equal(await widget(page).locator('.first').textContent(), 'Ask us anything.', 'no German first message: the default language\'s');
    // de-AT falls back to de.
    await page.evaluate(() => window.Parley.setLocale('de-AT'));
    assert.equal(await widget(page).locator('.hello').textContent(), 'Willkommen!');
  });
});
