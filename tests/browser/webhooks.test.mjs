// Webhook signatures checked by the Standard Webhooks reference verifier (the npm standardwebhooks
// package), against the real binary: events of a widget conversation, and a secret rotation during
// which every delivery verifies with the old secret and with the new one. No browser needed.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';

import { Webhook } from 'standardwebhooks';

import { api, cli, eventually, startParley } from './harness.mjs';

let parley;
let receiver;
let ws;
const received = []; // { headers, body }

before(async () => {
  parley = await startParley({ demo: false, extraArgs: ['--webhook-allow-networks', '127.0.0.0/8'] });
  receiver = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204, { Connection: 'close' }).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  ({ id: ws } = await cli(parley.dataDir, 'workspace', 'create', '--name', 'Hooks'));
});

after(async () => {
  receiver?.closeAllConnections();
  receiver?.close();
  await parley?.close();
});

const hookURL = () => `http://127.0.0.1:${receiver.address().port}/hook`;
const ofType = (type) => received.filter((r) => JSON.parse(r.body).type === type);

test('every delivery verifies with the reference verifier; a tampered one does not', { timeout: 60000 }, async () => {
  const hook = await cli(parley.dataDir, 'webhook', 'create', '--workspace', ws, '--url', hookURL(),
    '--events', 'conversation.created,message.created');
  assert.match(hook.secret, /^whsec_/);
  const session = await api(parley.url, null, '/v1/widget/sessions', { method: 'POST', body: JSON.stringify({ workspace: ws }) });
  assert.equal(session.status, 201);
  const sent = await api(parley.url, session.data.session_token, '/v1/widget/messages', { method: 'POST', body: JSON.stringify({ body: 'Hello, hooks' }) });
  assert.equal(sent.status, 201);
  await eventually(() => assert.equal(ofType('message.created').length + ofType('conversation.created').length, 2));

  const wh = new Webhook(hook.secret);
  for (const r of received) {
    const payload = wh.verify(r.body, r.headers);
    assert.ok(['conversation.created', 'message.created'].includes(payload.type));
    assert.match(r.headers['webhook-id'], /^msg_/);
  }
  const msg = wh.verify(ofType('message.created')[0].body, ofType('message.created')[0].headers);
  assert.equal(msg.data.body, 'Hello, hooks');
  assert.equal(msg.data.sender, 'customer');
  assert.equal(msg.data.trusted, false);
  assert.equal(msg.data.identity_level, 'anonymous');

  const r = received[0];
  assert.throws(() => wh.verify(r.body.replace('}', ' }'), r.headers), /signature/i);
  assert.throws(() => new Webhook('whsec_' + Buffer.alloc(32, 7).toString('base64')).verify(r.body, r.headers), /signature/i);
});

test('during a rotation both the old and the new secret verify every delivery', { timeout: 60000 }, async () => {
  const hook = await cli(parley.dataDir, 'webhook', 'create', '--workspace', ws, '--url', hookURL() + '?rotation');
  const rotated = await cli(parley.dataDir, 'webhook', 'rotate', '--workspace', ws, '--id', hook.id);
  assert.notEqual(rotated.secret, hook.secret);
  const { webhook_id: wid } = await cli(parley.dataDir, 'webhook', 'test', '--workspace', ws, '--id', hook.id);
  await eventually(() => assert.ok(received.some((r) => r.headers['webhook-id'] === wid)), { timeout: 15000 });
  const r = received.find((x) => x.headers['webhook-id'] === wid);
  assert.equal(r.headers['webhook-signature'].split(' ').length, 2);
  for (const secret of [hook.secret, rotated.secret]) {
    const payload = new Webhook(secret).verify(r.body, r.headers);
    assert.equal(payload.type, 'webhook.test');
    assert.equal(payload.data.endpoint_id, hook.id);
  }
});
