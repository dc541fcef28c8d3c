// The greeting names the visitor by identity.first_name, which the server chooses (the token's
// given_name, else the name without honorifics); the widget never guesses a word of the name itself.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  embedPage, launchBrowser, newPage, openChat, shadowText, signToken, startParley, startSite, whenReady,
  widgetLogin, workspace,
} from './harness.mjs';

describe('the greeting', () => {
  let parley, browser, site, w;
  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
    w = await workspace(parley.dataDir, 'Greeting Co');
  });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); });

  test('by first_name only: "Hi Grace!" for Dr. Grace Hopper, "Hi there!" for Mr Smith, never "Hi Mr!"', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(site.set('/greeting', embedPage(parley.url, w.id, { title: 'Greeting Co' })));
      await whenReady(page);
      await openChat(page);
      const cases = [
        [{ sub: 'u-grace', email: 'grace@example.com', name: 'Dr. Grace Hopper' }, 'Hi Grace!'],
        [{ sub: 'u-ada', email: 'ada@example.com', name: 'Lovelace, Ada', given_name: 'Ada' }, 'Hi Ada!'],
        [{ sub: 'u-smith', email: 'smith@example.com', name: 'Mr Smith' }, 'Hi there!'],
        [{ sub: 'u-anon', email: 'nobody@example.com' }, 'Hi there!'],
      ];
      for (const [claims, greeting] of cases) {
        const r = await widgetLogin(page, signToken(w, claims));
        assert.ok(r.ok, JSON.stringify(r));
        assert.equal(r.identity.first_name ? `Hi ${r.identity.first_name}!` : 'Hi there!', greeting, `the server's first_name for ${claims.name}`);
        assert.deepEqual(await shadowText(page, '.hello'), [greeting], `the greeting for ${JSON.stringify(claims)}`);
      }
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });
});
