// Proves that a Parley HMAC secret ("psk_" + base64url) signs identically in jsrsasign,
// jsonwebtoken and jose, and shows why a bare hex or non-ASCII secret would not.
//
//   node --test tests/interop/selfcheck.mjs      (or: node tests/interop/selfcheck.mjs)

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import jsrsasign from 'jsrsasign';
import jwt from 'jsonwebtoken';
import { ALGS, LIBS, sign, verify } from './jwtlibs.mjs';

const { KJUR } = jsrsasign;
const SIGN_CLI = fileURLToPath(new URL('./sign.mjs', import.meta.url));

// Random bytes in a Parley secret, per algorithm (the hash's output size).
const SECRET_BYTES = { HS256: 32, HS384: 48, HS512: 64 };
const HASH = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

function newParleySecret(alg) {
  return `psk_${randomBytes(SECRET_BYTES[alg]).toString('base64url')}`;
}

// What the vendor sample does: iat = Date.now()/1000, a fraction of a second included.
function fractionalClaims(lifetimeSeconds = 300) {
  let iat = Date.now() / 1000;
  if (Number.isInteger(iat)) iat += 0.25; // a whole millisecond-second would prove nothing
  // iat + 0.5 is whole when iat ends in .5 (one millisecond in a thousand): then exp would prove nothing.
  let exp = iat + lifetimeSeconds + 0.5;
  if (Number.isInteger(exp)) exp += 0.25;
  return {
    sub: 'user-42',
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    iat,
    exp,
  };
}

const others = (lib) => LIBS.filter((l) => l !== lib);
const decodePart = (token, i) => JSON.parse(Buffer.from(token.split('.')[i], 'base64url').toString('utf8'));

// The HMAC a Parley verifier computes: the secret string's UTF-8 bytes as the key.
function parleySignature(token, alg, secret) {
  const [h, p] = token.split('.');
  return createHmac(HASH[alg], Buffer.from(secret, 'utf8')).update(`${h}.${p}`).digest('base64url');
}

async function verifies(args) {
  try {
    await verify(args);
    return true;
  } catch {
    return false;
  }
}

describe('a psk_ secret signs identically in jsrsasign, jsonwebtoken and jose', () => {
  for (const alg of ALGS) {
    for (const lib of LIBS) {
      test(`${alg}: ${lib} signs, ${others(lib).join(' and ')} verify`, async () => {
        const secret = newParleySecret(alg);
        const claims = fractionalClaims();
        const token = await sign({ lib, alg, secret, claims });

        assert.equal(parleySignature(token, alg, secret), token.split('.')[2],
          `${lib} did not key HMAC with the UTF-8 bytes of the secret string`);
        assert.deepEqual(decodePart(token, 1), claims, `${lib} changed the claims`);

        for (const verifier of others(lib)) {
          const got = await verify({ lib: verifier, alg, secret, token });
          assert.equal(got.iat, claims.iat, `${verifier} read a different iat`);
          assert.equal(got.exp, claims.exp, `${verifier} read a different exp`);
          assert.ok(!Number.isInteger(got.iat) && !Number.isInteger(got.exp), 'fractions lost');
        }
      });
    }

    test(`${alg}: all three produce the byte-identical token (with and without kid)`, async () => {
      const secret = newParleySecret(alg);
      const claims = fractionalClaims();
      for (const kid of [undefined, 'k1']) {
        const tokens = await Promise.all(LIBS.map((lib) => sign({ lib, alg, secret, kid, claims })));
        assert.equal(new Set(tokens).size, 1, `tokens differ:\n${tokens.join('\n')}`);
        assert.deepEqual(decodePart(tokens[0], 0), kid === undefined ? { alg, typ: 'JWT' } : { alg, typ: 'JWT', kid });
      }
    });

    test(`${alg}: a wrong secret and an expired fractional exp are refused by every lib`, async () => {
      const secret = newParleySecret(alg);
      const token = await sign({ lib: 'jose', alg, secret, claims: fractionalClaims() });
      const stale = fractionalClaims();
      stale.iat -= 3600;
      stale.exp = stale.iat + 300.5; // well past exp + leeway
      const expired = await sign({ lib: 'jose', alg, secret, claims: stale });
      for (const lib of LIBS) {
        assert.equal(await verifies({ lib, alg, secret: newParleySecret(alg), token }), false, `${lib}: wrong secret accepted`);
        assert.equal(await verifies({ lib, alg, secret, token: expired }), false, `${lib}: expired token accepted`);
        assert.equal(await verifies({ lib, alg: alg === 'HS256' ? 'HS512' : 'HS256', secret, token }), false,
          `${lib}: token accepted for another alg`);
      }
    });
  }

  test('the psk_ format is what Parley documents and never looks like hex to jsrsasign', () => {
    for (const alg of ALGS) {
      for (let i = 0; i < 50; i++) {
        const secret = newParleySecret(alg);
        assert.match(secret, /^psk_[A-Za-z0-9_-]+$/);
        assert.equal(secret.length, 4 + Math.ceil((SECRET_BYTES[alg] * 4) / 3));
        // KJUR.crypto.Mac.setPassword decodes a string as hex iff it is even-length [0-9A-Fa-f]+.
        assert.doesNotMatch(secret, /^[0-9A-Fa-f]+$/);
        const mac = new KJUR.crypto.Mac({ alg: `Hmac${HASH[alg].toUpperCase()}`, pass: secret });
        assert.equal(mac.pass.toString(), Buffer.from(secret, 'utf8').toString('hex'));
      }
    }
  });
});

