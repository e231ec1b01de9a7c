// APNs against a local HTTP/2 stand-in (node http2, TLS, no HTTP/1): it
// verifies the ES256 provider token with the .p8 key's public half, checks
// its claims and Apple's refresh rules (used at most 60 minutes, renewed at
// most every 20), the headers, and answers by device token: 200 with an
// apns-id, 400 BadDeviceToken, 410 Unregistered, 429, 503, 413,
// ExpiredProviderToken. Every push shares one connection per host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Herald, makeCert, tempDir, cleanup, verifyJwt } from './lib.mjs';

const TEAM = 'TEAM123456';
const KEY_ID = 'KEY1234567';
const TOPIC = 'com.harbour.app';

class ApnsStandIn {
  constructor(tls, publicKey) {
    this.publicKey = publicKey;
    this.pushes = [];
    this.scripts = new Map();
    this.sessions = 0;
    this.tokens = []; // distinct provider tokens, with their iat
    this.now = Date.now();
    this.server = http2.createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: false });
    this.server.on('session', () => { this.sessions++; });
    this.server.on('stream', (stream, headers) => {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        const [status, extra, body] = this.answer(headers, Buffer.concat(chunks).toString());
        stream.respond({ ':status': status, ...extra });
        stream.end(body);
      });
    });
  }

  listen() {
    return new Promise((r) => this.server.listen(0, '127.0.0.1', () => {
      this.origin = `https://127.0.0.1:${this.server.address().port}`;
      r(this);
    }));
  }

  answer(h, body) {
    const reason = (status, why, more = {}) => [status, {}, JSON.stringify({ reason: why, ...more })];
    const device = (h[':path'] || '').replace('/3/device/', '');
    const auth = (h['authorization'] || '').replace(/^bearer /, '');
    let jwt;
    try {
      jwt = verifyJwt(auth, this.publicKey);
    } catch {
      return reason(403, 'InvalidProviderToken');
    }
    const { header, claims } = jwt;
    if (header.alg !== 'ES256' || header.kid !== KEY_ID || claims.iss !== TEAM)
      return reason(403, 'InvalidProviderToken');
    if (claims.iat * 1000 < this.now - 3600 * 1000)
      return reason(403, 'ExpiredProviderToken');
    const last = this.tokens[this.tokens.length - 1];
    if (!last || last.token !== auth) {
      if (last && claims.iat - last.iat < 20 * 60)
        return reason(429, 'TooManyProviderTokenUpdates');
      this.tokens.push({ token: auth, iat: claims.iat });
    }
    if (h['apns-topic'] !== TOPIC) return reason(400, 'BadTopic');
    if (h['apns-push-type'] !== 'alert') return reason(400, 'InvalidPushType');
    if (h['apns-priority'] !== '10') return reason(400, 'BadPriority');
    if (!/^\d+$/.test(h['apns-expiration'] || '')) return reason(400, 'BadExpirationDate');
    if ((h['apns-collapse-id'] || '').length > 64) return reason(400, 'BadCollapseId');
    const payload = JSON.parse(body);
    this.pushes.push({ device, headers: h, payload });
    const plan = this.scripts.get(device);
    const step = plan && plan.length ? plan.shift() : null;
    if (step === 'bad') return reason(400, 'BadDeviceToken');
    if (step === 'nottopic') return reason(400, 'DeviceTokenNotForTopic');
    // Apple's timestamp: when it saw the token go (after the registration),
    // or, for a device that registered again since, long before.
    if (step === 'gone') return reason(410, 'Unregistered', { timestamp: this.now + 1000 });
    if (step === 'reregistered') return reason(410, 'Unregistered', { timestamp: 1000 });
    if (step === 'busy') return [429, { 'retry-after': '60' }, JSON.stringify({ reason: 'TooManyRequests' })];
    if (step === 'down') return reason(503, 'ServiceUnavailable');
    if (step === 'big') return reason(413, 'PayloadTooLarge');
    if (step === 'expired') return reason(403, 'ExpiredProviderToken');
    return [200, { 'apns-id': randomUUID() }, ''];
  }

  to(device) {
    return this.pushes.filter((p) => p.device === device);
  }

  close() {
    return new Promise((r) => this.server.close(r));
  }
}

