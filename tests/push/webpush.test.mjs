// Web Push against a local push service (node http2 over TLS): the request
// Herald sends is checked the way a real service checks it (TTL, encoding,
// a VAPID token for this origin that verifies with the installation's key),
// and its body is decrypted by an independent implementation, npm http_ece,
// with the subscriber's own keys. Then the answers a push service gives:
// 404/410 remove the device, 413 fails the message, 429 waits for
// Retry-After, 503 is retried.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { createECDH, randomBytes } from 'node:crypto';
import ece from 'http_ece';
import { Herald, makeCert, tempDir, cleanup, verifyJwt, p256Key, b64url } from './lib.mjs';

const SUBJECT = 'mailto:ops@harbour.example';

class PushService {
  constructor(tls) {
    this.received = [];
    this.script = new Map(); // subscription id -> [status, headers]
    this.sessions = 0;
    this.server = http2.createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: true });
    this.server.on('session', () => { this.sessions++; });
    this.server.on('request', (req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const id = req.url.split('/').pop();
        this.received.push({ id, headers: req.headers, body: Buffer.concat(chunks),
                             version: req.httpVersion });
        const plan = this.script.get(id);
        const [status, headers] = plan && plan.length ? plan.shift() : [201, {}];
        res.writeHead(status, { location: `${this.origin}/m/${this.received.length}`, ...headers });
        res.end(status >= 400 ? JSON.stringify({ errno: 999, message: 'scripted' }) : '');
      });
    });
  }

  listen() {
    return new Promise((r) => this.server.listen(0, '127.0.0.1', () => {
      this.origin = `https://127.0.0.1:${this.server.address().port}`;
      r(this);
    }));
  }

  // A browser's subscription: its keys stay here, as in a browser.
  subscribe() {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16);
    const id = 'sub' + randomBytes(6).toString('hex');
    const sub = { endpoint: `${this.origin}/push/${id}`,
                  keys: { p256dh: b64url(ecdh.getPublicKey()), auth: b64url(auth) } };
    return { id, sub, ecdh, auth: b64url(auth) };
  }

  to(id) {
    return this.received.filter((r) => r.id === id);
  }

  close() {
    return new Promise((r) => this.server.close(r));
  }
}

let dir, tls, service, other, herald, vapidKey;

before(async () => {
  dir = tempDir('herald-webpush-');
  tls = makeCert(dir);
  service = await new PushService(tls).listen();
  other = await new PushService(tls).listen();
  // loopback endpoints: allowed for tests only (push services are public)
  herald = await new Herald(dir, ['--push-allow-insecure-endpoints', '--push-ca-file', tls.certFile,
                                  '--vapid-subject', SUBJECT,
                                  '--delivery-backoff-s', '10', '--delivery-backoff-max-s', '40',
                                  '--delivery-max-attempts', '3']).start();
  const r = await fetch(herald.url + '/v1/push/vapid-public-key');
  assert.equal(r.status, 200);
  vapidKey = (await r.json()).public_key;
  assert.equal(Buffer.from(vapidKey, 'base64url').length, 65);
});

after(async () => {
  const rc = await herald.stop();
  await service.close();
  await other.close();
  cleanup(dir);
  assert.equal(rc, 0, herald.stderr);
});

