// Verifies a recorded webhook with the Standard Webhooks reference package.
// usage: node verify_signature.js SECRET BODY_FILE HEADERS_JSON_FILE
// Exits 0 when the signature verifies, 1 when it does not.
'use strict';
const fs = require('fs');
const { Webhook } = require('standardwebhooks');

const [secret, bodyFile, headersFile] = process.argv.slice(2);
const body = fs.readFileSync(bodyFile, 'utf8');
const headers = JSON.parse(fs.readFileSync(headersFile, 'utf8'));
try {
  new Webhook(secret).verify(body, headers);
  process.exit(0);
} catch (e) {
  process.stderr.write(`not verified: ${e.message}\n`);
  process.exit(1);
}
