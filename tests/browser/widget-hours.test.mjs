// Business hours and transcripts in the widget. A workspace keeps Berlin hours (mon-fri 09:00-17:00) and
// the server's clock is moved out of them (PARLEY_CLOCK_OFFSET_FILE): a visitor in New York and one in
// Tokyo read the away notice with the next opening in their own zone (the exact text Intl gives in Node
// for the same instant and zone), with the date once it is more than six days ahead, and can still send;
// "hide" mode hides the launcher from a new visitor but not from one with an open conversation, and the
// chat page shows the panel with the notice; the notice goes when the clock moves into opening hours,
// by the widget's own timer and on visibilitychange. Transcripts: the downloaded text has the
// conversation and no internal note; "Email me this conversation" is offered to a verified customer only
// and says "Email isn't available." on a server without SMTP, or where it goes on one with it; a
// transcript is written in the language the widget speaks.
// axe-core and the keyboard throughout.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  api, axeViolations, bubbles, cli, consoleAgent, createAgent, embedPage, eventually, launchBrowser, launcher, messageBox,
  newPage, openChat, panel, screenshot, send, signToken, startParley, startSite, tokenKey, waitForBubble, whenReady,
  widget, widgetLogin, workspace,
} from './harness.mjs';

const HOURS = ['--hours', 'mon-fri 09:00-17:00', '--time-zone', 'Europe/Berlin', '--hours-enabled', 'on'];
const DAY = 86400e3;

const awayNotice = (page) => widget(page).locator('.away');

// expected is the notice for next_open as Intl words it in Node, for the visitor's zone and locale.
function expected(nextOpen, timeZone, now, locale = 'en-GB') {
  const o = { weekday: 'long', hour: '2-digit', minute: '2-digit', timeZone };
  if (Date.parse(nextOpen) - now > 6 * DAY) { o.day = 'numeric'; o.month = 'long'; }
  return "We're away. We'll answer from " + new Intl.DateTimeFormat(locale, o).format(new Date(nextOpen)) + '.';
}

const berlin = (t, o) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', ...o }).format(new Date(t));

// nextSunday is noon UTC of the Sunday at least a day after now: out of hours in Berlin, opening on
// the Monday after.
function nextSunday(now) {
  const d = new Date(now + DAY);
  d.setUTCHours(12, 0, 0, 0);
  while (d.getUTCDay() !== 0) d.setTime(d.getTime() + DAY);
  return d.getTime();
}

