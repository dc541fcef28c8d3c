// The audit trail as an administrator uses it: they rename the workspace and make an agent an
// administrator, open the trail from the console's navigation, filter it by action with the keyboard,
// read the old → new of each change with who made it and from where, and export the filtered trail as
// CSV through the browser's download.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';

import { axeViolations, consoleAgent, createAgent, launchBrowser, screenshot, startParley, workspace } from './harness.mjs';

describe('agent console: the audit trail', () => {
  let parley, browser, w, admin, bob;

  before(async () => {
    [parley, browser] = await Promise.all([startParley({ demo: false }), launchBrowser()]);
    w = await workspace(parley.dataDir, 'Audit Co');
    admin = await createAgent(parley.dataDir, w.id, { email: 'ada@audit.example', name: 'Ada Admin', role: 'admin' });
    bob = await createAgent(parley.dataDir, w.id, { email: 'bob@audit.example', name: 'Bob Agent', role: 'agent' });
  });
  after(async () => {
    await browser?.close(); await parley?.close();
  });

  test('changes show old → new with who and where; the filter and the CSV export agree', async () => {
    const page = await (await consoleAgent(browser, parley.url, admin)).tab();
    await page.setViewportSize({ width: 1400, height: 900 });

    // A setting and an agent's role, changed as an administrator does.
    await page.goto(parley.url + '/console/settings');
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Audit & Co');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').first().waitFor();
    await page.goto(parley.url + '/console/settings/agents');
    await page.getByRole('combobox', { name: 'Role of Bob Agent' }).selectOption('admin');
    await page.getByRole('row').filter({ hasText: 'bob@audit.example' }).getByRole('button', { name: 'Change role' }).click();
    await page.getByRole('status').first().waitFor();

    // The trail, from the navigation.
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Audit trail' }).click();
    await page.getByRole('heading', { name: 'Audit trail', level: 1 }).waitFor();
    const table = page.getByRole('table', { name: /audit events/i });
    const rows = async () => table.locator('tbody tr[data-audit-action]').evaluateAll((trs) => trs.map((tr) => ({
      action: tr.dataset.auditAction, cells: [...tr.cells].map((c) => c.textContent.replace(/\s+/g, ' ').trim()),
    })));
    const everything = await rows();
    const actions = everything.map((r) => r.action);
    for (const a of ['settings.changed', 'agent.role_changed', 'agent.created', 'signin.succeeded']) {
      assert.ok(actions.includes(a), `the trail has ${a}: ${actions}`);
    }
    const created = everything.filter((r) => r.action === 'agent.created');
    assert.ok(created.every((r) => r.cells[1] === 'cli'), `agents made with parley agent create are the CLI's: ${JSON.stringify(created)}`);

    // Filter with the keyboard: the action select, then Enter in the "Who" field submits.
    const action = page.getByRole('combobox', { name: 'Action' });
    await action.focus();
    await action.selectOption({ label: 'Role changed' });
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.getByRole('searchbox', { name: 'Who' }).evaluate((el) => el === document.activeElement), true, 'Shift+Tab reaches "Who"');
    await page.keyboard.type('ada@');
    await page.keyboard.press('Enter');
    await page.waitForURL(/action=agent\.role_changed/);
    let shown = await rows();
    assert.equal(shown.length, 1, JSON.stringify(shown));
    const [time, who, what, target, detail, addr] = shown[0].cells;
    assert.match(time, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    assert.equal(who, `agent ${admin.id} (ada@audit.example)`);
    assert.equal(what, 'Role changed agent.role_changed');
    assert.equal(target, bob.id);
    assert.equal(detail, 'agent → admin (bob@audit.example)');
    assert.equal(addr, '127.0.0.1');
    assert.deepEqual(await axeViolations(page), [], 'the audit trail, filtered');
    await screenshot(page, 'console-audit');

    // A whole group: every settings change.
    await action.selectOption({ label: 'Any settings action' });
    await page.getByRole('searchbox', { name: 'Who' }).fill('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=settings\./);
    shown = await rows();
    assert.deepEqual(shown.map((r) => r.cells[4]), ['name: "Audit Co" → "Audit & Co"'], 'saving the form with one change records that change alone');
    assert.equal(await page.getByText('Dates are whole days in UTC', { exact: false }).count(), 1, 'the page says the dates are UTC');
    assert.equal(await page.getByLabel('From (UTC)').getAttribute('type'), 'date');

    // Export CSV: the download holds the same rows, with a header.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    assert.match(download.suggestedFilename(), /^parley-audit-.+\.csv$/);
    const csv = await readFile(await download.path(), 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    assert.equal(lines[0], 'time_utc,actor,action,action_label,target,detail,address');
    assert.equal(lines.length, 2, csv);
    assert.match(lines[1], new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ,agent ${admin.id} \\(ada@audit.example\\),settings.changed,Setting changed,name,"name: ""Audit Co"" → ""Audit & Co""",127.0.0.1$`));
    assert.deepEqual(page.errors, []);
  });

  test('a plain agent cannot open or export the trail', async () => {
    const carol = await createAgent(parley.dataDir, w.id, { email: 'carol@audit.example', name: 'Carol Agent', role: 'agent' });
    const page = await (await consoleAgent(browser, parley.url, carol)).tab();
    for (const path of ['/console/settings/audit', '/console/settings/audit.csv']) {
      const res = await page.request.get(parley.url + path);
      assert.equal(res.status(), 403, path);
    }
  });
});
