// The widget speaks the visitor's language (docs/widget.md, Languages): German for a browser set to
// de-DE, Arabic right to left, English for a language it does not speak; Parley.setLocale, the script
// tag's data-locale, a login token's locale claim and the workspace's default choose it too. Catalogues
// come from checksummed URLs with Subresource Integrity; English needs none.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';

import {
  embedPage, eventually, launchBrowser, newPage, screenshot, settled, signToken, startParley, startSite, whenReady,
  widget, widgetLogin, workspace,
} from './harness.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// axeInWidget: the serious and critical violations axe-core finds inside <parley-chat>.
async function axeInWidget(page) {
  await page.evaluate(axeSource);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const found = [];
  for (const v of results.violations) {
    if (v.impact !== 'serious' && v.impact !== 'critical') continue;
    const nodes = v.nodes.filter((n) => Array.isArray(n.target[0]) ? n.target[0][0] === 'parley-chat' : String(n.target[0]).startsWith('parley-chat'));
    if (nodes.length) found.push({ id: v.id, help: v.help, nodes: nodes.map((n) => n.target) });
  }
  return found;
}

const launcherNamed = (page, name) => widget(page).getByRole('button', { name, exact: true });
const dialog = (page) => widget(page).getByRole('dialog');

// openWith opens the panel with the launcher of the given name, by the keyboard.
async function openWith(page, name) {
  await launcherNamed(page, name).focus();
  await page.keyboard.press('Enter');
  await dialog(page).waitFor({ state: 'visible' });
  await settled(dialog(page));
}

// frame reads the widget root's lang, dir and computed direction.
function frame(page) {
  return widget(page).locator('.frame').evaluate((el) => ({ lang: el.lang, dir: el.dir, direction: getComputedStyle(el).direction, panel: getComputedStyle(el.querySelector('.panel')).direction }));
}

// catalogueRequests records the catalogues a page fetches.
function catalogueRequests(page) {
  const seen = [];
  page.on('request', (r) => { if (r.url().includes('/widget/i18n/')) seen.push(new URL(r.url()).pathname); });
  return seen;
}

const locale = (page) => page.evaluate(() => window.Parley.locale);