describe('business hours in the widget', () => {
  let parley, browser, site, clockFile;
  let offset = 0;
  before(async () => {
    clockFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'parley-clock-')), 'offset');
    writeFileSync(clockFile, '');
    [parley, browser, site] = await Promise.all([
      startParley({ demo: false, env: { PARLEY_CLOCK_OFFSET_FILE: clockFile } }), launchBrowser(), startSite()]);
  });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); });

  const serverNow = () => Date.now() + offset;

  // config is the widget config a new session of the workspace gets now.
  async function config(ws) {
    const s = await api(parley.url, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: ws }) });
    assert.equal(s.status, 201, JSON.stringify(s.data));
    return s.data.config;
  }

  // setClock moves the server's clock to the instant t and waits until its config says open as given.
  async function setClock(ws, t, open) {
    offset = t - Date.now();
    writeFileSync(clockFile, Math.round(offset / 1000) + 's');
    return eventually(async () => {
      const c = await config(ws);
      assert.equal(c.hours.open, open, 'the server runs on the new clock');
      return c;
    });
  }

  // visitor opens the site in a browser of the given zone, its page clock running with the server's.
  async function visitor(ws, timezoneId, { token, locale = 'en-GB' } = {}) {
    const page = await newPage(browser, { timezoneId, locale });
    await page.clock.install({ time: new Date(serverNow()) });
    if (token) await page.addInitScript(([k, v]) => localStorage.setItem(k, v), [tokenKey(ws), token]);
    await page.goto(site.set('/' + ws + '-' + timezoneId.replace('/', '-'), embedPage(parley.url, ws, { title: 'Opening hours' })));
    await whenReady(page);
    return page;
  }

  test('out of hours: the away notice in New York and Tokyo time, announced as a status, messages still sent', async () => {
    const w = await workspace(parley.dataDir, 'Berlin Bikes', ...HOURS);
    const c = await setClock(w.id, nextSunday(Date.now()), false);
    assert.equal(c.hours.enabled, true);
    assert.equal(c.hours.mode, 'away');
    assert.equal(c.hours.time_zone, 'Europe/Berlin');
    assert.equal(berlin(c.hours.next_open, { weekday: 'long', hour: '2-digit', minute: '2-digit' }), 'Monday 09:00', 'the server opens on Monday at 09:00 Berlin time');

    for (const zone of ['America/New_York', 'Asia/Tokyo']) {
      const page = await visitor(w.id, zone);
      try {
        // The keyboard: Tab reaches the launcher, Enter opens the panel with the focus in the message box,
        // which the notice describes.
        await page.keyboard.press('Tab');
        assert.equal(await launcher(page).evaluate((el) => el.getRootNode().activeElement === el), true, 'Tab reaches the launcher');
        await page.keyboard.press('Enter');
        await panel(page).waitFor({ state: 'visible' });
        const want = expected(c.hours.next_open, zone, serverNow());
        await eventually(async () => assert.equal(await awayNotice(page).textContent(), want));
        assert.match(want, zone === 'Asia/Tokyo' ? /Monday 17:00|Monday 16:00/ : /Monday 0[23]:00/, 'Berlin 09:00 in ' + zone);
        assert.equal(await awayNotice(page).getAttribute('role'), 'status');
        assert.equal(await widget(page).getByRole('status').filter({ hasText: "We're away." }).count(), 1);
        assert.equal(await messageBox(page).evaluate((el) => el.getRootNode().activeElement === el), true, 'the focus is in the message box');
        assert.equal(await messageBox(page).getAttribute('aria-describedby'), 'parley-away');
        // Announced once: the text node is not rewritten when the widget redraws.
        await awayNotice(page).evaluate((el) => {
          window.__rewrites = 0;
          new MutationObserver((m) => { window.__rewrites += m.length; }).observe(el, { childList: true, characterData: true, subtree: true });
        });
        await send(page, 'Is the shop open on Monday? (' + zone + ')');
        // Shown again, the page reads the config again and redraws: the same notice stays as it was.
        await Promise.all([page.waitForResponse((r) => r.url().endsWith('/v1/widget/session')),
          page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')))]);
        await page.evaluate(() => new Promise((r) => setTimeout(r, 200)));
        assert.equal(await page.evaluate(() => window.__rewrites), 0, 'the notice was not rewritten');
        assert.equal(await awayNotice(page).textContent(), want);
        assert.deepEqual(await axeViolations(page), [], 'axe-core with the away notice');
        if (zone === 'America/New_York') await screenshot(page, 'widget-away');
        assert.deepEqual(page.errors, []);
      } finally {
        await page.context().close();
      }
    }
  });

  test('the business\'s own away notice, in the visitor\'s language, still says when the team is back in theirs', async () => {
    const w = await workspace(parley.dataDir, 'Berlin Books', ...HOURS, '--away-notice', 'The shop is closed.');
    await cli(parley.dataDir, 'workspace', 'update', '--workspace', w.id, '--locale', 'de', '--away-notice', 'Der Laden ist zu.');
    const c = await setClock(w.id, nextSunday(Date.now()), false);
    const when = (locale) => new Intl.DateTimeFormat(locale, { weekday: 'long', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Berlin' })
      .format(new Date(c.hours.next_open));
    for (const [locale, want] of [
      ['en-GB', 'The shop is closed. We\'ll answer from ' + when('en-GB') + '.'],
      ['de-DE', 'Der Laden ist zu. Wir antworten ab ' + when('de-DE') + '.'],
    ]) {
      const page = await visitor(w.id, 'Europe/Berlin', { locale });
      try {
        await openChat(page);
        await eventually(async () => assert.equal(await awayNotice(page).textContent(), want));
        assert.deepEqual(page.errors, []);
      } finally {
        await page.context().close();
      }
    }
  });

  test('the date is added when the next opening is more than six days ahead, and none at all says "as soon as we can"', async () => {
    const sunday = nextSunday(Date.now());
    // Closed all of the following week: the next opening is the Monday after, eight days away.
    const week = [1, 2, 3, 4, 5].map((i) => new Date(sunday + i * DAY).toISOString().slice(0, 10));
    const w = await workspace(parley.dataDir, 'Long Holiday', ...HOURS, '--holidays', week.join(','));
    const c = await setClock(w.id, sunday, false);
    assert.ok(Date.parse(c.hours.next_open) - sunday > 6 * DAY, 'the next opening is more than six days ahead');
    const page = await visitor(w.id, 'Asia/Tokyo');
    try {
      await openChat(page);
      const want = expected(c.hours.next_open, 'Asia/Tokyo', serverNow());
      assert.match(want, /Monday \d+ \w+ at 1[67]:00/, 'with the date');
      await eventually(async () => assert.equal(await awayNotice(page).textContent(), want));
    } finally {
      await page.context().close();
    }

    const closed = await workspace(parley.dataDir, 'Never Open', '--hours', '', '--time-zone', 'Europe/Berlin', '--hours-enabled', 'on');
    assert.equal((await config(closed.id)).hours.next_open, '');
    const p2 = await visitor(closed.id, 'America/New_York');
    try {
      await openChat(p2);
      await eventually(async () => assert.equal(await awayNotice(p2).textContent(), "We're away. We'll answer as soon as we can."));
      await send(p2, 'Anyone there?');
    } finally {
      await p2.context().close();
    }
  });

  test('hide mode: no launcher for a new visitor, the launcher for one with an open conversation, the chat page with the notice', async () => {
    const w = await workspace(parley.dataDir, 'Hidden Hours', ...HOURS, '--out-of-hours', 'hide');
    const c = await setClock(w.id, nextSunday(Date.now()), false);
    assert.equal(c.hours.mode, 'hide');

    const fresh = await visitor(w.id, 'America/New_York');
    try {
      assert.equal(await widget(fresh).getAttribute('data-hidden'), '', 'the widget is hidden');
      assert.equal(await launcher(fresh).isVisible(), false, 'no launcher');
      await fresh.evaluate(() => window.Parley.open());
      assert.equal(await panel(fresh).isVisible(), false, 'Parley.open() does not show a hiding widget');
      assert.deepEqual(fresh.errors, []);
    } finally {
      await fresh.context().close();
    }

    // A visitor who wrote before (the server takes messages out of hours) has an open conversation.
    const s = await api(parley.url, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: w.id }) });
    const token = s.data.session_token;
    const m = await api(parley.url, token, '/v1/widget/messages', { method: 'POST', body: JSON.stringify({ body: 'Still there?', client_id: 'c-hide-1' }) });
    assert.equal(m.status, 201, JSON.stringify(m.data));
    const known = await visitor(w.id, 'America/New_York', { token });
    try {
      await launcher(known).waitFor({ state: 'visible' });
      await openChat(known);
      await waitForBubble(known, (b) => b.text === 'Still there?', 'the earlier message');
      assert.equal(await awayNotice(known).textContent(), expected(c.hours.next_open, 'America/New_York', serverNow()));
      assert.deepEqual(await axeViolations(known), []);
    } finally {
      await known.context().close();
    }

    // The chat page always shows its panel: the notice instead of hiding.
    const page = await newPage(browser, { timezoneId: 'Asia/Tokyo', locale: 'en-GB' });
    try {
      await page.clock.install({ time: new Date(serverNow()) });
      await page.goto(parley.url + '/chat/' + w.id);
      await eventually(async () => assert.equal(await awayNotice(page).textContent(), expected(c.hours.next_open, 'Asia/Tokyo', serverNow())));
      assert.equal(await messageBox(page).isVisible(), true);
    } finally {
      await page.context().close();
    }
  });

  test('the notice goes when the clock moves into opening hours: by the widget\'s timer, and on visibilitychange', async () => {
    const w = await workspace(parley.dataDir, 'Opening Soon', ...HOURS);
    const first = await setClock(w.id, nextSunday(Date.now()), false);
    const opens = Date.parse(first.hours.next_open);
    await setClock(w.id, opens - 20e3, false);

    // The timer: both clocks move past the opening; the widget asks again by itself.
    const ny = await visitor(w.id, 'America/New_York');
    const tokyo = await visitor(w.id, 'Asia/Tokyo');
    try {
      await openChat(ny);
      await openChat(tokyo);
      await eventually(async () => assert.match(await awayNotice(ny).textContent(), /^We're away/));
      await eventually(async () => assert.match(await awayNotice(tokyo).textContent(), /^We're away/));
      const c = await setClock(w.id, opens + 30e3, true);
      assert.ok(c.hours.closes_at, 'open until 17:00');
      await ny.clock.fastForward(60e3);
      await eventually(async () => assert.equal(await awayNotice(ny).isVisible(), false, 'the notice is gone'));
      assert.equal(await awayNotice(ny).textContent(), '');
      assert.equal(await messageBox(ny).getAttribute('aria-describedby'), null);

      // Shown again: the Tokyo tab asks on visibilitychange, its clock untouched.
      assert.match(await awayNotice(tokyo).textContent(), /^We're away/, 'no timer fired in Tokyo yet');
      await tokyo.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
      await eventually(async () => assert.equal(await awayNotice(tokyo).isVisible(), false, 'the notice is gone'));
      await send(tokyo, 'Good morning');
      assert.deepEqual(await axeViolations(tokyo), []);
      assert.deepEqual([...ny.errors, ...tokyo.errors], []);
    } finally {
      await ny.context().close();
      await tokyo.context().close();
    }
  });
});

describe('transcripts in the widget', () => {
  let parley, mailing, browser, site;
  before(async () => {
    [parley, browser, site] = await Promise.all([startParley({ demo: false }), launchBrowser(), startSite()]);
  });
  after(async () => { await browser?.close(); await site?.close(); await parley?.close(); await mailing?.close(); });

  const download = (page) => widget(page).getByRole('button', { name: 'Download conversation', exact: true });
  const emailMe = (page) => widget(page).getByRole('button', { name: 'Email me this conversation', exact: true });
  const toolsNote = (page) => widget(page).locator('.tools-note');

  // agentPost posts a console form (reply or note) as the signed-in agent's page does.
  function agentPost(agentPage, convID, kind, body) {
    return agentPage.evaluate(async ([id, k, text]) => {
      const csrf = document.querySelector('meta[name="parley-csrf"]').content;
      const res = await fetch('/console/conversations/' + encodeURIComponent(id) + '/' + k, {
        method: 'POST', body: new URLSearchParams({ csrf, body: text, client_id: k + '-' + Math.random() }),
      });
      return res.status;
    }, [convID, kind, body]);
  }

  test('download: the conversation as text, no internal note; no email button for an anonymous visitor', async () => {
    const w = await workspace(parley.dataDir, 'Transcript Co');
    const sam = await createAgent(parley.dataDir, w.id, { email: 'sam@transcript.example', name: 'Sam Agent' });
    const page = await newPage(browser);
    try {
      await page.goto(site.set('/t1', embedPage(parley.url, w.id)));
      await whenReady(page);
      await openChat(page);
      assert.equal(await download(page).isVisible(), false, 'nothing to download before the first message');
      const sent = await send(page, 'Where is my order #1234?');
      await download(page).waitFor();
      assert.equal(await emailMe(page).isVisible(), false, 'no email for an anonymous visitor');

      const agent = await (await consoleAgent(browser, parley.url, sam)).tab();
      await agent.goto(parley.url + '/console/conversations/' + encodeURIComponent(sent.conversation));
      assert.ok((await agentPost(agent, sent.conversation, 'note', 'SECRET NOTE: customer is a reseller')) < 400);
      assert.ok((await agentPost(agent, sent.conversation, 'reply', 'It ships tomorrow.')) < 400);
      await agent.reload();
      await agent.locator('li[data-internal]').filter({ hasText: 'SECRET NOTE' }).waitFor();
      await waitForBubble(page, (b) => b.sender === 'agent' && b.text === 'It ships tomorrow.', 'the reply');

      // By keyboard: focus the button, Enter.
      await download(page).focus();
      const [file] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
      assert.equal(file.suggestedFilename(), 'conversation.txt');
      const text = readFileSync(await file.path(), 'utf8');
      assert.match(text, /^Conversation with Transcript Co\n/);
      assert.match(text, /You:\nWhere is my order #1234\?\n/);
      assert.match(text, /Sam Agent:\nIt ships tomorrow\.\n/);
      assert.doesNotMatch(text, /SECRET NOTE/, 'no internal note');
      assert.deepEqual(await axeViolations(page), []);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('download in the widget\'s language: a German browser gets the transcript in German', async () => {
    const w = await workspace(parley.dataDir, 'Sprach Co');
    const page = await newPage(browser, { locale: 'de-DE' });
    try {
      await page.goto(site.set('/t-de', embedPage(parley.url, w.id)));
      await whenReady(page);
      await openChat(page);
      // Typed and sent by keyboard, in German.
      await widget(page).getByRole('textbox', { name: 'Nachricht', exact: true }).fill('Wo ist meine Bestellung?');
      await page.keyboard.press('Enter');
      await waitForBubble(page, (b) => b.sender === 'customer' && b.state === 'sent' && b.text === 'Wo ist meine Bestellung?', 'the message');
      const button = widget(page).getByRole('button', { name: 'Unterhaltung herunterladen', exact: true });
      await button.focus();
      const [file] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
      const text = readFileSync(await file.path(), 'utf8');
      assert.match(text, /^Unterhaltung mit Sprach Co\nBegonnen am \d\d\.\d\d\.\d{4} \d\d:\d\d UTC\n/);
      assert.match(text, /\] Sie:\nWo ist meine Bestellung\?\n/);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });

  test('email: offered to a verified customer only; without SMTP "Email isn\'t available."; with it, where it goes', async () => {
    const w = await workspace(parley.dataDir, 'Mail Co');
    const page = await newPage(browser);
    try {
      await page.goto(site.set('/t2', embedPage(parley.url, w.id)));
      await whenReady(page);
      const r = await widgetLogin(page, signToken(w, { sub: 'u-ada', email: 'ada@example.com', name: 'Ada Lovelace' }));
      assert.equal(r.ok, true, JSON.stringify(r));
      await openChat(page);
      await send(page, 'Please send me this chat');
      await emailMe(page).waitFor();
      await emailMe(page).focus();
      await page.keyboard.press('Enter');
      await eventually(async () => assert.equal(await toolsNote(page).textContent(), "Email isn't available."));
      assert.equal(await toolsNote(page).getAttribute('aria-live'), 'polite');
      assert.deepEqual(await axeViolations(page), []);

      // Signed out: anonymous again, no conversation, no buttons.
      await page.evaluate(() => window.Parley.logout());
      await eventually(async () => assert.equal(await download(page).isVisible(), false));
      assert.equal(await emailMe(page).isVisible(), false);
      assert.equal((await bubbles(page)).length, 0);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }

    // A server that sends email (the SMTP server is never reached: the job runs later) says where.
    mailing = await startParley({ demo: false, extraArgs: ['--smtp-url', 'smtp://127.0.0.1:9', '--mail-from', 'support@mail.example', '--public-url', 'http://127.0.0.1:9'] });
    const w2 = await workspace(mailing.dataDir, 'Mail Co');
    const p2 = await newPage(browser);
    try {
      await p2.goto(site.set('/t3', embedPage(mailing.url, w2.id)));
      await whenReady(p2);
      const r = await widgetLogin(p2, signToken(w2, { sub: 'u-ada', email: 'ada@example.com', name: 'Ada Lovelace' }));
      assert.equal(r.ok, true, JSON.stringify(r));
      await openChat(p2);
      await send(p2, 'Mail it to me');
      await emailMe(p2).click();
      await eventually(async () => assert.equal(await toolsNote(p2).textContent(), "We'll email this conversation to ada@example.com."));
      assert.deepEqual(p2.errors, []);
    } finally {
      await p2.context().close();
    }
  });
});