describe('why the prefix: secrets that do NOT sign identically', () => {
  const alg = 'HS256';

  for (const [what, secret] of [
    ['64 lowercase hex chars', randomBytes(32).toString('hex')],
    ['64 UPPERCASE hex chars', randomBytes(32).toString('hex').toUpperCase()],
    ['64 mIxEd-case hex chars', randomBytes(32).toString('hex').replace(/[a-f]/g, (c, i) => (i % 2 ? c.toUpperCase() : c))],
  ]) {
    test(`an even-length hex secret (${what}) is hex-decoded by jsrsasign only`, async () => {
      const claims = fractionalClaims();
      const fromJsrsasign = await sign({ lib: 'jsrsasign', alg, secret, claims });
      const fromJsonwebtoken = await sign({ lib: 'jsonwebtoken', alg, secret, claims });
      const fromJose = await sign({ lib: 'jose', alg, secret, claims });

      assert.equal(fromJsonwebtoken, fromJose, 'jsonwebtoken and jose agree with each other');
      assert.notEqual(fromJsrsasign, fromJose, 'jsrsasign signs differently');
      assert.equal(await verifies({ lib: 'jsonwebtoken', alg, secret, token: fromJsrsasign }), false);
      assert.equal(await verifies({ lib: 'jose', alg, secret, token: fromJsrsasign }), false);
      assert.equal(await verifies({ lib: 'jsrsasign', alg, secret, token: fromJose }), false);
      assert.notEqual(parleySignature(fromJsrsasign, alg, secret), fromJsrsasign.split('.')[2],
        'a Parley verifier (UTF-8 key) would reject the jsrsasign token');

      // The cause: jsrsasign's key is the 32 decoded bytes, not the 64 characters.
      const decoded = createHmac('sha256', Buffer.from(secret, 'hex'))
        .update(fromJsrsasign.split('.').slice(0, 2).join('.')).digest('base64url');
      assert.equal(decoded, fromJsrsasign.split('.')[2]);
    });
  }

  test('an odd-length hex secret happens to interoperate (jsrsasign reads it as text)', async () => {
    const secret = randomBytes(32).toString('hex').slice(1); // 63 chars
    const claims = fractionalClaims();
    const tokens = await Promise.all(LIBS.map((lib) => sign({ lib, alg, secret, claims })));
    assert.equal(new Set(tokens).size, 1);
  });

  for (const [what, tail] of [
    ['Latin-1 é', 'café'],
    ['BMP €', 'price€'],
    ['astral 😀', 'smile😀'],
  ]) {
    test(`a non-ASCII secret (${what}) diverges: jsrsasign keeps one byte per UTF-16 unit`, async () => {
      const secret = `psk_${randomBytes(8).toString('base64url')}${tail}`;
      const claims = fractionalClaims();
      const fromJsrsasign = await sign({ lib: 'jsrsasign', alg, secret, claims });
      const fromJose = await sign({ lib: 'jose', alg, secret, claims });
      assert.equal(fromJose, await sign({ lib: 'jsonwebtoken', alg, secret, claims }));
      assert.notEqual(fromJsrsasign, fromJose);
      assert.equal(await verifies({ lib: 'jose', alg, secret, token: fromJsrsasign }), false);

      // rstrtohex keeps the low 8 bits of each UTF-16 code unit, which is what Node's 'latin1' does.
      const latin1 = createHmac('sha256', Buffer.from(secret, 'latin1'))
        .update(fromJsrsasign.split('.').slice(0, 2).join('.')).digest('base64url');
      assert.equal(latin1, fromJsrsasign.split('.')[2]);

      // jsrsasign's own way out, for integrators who must use such a secret: pass {utf8: secret}.
      const header = JSON.stringify({ alg, typ: 'JWT' });
      assert.equal(KJUR.jws.JWS.sign(alg, header, JSON.stringify(claims), { utf8: secret }), fromJose);
    });
  }
});

