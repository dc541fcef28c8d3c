// Signing and verifying HS256/384/512 JWTs the way an integrator would with each of the three
// mainstream JavaScript JWT libraries, all keyed by the same secret *string*. Shared by sign.mjs
// (the command the Go interop tests call) and selfcheck.mjs. See README.md for why each call
// looks the way it does.

import jsrsasign from 'jsrsasign';
import jwt from 'jsonwebtoken';
import { SignJWT, jwtVerify } from 'jose';

const { KJUR } = jsrsasign;

export const LIBS = Object.freeze(['jsrsasign', 'jsonwebtoken', 'jose']);
export const ALGS = Object.freeze(['HS256', 'HS384', 'HS512']);

// Parley's leeway on exp/nbf/iat; the verifiers here use the same so they judge tokens alike.
export const LEEWAY_SECONDS = 60;

function isPlainObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkRequest({ lib, alg, secret, kid, claims }) {
  if (!LIBS.includes(lib)) throw new Error(`"lib" must be one of ${LIBS.join(', ')}; got ${JSON.stringify(lib)}`);
  if (!ALGS.includes(alg)) throw new Error(`"alg" must be one of ${ALGS.join(', ')}; got ${JSON.stringify(alg)}`);
  // jsonwebtoken and jose refuse an empty key while jsrsasign would sign with it: refuse it for all.
  if (typeof secret !== 'string' || secret === '') throw new Error('"secret" must be a non-empty string');
  if (kid !== undefined && typeof kid !== 'string') throw new Error('"kid", when given, must be a string');
  if (!isPlainObject(claims)) throw new Error('"claims" must be a JSON object');
}

function header(alg, kid) {
  // Same members in the same order as jsonwebtoken writes them, so all three libraries produce
  // byte-identical tokens for the same input.
  return kid === undefined ? { alg, typ: 'JWT' } : { alg, typ: 'JWT', kid };
}

// Throws unless [lib, alg, secret, claims] is a valid request; returns the compact JWT.
export async function sign({ lib, alg, secret, kid, claims }) {
  checkRequest({ lib, alg, secret, kid, claims });
  let token;
  switch (lib) {
    case 'jsrsasign':
      // As in the Chat for JSM sample: header and payload as JSON strings, the secret string as key.
      token = KJUR.jws.JWS.sign(alg, JSON.stringify(header(alg, kid)), JSON.stringify(claims), secret);
      break;
    case 'jsonwebtoken': {
      const options = { algorithm: alg };
      if (kid !== undefined) options.keyid = kid;
      // noTimestamp:true would *delete* a caller-supplied iat; without it jsonwebtoken keeps the
      // caller's iat (fractions included) and adds floor(now) only when iat is missing. So the
      // idiomatic call (no noTimestamp) is used, and noTimestamp only to keep a missing iat missing.
      if (!Object.hasOwn(claims, 'iat')) options.noTimestamp = true;
      token = jwt.sign(claims, secret, options);
      break;
    }
    case 'jose':
      // jose takes no string keys: the integrator encodes the secret, and TextEncoder is UTF-8.
      token = await new SignJWT(claims)
        .setProtectedHeader(header(alg, kid))
        .sign(new TextEncoder().encode(secret));
      break;
  }
  const signed = Buffer.from(token.split('.')[1], 'base64url').toString('utf8');
  const sent = JSON.stringify(claims);
  if (signed !== sent) {
    // e.g. jsonwebtoken replaces a falsy iat (0) with the current time.
    throw new Error(`${lib} changed the claims while signing: sent ${sent}, signed ${signed}`);
  }
  return token;
}

// Verifies token with lib, accepting only alg, and returns its claims; throws if it does not verify.
// `at` (seconds since the epoch) replaces the clock; `leeway` defaults to Parley's.
export async function verify({ lib, alg, secret, token, at, leeway = LEEWAY_SECONDS }) {
  switch (lib) {
    case 'jsrsasign': {
      const accept = { alg: [alg], gracePeriod: leeway };
      if (at !== undefined) accept.verifyAt = at;
      if (!KJUR.jws.JWS.verifyJWT(token, secret, accept)) {
        throw new Error('jsrsasign: KJUR.jws.JWS.verifyJWT returned false');
      }
      return KJUR.jws.JWS.parse(token).payloadObj;
    }
    case 'jsonwebtoken': {
      const options = { algorithms: [alg], clockTolerance: leeway };
      if (at !== undefined) options.clockTimestamp = at;
      return jwt.verify(token, secret, options);
    }
    case 'jose': {
      const options = { algorithms: [alg], typ: 'JWT', clockTolerance: leeway };
      if (at !== undefined) options.currentDate = new Date(at * 1000);
      const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), options);
      return payload;
    }
    default:
      throw new Error(`unknown lib ${JSON.stringify(lib)}`);
  }
}

// The message of anything thrown: jsrsasign throws plain strings, not Errors.
export function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}