describe('the widget in the visitor\'s language', () => {
  let parley, browser, site, plain, onboarding, dutch;
  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    plain = await workspace(parley.dataDir, 'Sprachschule');
    onboarding = await workspace(parley.dataDir, 'Sprachschule', '--onboarding', 'on');
    dutch = await workspace(parley.dataDir, 'Taalschool', '--default-locale', 'nl');
  });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); });

  test('de-DE: every label, the onboarding form and an API error in German; axe-core clean', async () => {
    const page = await newPage(browser, { locale: 'de-DE' });
    const fetched = catalogueRequests(page);
    try {
      await page.goto(site.set('/de', embedPage(parley.url, onboarding.id, { title: 'Sprachschule' })));
      await whenReady(page);
      assert.equal(await locale(page), 'de');
      assert.equal(fetched.length, 1, 'one catalogue');
      assert.match(fetched[0], /^\/widget\/i18n\/de\.[0-9a-f]{16}\.json$/);
      await openWith(page, 'Chat');
      assert.equal(await dialog(page).getAttribute('aria-label'), 'Chat mit Sprachschule');
      assert.deepEqual(await frame(page), { lang: 'de', dir: 'ltr', direction: 'ltr', panel: 'ltr' });
      await widget(page).getByRole('button', { name: 'Chat schließen', exact: true }).waitFor();
      await widget(page).getByRole('log', { name: 'Nachrichten', exact: true }).waitFor({ state: 'attached' });
      await dialog(page).getByText('Hallo!', { exact: true }).waitFor();

      // The onboarding form, its checks and its labels.
      const form = widget(page).getByRole('form', { name: 'Stellen Sie sich vor', exact: true });
      await form.getByText('Sagen Sie uns, wer Sie sind, damit wir Ihnen helfen können.').waitFor();
      await form.getByRole('button', { name: 'Chat starten', exact: true }).click();
      await form.getByText('Bitte geben Sie Ihren Namen ein.', { exact: true }).waitFor();
      await form.getByText('Bitte geben Sie eine gültige E-Mail-Adresse ein.', { exact: true }).waitFor();
      assert.deepEqual(await axeInWidget(page), [], 'the German onboarding form with its errors');
      await screenshot(page, 'widget-de');
      await form.getByLabel('Name', { exact: true }).fill('Grete Weber');
      await form.getByLabel('E-Mail', { exact: true }).fill('grete@example.de');
      await page.keyboard.press('Enter');

      // The composer; a message the server refuses (too long: 422 invalid_field) says so in German.
      const box = widget(page).getByRole('textbox', { name: 'Nachricht', exact: true });
      await box.waitFor();
      assert.equal(await box.getAttribute('placeholder'), 'Nachricht eingeben …');
      await widget(page).getByRole('button', { name: 'Dateien anhängen', exact: true }).waitFor();
      await box.evaluate((el) => { el.value = 'x'.repeat(4001); }); // past maxlength, as a script could
      await widget(page).getByRole('button', { name: 'Senden', exact: true }).click();
      await widget(page).getByRole('alert').getByText('Diese Nachricht konnte nicht gesendet werden. Bitte prüfen Sie sie und versuchen Sie es erneut.', { exact: true }).waitFor();
      await eventually(async () => assert.deepEqual(await widget(page).locator('.msg .meta').allTextContents(), ['Nicht gesendet']));
      await box.fill('Guten Tag, haben Sie noch Plätze im Sommerkurs?');
      await page.keyboard.press('Enter');
      await widget(page).locator('.msg[data-state="sent"] .text').getByText('Guten Tag', { exact: false }).waitFor();
      // Times with Intl.DateTimeFormat in German: 24-hour "14:05", never "2:05 PM".
      assert.match(await widget(page).locator('.msg[data-state="sent"] .meta').innerText(), /^\d{2}:\d{2}$/);
      await widget(page).getByRole('button', { name: 'Unterhaltung herunterladen', exact: true }).waitFor();
      assert.deepEqual(await axeInWidget(page), [], 'the German chat');
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('ar: right to left (dir and lang on the widget\'s root, computed direction rtl); axe-core clean', async () => {
    const page = await newPage(browser, { locale: 'ar' });
    try {
      await page.goto(site.set('/ar', embedPage(parley.url, plain.id, { title: 'Sprachschule' })));
      await whenReady(page);
      assert.equal(await locale(page), 'ar');
      await openWith(page, 'دردشة');
      assert.deepEqual(await frame(page), { lang: 'ar', dir: 'rtl', direction: 'rtl', panel: 'rtl' });
      await widget(page).getByRole('button', { name: 'إغلاق الدردشة', exact: true }).waitFor();
      const box = widget(page).getByRole('textbox', { name: 'الرسالة', exact: true });
      await box.fill('مرحبًا، هل يمكنكم مساعدتي؟');
      await widget(page).getByRole('button', { name: 'إرسال', exact: true }).click();
      await widget(page).locator('.msg[data-state="sent"]').waitFor();
      // The page around the widget keeps its own direction.
      assert.equal(await page.evaluate(() => getComputedStyle(document.body).direction), 'ltr');
      assert.deepEqual(await axeInWidget(page), [], 'the Arabic chat');
      await screenshot(page, 'widget-ar');
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('a language the widget does not speak (xx): English, and no catalogue fetched', async () => {
    const page = await newPage(browser, { locale: 'xx' });
    const fetched = catalogueRequests(page);
    try {
      await page.goto(site.set('/xx', embedPage(parley.url, plain.id)));
      await whenReady(page);
      assert.equal(await locale(page), 'en');
      await openWith(page, 'Chat');
      assert.deepEqual(await frame(page), { lang: 'en', dir: 'ltr', direction: 'ltr', panel: 'ltr' });
      await widget(page).getByRole('button', { name: 'Close chat', exact: true }).waitFor();
      await widget(page).getByRole('textbox', { name: 'Message', exact: true }).waitFor();
      await widget(page).getByRole('button', { name: 'Send', exact: true }).waitFor();
      assert.deepEqual(fetched, []);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('Parley.setLocale switches live, and back; data-locale on the script tag wins over the browser', async () => {
    const page = await newPage(browser, { locale: 'en-US' });
    try {
      await page.goto(site.set('/live', embedPage(parley.url, plain.id)));
      await whenReady(page);
      await openWith(page, 'Chat');
      const box = widget(page).getByRole('textbox', { name: 'Message', exact: true });
      await box.fill('Bonjour');
      assert.equal(await page.evaluate(() => window.Parley.setLocale('fr')), 'fr');
      await widget(page).getByRole('button', { name: 'Fermer le chat', exact: true }).waitFor();
      await widget(page).getByRole('button', { name: 'Envoyer', exact: true }).waitFor();
      const frBox = widget(page).getByRole('textbox', { name: 'Message', exact: true }); // "Message" in French too
      assert.equal(await frBox.getAttribute('placeholder'), 'Écrivez votre message…');
      assert.equal(await frBox.inputValue(), 'Bonjour', 'what the visitor typed stays');
      await dialog(page).getByText('Bonjour !', { exact: true }).waitFor();
      assert.deepEqual(await frame(page), { lang: 'fr', dir: 'ltr', direction: 'ltr', panel: 'ltr' });
      assert.equal(await page.evaluate(() => window.Parley.setLocale('ar')), 'ar');
      assert.equal((await frame(page)).direction, 'rtl');
      assert.equal(await page.evaluate(() => window.Parley.setLocale(null)), 'en', 'null: the browser\'s language again');
      await widget(page).getByRole('button', { name: 'Close chat', exact: true }).waitFor();
      assert.equal((await frame(page)).direction, 'ltr');

      // data-locale on the script tag, for a browser set to German.
      const de = await newPage(browser, { locale: 'de-DE' });
      try {
        const html = embedPage(parley.url, plain.id).replace('data-workspace=', 'data-locale="es" data-workspace=');
        await de.goto(site.set('/data-locale', html));
        await whenReady(de);
        assert.equal(await locale(de), 'es');
        await openWith(de, 'Chat');
        await widget(de).getByRole('button', { name: 'Cerrar el chat', exact: true }).waitFor();
        assert.deepEqual(de.errors, []);
      } finally {
        await de.context().close();
      }
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('a verified login token\'s locale claim switches to its language; logout goes back', async () => {
    const page = await newPage(browser, { locale: 'en-US' });
    try {
      await page.goto(site.set('/claim', embedPage(parley.url, plain.id)));
      await whenReady(page);
      await openWith(page, 'Chat');
      await widget(page).getByRole('button', { name: 'Close chat', exact: true }).waitFor();
      const r = await widgetLogin(page, signToken(plain, { sub: 'u-lucia', email: 'lucia@example.es', name: 'Lucía Pérez', locale: 'es' }));
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.identity.locale, 'es');
      await widget(page).getByRole('button', { name: 'Cerrar el chat', exact: true }).waitFor();
      await widget(page).getByText('Sesión iniciada como Lucía Pérez (lucia@example.es)', { exact: true }).waitFor();
      await dialog(page).getByText('¡Hola, Lucía!', { exact: true }).waitFor();
      assert.equal(await locale(page), 'es');
      // A reload keeps the claim with the session.
      await page.reload();
      await whenReady(page);
      assert.equal(await locale(page), 'es');
      await page.evaluate(() => window.Parley.logout());
      await eventually(async () => assert.equal(await locale(page), 'en'));
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('the workspace\'s default language, for a browser whose language the widget does not speak', async () => {
    const page = await newPage(browser, { locale: 'xx' });
    try {
      await page.goto(site.set('/nl', embedPage(parley.url, dutch.id)));
      await whenReady(page);
      assert.equal(await locale(page), 'nl');
      await openWith(page, 'Chat');
      await widget(page).getByRole('button', { name: 'Chat sluiten', exact: true }).waitFor();
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('the away notice within the hour in German, with Intl.RelativeTimeFormat ("in 25 Minuten")', async () => {
    // Open every day from 25 minutes from now (UTC) for an hour: closed now, opening within the hour.
    const at = new Date(Date.now() + 25 * 60e3);
    const hhmm = (d) => d.toISOString().slice(11, 16);
    const end = new Date(Math.min(at.getTime() + 3600e3, Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1)));
    const until = end.getUTCHours() === 0 && end.getUTCMinutes() === 0 ? '24:00' : hhmm(end);
    const w = await workspace(parley.dataDir, 'Abendschule', '--hours', `mon-sun ${hhmm(at)}-${until}`, '--time-zone', 'UTC', '--hours-enabled', 'on');
    const page = await newPage(browser, { locale: 'de-DE', timezoneId: 'UTC' });
    try {
      await page.goto(site.set('/soon', embedPage(parley.url, w.id)));
      await whenReady(page);
      await openWith(page, 'Chat');
      const notice = widget(page).locator('.away');
      await eventually(async () => assert.match(await notice.textContent(), /^Wir sind gerade nicht da\. Wir antworten in 2[45] Minuten\.$/));
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('the chat page speaks German too, with the page\'s lang', async () => {
    const page = await newPage(browser, { locale: 'de-DE' });
    try {
      await page.goto(parley.url + '/chat/' + plain.id);
      await widget(page).getByRole('textbox', { name: 'Nachricht', exact: true }).waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });
});
