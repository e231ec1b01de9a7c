// FCM HTTP v1 against a local stand-in (node http2 over TLS) for both the
// OAuth token endpoint and messages:send. The stand-in verifies the RS256
// assertion with the service account's public key and its claims, hands
// out short-lived access tokens, checks every send's bearer token and
// message shape, and answers the error cases PROTOCOLS.md lists.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Herald, makeCert, tempDir, cleanup, verifyJwt } from './lib.mjs';

const PROJECT = 'harbour-app';
const EMAIL = 'herald@harbour-app.iam.gserviceaccount.com';
const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

function fcmError(status, code, errorCode, extra = {}) {
  const details = errorCode ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] : [];
  if (extra.field)
    details.push({ '@type': 'type.googleapis.com/google.rpc.BadRequest',
                   fieldViolations: [{ field: extra.field, description: 'bad' }] });
  return [status, extra.headers || {}, JSON.stringify({ error: { code: status, message: code + ' (scripted)', status: code, details } })];
}

// What the stand-in answers for a registration token; a list: one each time.
const SCRIPTS = {
  unregistered: [fcmError(404, 'NOT_FOUND', 'UNREGISTERED')],
  badtoken: [fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', { field: 'message.token' })],
  badfield: [fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', { field: 'message.android.ttl' })],
  mismatch: [fcmError(403, 'PERMISSION_DENIED', 'SENDER_ID_MISMATCH')],
  quota: [fcmError(429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED', { headers: { 'retry-after': '100' } })],
  unavailable: [fcmError(503, 'UNAVAILABLE', 'UNAVAILABLE')],
  internal: [fcmError(500, 'INTERNAL', 'INTERNAL')],
  html502: [[502, { 'content-type': 'text/html' }, '<html>Bad Gateway</html>']],
  thirdparty: [fcmError(401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR')],
};

class FcmStandIn {
  constructor(tls, publicKey) {
    this.publicKey = publicKey;
    this.tokens = new Map(); // access token -> expiry (ms, Herald's clock)
    this.assertions = [];
    this.sends = [];
    this.scripts = new Map();
    this.sessions = 0;
    this.now = Date.now();
    this.server = http2.createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: true });
    this.server.on('session', () => { this.sessions++; });
    this.server.on('request', (req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const [status, headers, text] = req.url === '/token' ? this.token(req, body) : this.send(req, body);
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(text);
      });
    });
  }

  listen() {
    return new Promise((r) => this.server.listen(0, '127.0.0.1', () => {
      this.origin = `https://127.0.0.1:${this.server.address().port}`;
      r(this);
    }));
  }

  token(req, body) {
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return [400, {}, JSON.stringify({ error: 'unsupported_grant_type' })];
    let jwt;
    try {
      jwt = verifyJwt(form.get('assertion'), this.publicKey);
    } catch {
      return [400, {}, JSON.stringify({ error: 'invalid_grant', error_description: 'Invalid JWT Signature.' })];
    }
    const { header, claims } = jwt;
    this.assertions.push(jwt);
    const ok = header.alg === 'RS256' && header.kid === 'kid-1' && claims.iss === EMAIL &&
      claims.aud === this.origin + '/token' && claims.scope.split(' ').includes(SCOPE) &&
      claims.exp - claims.iat <= 3600 && claims.exp * 1000 > this.now;
    if (!ok)
      return [400, {}, JSON.stringify({ error: 'invalid_grant', error_description: JSON.stringify(claims) })];
    const access = 'ya29.test-' + randomBytes(8).toString('hex');
    this.tokens.set(access, claims.iat * 1000 + 3599 * 1000);
    return [200, {}, JSON.stringify({ access_token: access, expires_in: 3599, token_type: 'Bearer' })];
  }

  send(req, body) {
    const auth = (req.headers['authorization'] || '').replace(/^Bearer /, '');
    const expires = this.tokens.get(auth);
    if (req.url !== `/v1/projects/${PROJECT}/messages:send`)
      return [404, {}, '{}'];
    if (!expires || expires <= this.now)
      return [401, {}, JSON.stringify({ error: { code: 401, status: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials.' } })];
    const msg = JSON.parse(body).message;
    this.sends.push({ msg, auth, version: req.httpVersion });
    const strings = Object.values(msg.data || {}).every((v) => typeof v === 'string');
    if (!msg.token || !strings)
      return fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
    const plan = this.scripts.get(msg.token);
    if (plan && plan.length) return plan.shift();
    return [200, {}, JSON.stringify({ name: `projects/${PROJECT}/messages/${randomBytes(6).toString('hex')}` })];
  }

  to(token) {
    return this.sends.filter((s) => s.msg.token === token);
  }

  close() {
    return new Promise((r) => this.server.close(r));
  }
}

let dir, fcm, herald;

before(async () => {
  dir = tempDir('herald-fcm-');
  const tls = makeCert(dir);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  fcm = await new FcmStandIn(tls, publicKey).listen();
  const account = join(dir, 'service-account.json');
  writeFileSync(account, JSON.stringify({
    type: 'service_account', project_id: PROJECT, private_key_id: 'kid-1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), client_email: EMAIL,
    token_uri: fcm.origin + '/token',
  }), { mode: 0o600 });
  herald = await new Herald(dir, ['--fcm-service-account', account, '--fcm-base-url', fcm.origin,
                                  '--push-ca-file', tls.certFile, '--delivery-backoff-s', '10',
                                  '--delivery-backoff-max-s', '40', '--delivery-max-attempts', '3']).start();
});

after(async () => {
  const rc = await herald.stop();
  await fcm.close();
  cleanup(dir);
  assert.equal(rc, 0, herald.stderr);
});

async function device(p, id, token) {
  const r = await herald.api('PUT', '/v1/me/devices/' + id, p.token, { kind: 'fcm', token, name: 'Pixel' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

async function byDevice(p) {
  return Object.fromEntries((await herald.pushes(p.key)).map((d) => [d.to, d]));
}

test('sends carry a bearer token from the service account, reused until near its expiry', async () => {
  const p = await herald.practice('fcm1');
  const token = 'fcm-' + randomBytes(20).toString('hex');
  await device(p, 'phone', token);
  fcm.now = await herald.settle();
  const before = fcm.assertions.length;
  for (let i = 0; i < 4; i++) await herald.booking(p.key, p.member, 'evt_fcm1_' + i);
  await herald.settle();
  const sent = fcm.to(token);
  assert.equal(sent.length, 4);
  assert.equal(fcm.assertions.length - before, before === 0 ? 1 : 0, 'one token exchange for four sends');
  assert.equal(new Set(sent.map((s) => s.auth)).size, 1);
  assert.equal(sent[0].version, '2.0');
  const m = sent[0].msg;
  assert.equal(m.notification.title, 'Harbour Physio');
  assert.match(m.notification.body, /^New booking: /);
  assert.doesNotMatch(JSON.stringify(m), /Dana|Reyes/);
  assert.equal(m.data.type, 'appointment.booked');
  assert.equal(m.android.priority, 'HIGH');
  const d = (await herald.pushes(p.key))[0];
  assert.equal(d.status, 'sent');
  assert.equal(d.provider, 'fcm');
  assert.match(d.message_id, new RegExp(`^projects/${PROJECT}/messages/`));
  // 56 minutes on, under 5 minutes remain: a new exchange
  fcm.now = await herald.settle(56 * 60);
  await herald.booking(p.key, p.member, 'evt_fcm1_late');
  await herald.settle();
  const late = fcm.to(token).pop();
  assert.notEqual(late.auth, sent[0].auth);
});

test('a token the service no longer knows is dropped and the send retried', async () => {
  const p = await herald.practice('fcm2');
  const token = 'fcm-' + randomBytes(20).toString('hex');
  await device(p, 'phone', token);
  fcm.tokens.clear(); // revoked: every send now gets 401 UNAUTHENTICATED
  fcm.now = await herald.settle();
  await herald.booking(p.key, p.member, 'evt_fcm2');
  await herald.settle();
  let d = (await herald.pushes(p.key))[0];
  assert.ok(['failed', 'sent'].includes(d.status), JSON.stringify(d));
  await herald.settle(10);
  d = (await herald.pushes(p.key))[0];
  assert.equal(d.status, 'sent', JSON.stringify(d));
});

test('errors: removal, permanent, retried, and configuration', async () => {
  const p = await herald.practice('fcm3');
  const names = Object.keys(SCRIPTS);
  for (const name of names) {
    fcm.scripts.set(name, SCRIPTS[name].slice());
    await device(p, name, name);
  }
  fcm.now = await herald.settle();
  await herald.booking(p.key, p.member, 'evt_fcm3');
  await herald.settle();
  let got = await byDevice(p);
  assert.equal(got.unregistered.status, 'dead');
  assert.match(got.unregistered.reason, /UNREGISTERED/);
  assert.equal(got.badtoken.status, 'dead');
  assert.equal(got.mismatch.status, 'dead');
  assert.equal(got.badfield.status, 'dead');
  for (const name of ['quota', 'unavailable', 'internal', 'html502'])
    assert.equal(got[name].status, 'failed', name);
  assert.equal(got.thirdparty.status, 'failed');
  // Firebase's APNs or web credentials: retried, without pausing Android
  assert.equal(got.thirdparty.attempts.length, 1);
  const devices = (await herald.api('GET', '/v1/me/devices', p.token)).body.items.map((d) => d.id).sort();
  assert.deepEqual(devices, ['badfield', 'html502', 'internal', 'quota', 'thirdparty', 'unavailable']);
  // retries: QUOTA_EXCEEDED waits for its Retry-After (100 s)
  await herald.settle(40);
  got = await byDevice(p);
  assert.equal(got.unavailable.status, 'sent');
  assert.equal(got.internal.status, 'sent');
  assert.equal(got.html502.status, 'sent');
  assert.equal(got.quota.status, 'failed');
  await herald.settle(61);
  got = await byDevice(p);
  assert.equal(got.quota.status, 'sent');
  assert.equal(got.thirdparty.status, 'sent');
});