describe('timestamps and headers: what each library does with them', () => {
  const alg = 'HS256';

  test('jsonwebtoken: noTimestamp:true deletes the caller\'s iat; the default keeps it, fraction included', () => {
    const secret = newParleySecret(alg);
    const claims = fractionalClaims();
    const dropped = decodePart(jwt.sign(claims, secret, { algorithm: alg, noTimestamp: true }), 1);
    assert.equal(dropped.iat, undefined, 'noTimestamp:true removed iat');
    assert.equal(dropped.exp, claims.exp, 'exp passes through untouched');
    const kept = decodePart(jwt.sign(claims, secret, { algorithm: alg }), 1);
    assert.deepEqual(kept, claims);
    // ...but `payload.iat || now` means an iat of 0 is silently replaced; sign() refuses that.
    assert.notEqual(decodePart(jwt.sign({ ...claims, iat: 0 }, secret, { algorithm: alg }), 1).iat, 0);
  });

  test('sign() refuses to let a library rewrite claims (jsonwebtoken and iat: 0)', async () => {
    const claims = { ...fractionalClaims(), iat: 0 };
    await assert.rejects(sign({ lib: 'jsonwebtoken', alg, secret: newParleySecret(alg), claims }),
      /jsonwebtoken changed the claims/);
    for (const lib of ['jsrsasign', 'jose']) {
      const token = await sign({ lib, alg, secret: newParleySecret(alg), claims });
      assert.equal(decodePart(token, 1).iat, 0);
    }
  });

  test('sign() keeps a missing iat missing in every library', async () => {
    const { iat, ...claims } = fractionalClaims();
    for (const lib of LIBS) {
      const token = await sign({ lib, alg, secret: newParleySecret(alg), claims });
      assert.equal(decodePart(token, 1).iat, undefined, lib);
    }
  });

  test('jsrsasign verifyJWT with no grace rejects a fresh fractional iat (its clock is whole seconds)', async () => {
    const secret = newParleySecret(alg);
    const claims = fractionalClaims();
    const token = await sign({ lib: 'jose', alg, secret, claims });
    const now = Math.floor(claims.iat); // the same second, as ~~(Date.now()/1000) would read it
    assert.equal(await verifies({ lib: 'jsrsasign', alg, secret, token, at: now, leeway: 0 }), false);
    assert.equal(await verifies({ lib: 'jsrsasign', alg, secret, token, at: now, leeway: 1 }), true);
    // jsonwebtoken and jose only look at iat when asked for a maximum age.
    assert.equal(await verifies({ lib: 'jsonwebtoken', alg, secret, token, at: now, leeway: 0 }), true);
    assert.equal(await verifies({ lib: 'jose', alg, secret, token, at: now, leeway: 0 }), true);
  });

  test('typ: jsonwebtoken adds "JWT" by itself; jsrsasign and jose write only what they are given', async () => {
    const secret = newParleySecret(alg);
    const claims = fractionalClaims();
    assert.deepEqual(decodePart(jwt.sign(claims, secret, { algorithm: alg }), 0), { alg, typ: 'JWT' });
    const bare = KJUR.jws.JWS.sign(alg, JSON.stringify({ alg }), JSON.stringify(claims), secret);
    assert.deepEqual(decodePart(bare, 0), { alg });
  });
});

describe('sign.mjs, the command the Go tests run', () => {
  const run = (input) => spawnSync(process.execPath, [SIGN_CLI], { input, encoding: 'utf8' });

  for (const lib of LIBS) {
    test(`${lib}: prints exactly the token and a newline`, async () => {
      const request = { lib, alg: 'HS384', secret: newParleySecret('HS384'), kid: 'k1', claims: fractionalClaims() };
      const out = run(JSON.stringify(request));
      assert.equal(out.status, 0, out.stderr);
      assert.equal(out.stderr, '');
      assert.equal(out.stdout, `${await sign(request)}\n`);
      assert.match(out.stdout, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
      assert.deepEqual(decodePart(out.stdout.trim(), 0), { alg: 'HS384', typ: 'JWT', kid: 'k1' });
    });
  }

  for (const [what, input, message] of [
    ['unknown lib', JSON.stringify({ lib: 'nope', alg: 'HS256', secret: 'psk_x', claims: {} }), /"lib" must be one of/],
    ['unknown alg', JSON.stringify({ lib: 'jose', alg: 'RS256', secret: 'psk_x', claims: {} }), /"alg" must be one of/],
    ['empty secret', JSON.stringify({ lib: 'jsrsasign', alg: 'HS256', secret: '', claims: {} }), /"secret" must be a non-empty string/],
    ['claims not an object', JSON.stringify({ lib: 'jose', alg: 'HS256', secret: 'psk_x', claims: [] }), /"claims" must be a JSON object/],
    ['not JSON', '{lib:', /not one JSON object/],
    ['jsonwebtoken refusing a string iat', JSON.stringify({ lib: 'jsonwebtoken', alg: 'HS256', secret: 'psk_x', claims: { iat: '1' } }), /"iat" should be a number/],
  ]) {
    test(`${what}: message on stderr, nothing on stdout, exit 1`, () => {
      const out = run(input);
      assert.equal(out.status, 1);
      assert.equal(out.stdout, '');
      assert.match(out.stderr, message);
    });
  }
});