async function register(p, device, s) {
  const r = await herald.api('PUT', '/v1/me/devices/' + device, p.token, { kind: 'webpush', subscription: s.sub, name: 'Firefox' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

test('a push is encrypted for the subscriber and signed for the service, with no patient data', async () => {
  const p = await herald.practice('wp1');
  const s = service.subscribe();
  const dev = await register(p, 'laptop', s);
  assert.equal(dev.token_suffix, s.sub.endpoint.slice(-6));
  assert.equal(dev.endpoint_origin, service.origin);
  const ev = await herald.booking(p.key, p.member, 'evt_wp1');
  assert.deepEqual(ev.notifications[0].channels, ['in_app', 'push']);
  const now = await herald.settle();
  const [got] = service.to(s.id);
  assert.ok(got, 'the push service got nothing');
  assert.equal(got.version, '2.0'); // HTTP/2, as real push services speak
  assert.equal(got.headers['ttl'], '86400');
  assert.equal(got.headers['content-encoding'], 'aes128gcm');
  assert.equal(got.headers['urgency'], 'normal');
  const m = got.headers['authorization'].match(/^vapid t=([^,]+), k=(\S+)$/);
  assert.ok(m, got.headers['authorization']);
  assert.equal(m[2], vapidKey);
  const { header, claims } = verifyJwt(m[1], p256Key(m[2]));
  assert.deepEqual(header, { typ: 'JWT', alg: 'ES256' });
  assert.equal(claims.aud, service.origin);
  assert.equal(claims.sub, SUBJECT);
  assert.ok(claims.exp * 1000 > now && claims.exp * 1000 <= now + 24 * 3600 * 1000, JSON.stringify(claims));
  // the independent decryption, with the subscriber's keys
  const plain = ece.decrypt(got.body, { version: 'aes128gcm', privateKey: s.ecdh, authSecret: s.auth });
  const msg = JSON.parse(plain.toString());
  assert.equal(got.body.length, 86 + plain.length + 1 + 16);
  assert.equal(msg.title, 'Harbour Physio');
  assert.match(msg.body, /^New booking: /);
  assert.doesNotMatch(plain.toString(), /Dana|Reyes/);
  assert.deepEqual(Object.keys(msg.data).sort(), ['event_id', 'notification_id', 'type', 'url']);
  assert.equal(msg.data.type, 'appointment.booked');
  assert.equal(msg.data.event_id, 'evt_wp1');
  assert.equal(msg.data.notification_id, ev.notifications[0].id);
  const [d] = await herald.pushes(p.key);
  assert.equal(d.status, 'sent');
  assert.equal(d.provider, 'webpush');
  assert.equal(d.to, 'laptop');
  assert.match(d.message_id, /\/m\/\d+$/);
});

test('the VAPID token is reused per origin and signed again before it expires', async () => {
  const p = await herald.practice('wp2');
  const a = service.subscribe(), b = other.subscribe();
  await register(p, 'a', a);
  await register(p, 'b', b);
  for (let i = 0; i < 3; i++) await herald.booking(p.key, p.member, 'evt_wp2_' + i);
  await herald.settle();
  const tokens = (list) => list.map((r) => r.headers['authorization'].split(',')[0]);
  const ta = tokens(service.to(a.id)), tb = tokens(other.to(b.id));
  assert.equal(ta.length, 3);
  assert.equal(new Set(ta).size, 1, 'one token for one origin');
  assert.notEqual(ta[0], tb[0], 'another origin, another audience');
  assert.equal(verifyJwt(tb[0].slice(8), p256Key(vapidKey)).claims.aud, other.origin);
  // 11.5 h later the 12-hour token has under an hour left: a new one
  await herald.settle(11.5 * 3600);
  await herald.booking(p.key, p.member, 'evt_wp2_late');
  await herald.settle();
  const late = tokens(service.to(a.id)).pop();
  assert.notEqual(late, ta[0]);
  const { claims } = verifyJwt(late.slice(8), p256Key(vapidKey));
  const first = verifyJwt(ta[0].slice(8), p256Key(vapidKey)).claims;
  assert.ok(claims.exp > first.exp);
});

test('404 and 410 remove the subscription; 413 fails only that message', async () => {
  const p = await herald.practice('wp3');
  const gone404 = service.subscribe(), gone410 = service.subscribe(), big = service.subscribe();
  service.script.set(gone404.id, [[404, {}]]);
  service.script.set(gone410.id, [[410, {}]]);
  service.script.set(big.id, [[413, {}]]);
  await register(p, 'd404', gone404);
  await register(p, 'd410', gone410);
  await register(p, 'dbig', big);
  await herald.booking(p.key, p.member, 'evt_wp3');
  await herald.settle();
  const byDevice = Object.fromEntries((await herald.pushes(p.key)).map((d) => [d.to, d]));
  assert.equal(byDevice.d404.status, 'dead');
  assert.match(byDevice.d404.reason, /^404/);
  assert.equal(byDevice.d410.status, 'dead');
  assert.equal(byDevice.dbig.status, 'dead');
  assert.match(byDevice.dbig.reason, /^413/);
  const devices = (await herald.api('GET', '/v1/me/devices', p.token)).body.items.map((d) => d.id);
  assert.deepEqual(devices, ['dbig']);
  // the next event goes only to the device that is left
  await herald.booking(p.key, p.member, 'evt_wp3b');
  await herald.settle();
  assert.equal(service.to(gone404.id).length, 1);
  assert.equal(service.to(big.id).length, 2);
});

test('a 410 also skips the device\'s waiting pushes, each with its audit entry', async () => {
  const p = await herald.practice('wp3c');
  const s = service.subscribe();
  service.script.set(s.id, [[429, { 'retry-after': '120' }], [410, {}]]);
  await register(p, 'tablet', s);
  await herald.booking(p.key, p.member, 'evt_wp3c_1');
  await herald.settle(); // 429: it waits 120 s
  await herald.booking(p.key, p.member, 'evt_wp3c_2');
  await herald.settle(); // 410: the subscription is gone, and so is the waiting push
  const byEvent = Object.fromEntries((await herald.pushes(p.key)).map((d) => [d.event_id, d]));
  assert.equal(byEvent.evt_wp3c_2.status, 'dead');
  assert.equal(byEvent.evt_wp3c_1.status, 'skipped');
  assert.equal(byEvent.evt_wp3c_1.reason, 'device_removed');
  const audit = (await herald.api('GET', '/v1/audit?action=delivery.skipped', p.key)).body.items;
  assert.deepEqual(audit.map((e) => [e.delivery_id, e.event_id, e.actor.kind, e.details]),
    [[byEvent.evt_wp3c_1.id, 'evt_wp3c_1', 'herald', { channel: 'push', reason: 'device_removed' }]]);
});

test('429 waits for Retry-After; 503 is retried; too many failures are dead', async () => {
  const p = await herald.practice('wp4');
  const slow = service.subscribe(), down = service.subscribe(), dead = service.subscribe();
  service.script.set(slow.id, [[429, { 'retry-after': '120' }]]);
  service.script.set(down.id, [[503, {}]]);
  service.script.set(dead.id, [[500, {}], [500, {}], [500, {}], [500, {}]]);
  await register(p, 'slow', slow);
  await register(p, 'down', down);
  await register(p, 'dead', dead);
  await herald.booking(p.key, p.member, 'evt_wp4');
  await herald.settle();
  await herald.settle(10); // past the first backoff (5-10 s), not past Retry-After
  assert.equal(service.to(slow.id).length, 1);
  assert.equal(service.to(down.id).length, 2);
  await herald.settle(111);
  for (let i = 0; i < 4; i++) await herald.settle(40);
  const byDevice = Object.fromEntries((await herald.pushes(p.key)).map((d) => [d.to, d]));
  assert.equal(byDevice.slow.status, 'sent');
  assert.equal(service.to(slow.id).length, 2);
  assert.equal(byDevice.down.status, 'sent');
  assert.equal(byDevice.dead.status, 'dead');
  assert.equal(byDevice.dead.attempts.length, 3);
});

test('the device switch and the member switch stop pushes', async () => {
  const p = await herald.practice('wp5');
  const a = service.subscribe(), b = service.subscribe();
  await register(p, 'a', a);
  await register(p, 'b', b);
  let r = await herald.api('PATCH', '/v1/me/devices/a', p.token, { enabled: false });
  assert.equal(r.status, 200);
  assert.equal(r.body.enabled, false);
  await herald.booking(p.key, p.member, 'evt_wp5');
  await herald.settle();
  assert.equal(service.to(a.id).length, 0);
  assert.equal(service.to(b.id).length, 1);
  r = await herald.api('PATCH', '/v1/me/preferences', p.token, { push_enabled: false });
  assert.equal(r.status, 200);
  const ev = await herald.booking(p.key, p.member, 'evt_wp5b');
  assert.deepEqual(ev.notifications[0].channels, ['in_app']);
  await herald.settle();
  assert.equal(service.to(b.id).length, 1);
});

test('a conversation\'s "new messages" pushes share a Topic, so a newer one replaces an older', async () => {
  const p = await herald.practice('wp6');
  const s = service.subscribe();
  await register(p, 'laptop', s);
  const message = (id, conv) => herald.api('POST', '/v1/events', p.key, {
    id, type: 'message.received', occurred_at: '2026-11-21T09:30:00Z', source: 'client_portal',
    actor: { kind: 'client', id: 'cl_1', name: 'Dana Reyes' },
    data: { conversation: { id: conv, participant_ids: [p.member] }, message: { id: 'msg_' + id, text: 'My knee' } },
  });
  assert.equal((await message('evt_wp6_1', 'conv-a')).status, 202);
  await herald.settle(181); // the window closes: one notification, one push
  assert.equal((await message('evt_wp6_2', 'conv-a')).status, 202);
  assert.equal((await message('evt_wp6_3', 'conv-b')).status, 202);
  await herald.settle(181);
  const got = service.to(s.id);
  assert.equal(got.length, 3);
  const topics = got.map((r) => r.headers['topic']);
  assert.match(topics[0], /^[0-9a-f]{32}$/);
  assert.equal(topics.filter((t) => t === topics[0]).length, 2, 'conv-a twice, same topic');
  assert.equal(new Set(topics).size, 2);
  const msg = JSON.parse(ece.decrypt(got[0].body, { version: 'aes128gcm', privateKey: s.ecdh, authSecret: s.auth }));
  assert.equal(msg.data.type, 'message.received');
  assert.ok(['conv-a', 'conv-b'].includes(msg.data.conversation_id));
  assert.doesNotMatch(JSON.stringify(msg), /knee|Dana/);
});