let dir, apns, sandbox, herald;

before(async () => {
  dir = tempDir('herald-apns-');
  const tls = makeCert(dir);
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  apns = await new ApnsStandIn(tls, publicKey).listen();
  sandbox = await new ApnsStandIn(tls, publicKey).listen();
  const p8 = join(dir, 'AuthKey_' + KEY_ID + '.p8');
  writeFileSync(p8, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  herald = await new Herald(dir, ['--apns-key-file', p8, '--apns-key-id', KEY_ID, '--apns-team-id', TEAM,
                                  '--apns-topic', TOPIC, '--apns-host', apns.origin,
                                  '--apns-sandbox-host', sandbox.origin, '--push-ca-file', tls.certFile,
                                  '--delivery-backoff-s', '10', '--delivery-backoff-max-s', '40']).start();
});

after(async () => {
  const rc = await herald.stop();
  await apns.close();
  await sandbox.close();
  cleanup(dir);
  assert.equal(rc, 0, herald.stderr);
});

const hex = () => randomBytes(32).toString('hex');

async function device(p, id, token, environment) {
  const body = { kind: 'apns', token, name: 'iPhone' };
  if (environment) body.environment = environment;
  const r = await herald.api('PUT', '/v1/me/devices/' + id, p.token, body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

async function byDevice(p) {
  return Object.fromEntries((await herald.pushes(p.key)).map((d) => [d.to, d]));
}

test('pushes share one HTTP/2 connection and one provider token, renewed after 50 minutes', async () => {
  const p = await herald.practice('apns1');
  const tokens = [hex(), hex(), hex()];
  for (let i = 0; i < 3; i++) await device(p, 'ios' + i, tokens[i]);
  apns.now = await herald.settle();
  for (let i = 0; i < 5; i++) await herald.booking(p.key, p.member, 'evt_apns1_' + i);
  await herald.settle();
  assert.equal(apns.pushes.length, 15);
  assert.equal(apns.sessions, 1, 'one connection for every push');
  assert.equal(apns.tokens.length, 1, 'one provider token for every push');
  const first = apns.to(tokens[0])[0];
  assert.equal(first.payload.aps.alert.title, 'Harbour Physio');
  assert.match(first.payload.aps.alert.body, /^New booking: /);
  assert.doesNotMatch(JSON.stringify(first.payload), /Dana|Reyes/);
  assert.equal(first.payload.herald.type, 'appointment.booked');
  assert.match(first.headers['apns-collapse-id'], /^ntf_\d+$/);
  const d = (await byDevice(p)).ios0;
  assert.equal(d.status, 'sent');
  assert.equal(d.provider, 'apns');
  assert.match(d.message_id, /^[0-9a-f-]{36}$/);
  // 30 minutes on: still the same token (Apple: no more often than 20 min)
  apns.now = await herald.settle(30 * 60);
  await herald.booking(p.key, p.member, 'evt_apns1_30');
  await herald.settle();
  assert.equal(apns.tokens.length, 1);
  // 51 minutes after it was made: a new one, accepted (not too soon)
  apns.now = await herald.settle(21 * 60);
  await herald.booking(p.key, p.member, 'evt_apns1_51');
  await herald.settle();
  assert.equal(apns.tokens.length, 2);
  assert.equal(apns.pushes.filter((x) => x.headers.authorization).length, apns.pushes.length);
  const rejected = (await herald.pushes(p.key)).filter((x) => x.status !== 'sent');
  assert.deepEqual(rejected, []);
});

test('sandbox devices go to the sandbox host', async () => {
  const p = await herald.practice('apns2');
  const t = hex();
  await device(p, 'dev', t, 'sandbox');
  apns.now = sandbox.now = await herald.settle();
  await herald.booking(p.key, p.member, 'evt_apns2');
  await herald.settle();
  assert.equal(sandbox.to(t).length, 1);
  assert.equal(apns.to(t).length, 0);
});

test('error answers: removal, retry, permanent', async () => {
  const p = await herald.practice('apns3');
  const names = ['bad', 'gone', 'reregistered', 'busy', 'down', 'big'];
  const tokens = {};
  for (const n of names) {
    tokens[n] = hex();
    apns.scripts.set(tokens[n], [n]);
    await device(p, n, tokens[n]);
  }
  apns.now = await herald.settle();
  await herald.booking(p.key, p.member, 'evt_apns3');
  await herald.settle();
  let got = await byDevice(p);
  assert.equal(got.bad.status, 'dead');
  assert.match(got.bad.reason, /BadDeviceToken/);
  assert.equal(got.gone.status, 'dead');
  assert.equal(got.reregistered.status, 'dead');
  assert.equal(got.big.status, 'dead');
  assert.equal(got.busy.status, 'failed');
  assert.equal(got.down.status, 'failed');
  // 410 removes the token, unless the device registered again after Apple's
  // timestamp: "reregistered" was refreshed long after it.
  const devices = (await herald.api('GET', '/v1/me/devices', p.token)).body.items.map((d) => d.id).sort();
  assert.deepEqual(devices, ['big', 'busy', 'down', 'reregistered']);
  apns.now = await herald.settle(40);
  got = await byDevice(p);
  assert.equal(got.down.status, 'sent');
  assert.equal(got.busy.status, 'failed'); // its Retry-After is 60 s
  apns.now = await herald.settle(30);
  got = await byDevice(p);
  assert.equal(got.busy.status, 'sent');
});

test('an expired provider token is retried with a new one', async () => {
  const p = await herald.practice('apns4');
  const t = hex();
  await device(p, 'dev', t);
  apns.now = await herald.settle(25 * 60); // the token in use is 25+ minutes old
  apns.scripts.set(t, ['expired']);
  await herald.booking(p.key, p.member, 'evt_apns4');
  await herald.settle();
  let d = (await byDevice(p)).dev;
  assert.equal(d.status, 'failed');
  assert.match(d.reason, /ExpiredProviderToken/);
  const before = apns.tokens.length;
  apns.now = await herald.settle(10);
  d = (await byDevice(p)).dev;
  assert.equal(d.status, 'sent');
  assert.equal(apns.tokens.length, before + 1, 'signed again');
});

test('a wrong topic before any push has worked removes no device: it pauses APNs', async () => {
  const d2 = tempDir('herald-apns-topic-');
  const tls = makeCert(d2);
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const wrong = await new ApnsStandIn(tls, publicKey).listen();
  const p8 = join(d2, 'key.p8');
  writeFileSync(p8, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const h = await new Herald(d2, ['--apns-key-file', p8, '--apns-key-id', KEY_ID, '--apns-team-id', TEAM,
                                  '--apns-topic', TOPIC, '--apns-host', wrong.origin,
                                  '--push-ca-file', tls.certFile]).start();
  try {
    const p = await h.practice('apns5');
    for (let i = 0; i < 3; i++) {
      const t = hex();
      wrong.scripts.set(t, ['nottopic', 'nottopic']);
      const r = await h.api('PUT', '/v1/me/devices/ios' + i, p.token, { kind: 'apns', token: t });
      assert.equal(r.status, 201);
    }
    wrong.now = await h.settle();
    await h.booking(p.key, p.member, 'evt_apns5');
    await h.settle();
    const devices = (await h.api('GET', '/v1/me/devices', p.token)).body.items;
    assert.equal(devices.length, 3, 'no device deleted for what may be our own settings');
    for (const d of await h.pushes(p.key)) {
      assert.equal(d.status, 'failed');
      assert.match(d.reason, /DeviceTokenNotForTopic|paused/);
    }
  } finally {
    assert.equal(await h.stop(), 0, h.stderr);
    await wrong.close();
    cleanup(d2);
  }
});
