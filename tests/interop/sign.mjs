#!/usr/bin/env node
// Reads one JSON object from stdin:
//   {"lib": "jsrsasign"|"jsonwebtoken"|"jose", "alg": "HS256"|"HS384"|"HS512",
//    "secret": "psk_…", "kid": "…" (optional), "claims": {…}}
// and prints the compact JWT that library makes, followed by a newline, on stdout.
// On any error it prints the message on stderr and exits 1.
//
//   echo '{"lib":"jose","alg":"HS256","secret":"psk_x","claims":{"sub":"u1"}}' | node tests/interop/sign.mjs

import { sign, messageOf } from './jwtlibs.mjs';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

try {
  const input = await readStdin();
  let request;
  try {
    request = JSON.parse(input);
  } catch (err) {
    throw new Error(`stdin is not one JSON object: ${messageOf(err)}`);
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new Error('stdin must hold one JSON object');
  }
  process.stdout.write(`${await sign(request)}\n`);
} catch (err) {
  process.stderr.write(`sign.mjs: ${messageOf(err)}\n`);
  process.exitCode = 1;
}
