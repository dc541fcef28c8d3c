// Every snippet of README.md and docs/*.md that touches the widget runs as pasted: each is marked
// <!-- readme-test:widget-NAME -->, put on a page of another website with only its placeholders
// replaced (the Parley address, the workspace id, and the page's tokenFromYourBackEnd variable, also
// served by the site's /parley-token for snippets with a token provider), run in
// Chromium against a real server, and must raise no page error and take effect.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  api, eventually, launchBrowser, launcher, newPage, panel, repoRoot, signToken, startParley, startSite, tokenKey, widget,
  workspace,
} from './harness.mjs';

const DOCS = ['README.md', ...readdirSync(path.join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => 'docs/' + f)];

// snippets returns every fenced block of the docs with its language and its readme-test marker, if any.
function blocks() {
  const out = [];
  for (const file of DOCS) {
    const text = readFileSync(path.join(repoRoot, file), 'utf8');
    const re = /(?:<!-- readme-test:([a-z0-9-]+) -->\s*)?```([a-z]*)\n([\s\S]*?)```/g;
    for (let m; (m = re.exec(text));) out.push({ file, name: m[1] || null, lang: m[2], code: m[3] });
  }
  return out;
}

const widgetSnippets = blocks().filter((b) => b.name?.startsWith('widget-'));

// What each snippet must achieve, beyond loading without errors; a snippet without an entry here must
// at least bring up the widget.
const CHECKS = {
  // README step 3: the queued login signs the visitor in.
  'widget-login': async ({ page, w }) => {
    await widget(page).getByText('Signed in as Ada Lovelace (ada@example.com)').waitFor({ state: 'attached' });
    const token = await page.evaluate((k) => localStorage.getItem(k), tokenKey(w.id));
    const s = await api(page.parleyURL, token, '/v1/widget/session');
    assert.equal(s.data.identity.level, 'verified');
    assert.equal(s.data.identity.email, 'ada@example.com');
  },
  // The stubs: the page's calls made before the widget loaded run once it has.
  'widget-queue': async ({ page }) => {
    await panel(page).waitFor({ state: 'visible' });
    assert.equal(await page.evaluate(() => window.__opened), 'resolved', 'the stub\'s Promise settled');
    await eventually(async () => assert.equal(await page.evaluate(() => window.__ready), 'anonymous'));
  },
  'widget-raw-queue': async ({ page }) => {
    await panel(page).waitFor({ state: 'visible' });
  },
  // The token provider (README step 3, docs/widget.md): the widget asks the site's /parley-token for a
  // token and signs the visitor in.
  'widget-provider': async (args) => CHECKS['widget-token-provider'](args),
  'widget-token-provider': async ({ page, w }) => {
    await widget(page).getByText('Signed in as Ada Lovelace (ada@example.com)').waitFor({ state: 'attached' });
    const token = await page.evaluate((k) => localStorage.getItem(k), tokenKey(w.id));
    const s = await api(page.parleyURL, token, '/v1/widget/session');
    assert.equal(s.data.identity.level, 'verified');
    assert.equal(s.data.identity.email, 'ada@example.com');
  },
};

// What the page of a snippet that only defines the stubs goes on to do with them.
const AFTER = {
  'widget-queue': `<script>
    window.Parley.on('ready', function (id) { window.__ready = id.level; });
    window.Parley.open().then(function () { window.__opened = 'resolved'; });
  </script>`,
};

describe('the widget snippets of the README and docs run as pasted', () => {
  let parley, browser, site, w;
  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Snippet Co');
  });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); });

  test('every HTML snippet that touches the widget is marked to run here', () => {
    const unmarked = blocks().filter((b) => b.lang === 'html' && /widget\.js|Parley/.test(b.code) && !b.name?.startsWith('widget-'));
    assert.deepEqual(unmarked.map((b) => `${b.file}: ${b.code.slice(0, 60)}`), []);
    const names = widgetSnippets.map((b) => b.name);
    for (const name of Object.keys(CHECKS)) assert.ok(names.includes(name), `a snippet marked readme-test:${name}`);
    assert.equal(new Set(names).size, names.length, 'markers are unique');
  });

  // run puts the snippet on a page as pasted and loads it; the widget's loader waits until the page's
  // own scripts have run, as on a slow network, so the calls really are queued.
  async function run(snippet, token) {
    const code = snippet.code.replaceAll('https://chat.example.com', parley.url).replaceAll('ws_…', w.id).replaceAll('WORKSPACE_ID', w.id);
    assert.ok(!/chat\.example\.com|ws_…/.test(code), 'every placeholder replaced');
    const needsWidget = !code.includes('/widget.js');
    const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Snippet ${snippet.name}</title>
<script>var tokenFromYourBackEnd = ${JSON.stringify(token)};</script>
</head>
<body>
<main><h1>A page with the ${snippet.name} snippet</h1></main>
${code}
${AFTER[snippet.name] || ''}
${needsWidget ? `<script src="${parley.url}/widget.js" data-workspace="${w.id}" async></script>` : ''}
</body>
</html>`;
    site.set('/parley-token', JSON.stringify({ token })); // the site's back end, for a token provider
    const page = await newPage(browser);
    page.parleyURL = parley.url;
    page.warnings = [];
    page.on('console', (m) => { if (m.type() === 'warning') page.warnings.push(m.text()); });
    let release;
    const released = new Promise((r) => { release = r; });
    await page.route(parley.url + '/widget.js', async (route) => { await released; await route.continue(); });
    await page.goto(site.set('/' + snippet.name + '-' + Math.random().toString(36).slice(2), html), { waitUntil: 'domcontentloaded' });
    release();
    await launcher(page).waitFor({ state: 'visible' });
    return page;
  }

  for (const snippet of widgetSnippets) {
    test(`${snippet.file}: ${snippet.name}`, async () => {
      const page = await run(snippet, signToken(w, { sub: 'u-ada', email: 'ada@example.com', name: 'Ada Lovelace' }));
      try {
        await (CHECKS[snippet.name] || (() => {}))({ page, w });
        assert.deepEqual(page.errors, [], 'no page errors');
        assert.deepEqual(page.warnings, [], 'no warnings');
      } finally {
        await page.context().close();
      }
    });
  }

  test('README step 3 with a token the server refuses: the error reaches the page\'s catch, not the console as an uncaught error', async () => {
    const snippet = widgetSnippets.find((b) => b.name === 'widget-login');
    const forged = signToken({ kid: w.kid, secret: 'psk_not-the-real-secret-at-all-0000000000000' }, { sub: 'u-eve', email: 'eve@example.com' });
    const page = await run(snippet, forged);
    try {
      await widget(page).getByText('Hi there!').waitFor({ state: 'attached' });
      await eventually(() => assert.equal(page.warnings.length, 1, 'the snippet\'s catch ran'));
      assert.match(page.warnings[0], /^token_bad_signature /);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });
});
