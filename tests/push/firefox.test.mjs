// End to end in a real browser: Debian firefox-esr, headless, subscribes to
// push through a small local push service (Firefox's WebSocket protocol,
// as PROTOCOLS.md "A real browser receiving push, offline" describes) with
// Herald's VAPID key; the page registers the subscription with Herald as a
// member's device; an event is posted; Herald encrypts and POSTs the push;
// Firefox decrypts it with its own keys, and the page's service worker
// receives it and shows the notification.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import puppeteer from 'puppeteer-core';
import { Herald, tempDir, cleanup } from './lib.mjs';

const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';

// Firefox's push server protocol, the part a browser needs: hello,
// register (answering with an endpoint we serve), and notifications.
class LocalPushService {
  constructor() {
    this.sockets = new Set();
    this.channels = new Map(); // channelID -> socket
    this.delivered = [];
    this.http = http.createServer((req, res) => this.post(req, res));
    this.ws = new WebSocketServer({ server: this.http, handleProtocols: () => 'push-notification' });
    this.ws.on('connection', (sock) => {
      this.sockets.add(sock);
      sock.on('message', (raw) => this.message(sock, JSON.parse(raw)));
      sock.on('close', () => this.sockets.delete(sock));
    });
  }

  listen() {
    return new Promise((r) => this.http.listen(0, '127.0.0.1', () => {
      this.port = this.http.address().port;
      r(this);
    }));
  }

  message(sock, m) {
    switch (m.messageType) {
    case 'hello':
      sock.send(JSON.stringify({ messageType: 'hello', uaid: m.uaid || randomUUID(), status: 200, use_webpush: true }));
      break;
    case 'register':
      this.channels.set(m.channelID, sock);
      sock.send(JSON.stringify({ messageType: 'register', channelID: m.channelID, status: 200,
                                 pushEndpoint: `http://127.0.0.1:${this.port}/push/${m.channelID}` }));
      break;
    case 'unregister':
      this.channels.delete(m.channelID);
      sock.send(JSON.stringify({ messageType: 'unregister', channelID: m.channelID, status: 200 }));
      break;
    case 'ping':
      sock.send('{}');
      break;
    default: // ack, nack
      if (process.env.DEBUG_PUSH) console.error('push service got', JSON.stringify(m));
      break;
    }
  }

  post(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const id = (req.url.match(/^\/push\/(.+)$/) || [])[1];
      const sock = id && this.channels.get(id);
      if (!sock || !req.headers['ttl'] || req.headers['content-encoding'] !== 'aes128gcm') {
        res.writeHead(sock ? 400 : 404);
        res.end();
        return;
      }
      const body = Buffer.concat(chunks);
      this.delivered.push({ id, headers: req.headers, size: body.length });
      sock.send(JSON.stringify({ messageType: 'notification', channelID: id, version: randomUUID(),
                                 data: body.toString('base64url'), headers: { encoding: 'aes128gcm' } }));
      res.writeHead(201, { location: `http://127.0.0.1:${this.port}/m/${this.delivered.length}` });
      res.end();
    });
  }

  close() {
    for (const s of this.sockets) s.terminate();
    this.ws.close();
    return new Promise((r) => this.http.close(r));
  }
}

// The host app's page and its service worker, on a loopback origin (a
// secure context, so service workers and push are allowed).
const PAGE = `<!doctype html><title>Harbour</title><script>
window.pushed = [];
navigator.serviceWorker.onmessage = (e) => window.pushed.push(e.data);
async function subscribe(key) {
  const reg = await navigator.serviceWorker.register('/sw.js');
  await navigator.serviceWorker.ready;
  const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  return sub.toJSON();
}
async function shown() {
  const reg = await navigator.serviceWorker.ready;
  return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, data: n.data }));
}
</script>`;

const WORKER = `self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('push', (e) => {
  const msg = e.data.json();
  e.waitUntil((async () => {
    try {
      await self.registration.showNotification(msg.title, { body: msg.body, data: msg.data, tag: msg.data.notification_id });
      msg.shown = true;
    } catch (err) {
      msg.shown = String(err);
    }
    for (const c of await self.clients.matchAll({ includeUncontrolled: true })) c.postMessage(msg);
  })());
});`;

let dir, service, site, herald, firefox, browser;

function startFirefox(profile) {
  mkdirSync(profile, { recursive: true });
  writeFileSync(join(profile, 'user.js'), [
    `user_pref("dom.push.serverURL", "ws://127.0.0.1:${service.port}/");`,
    'user_pref("dom.push.testing.allowInsecureServerURL", true);',
    'user_pref("dom.push.enabled", true);',
    'user_pref("dom.push.connection.enabled", true);',
    'user_pref("dom.serviceWorkers.enabled", true);',
    'user_pref("dom.serviceWorkers.testing.enabled", true);',
    'user_pref("permissions.default.desktop-notification", 1);',
    // headless has no desktop notification daemon: Firefox's own alerts
    'user_pref("alerts.useSystemBackend", false);',
    'user_pref("browser.shell.checkDefaultBrowser", false);',
    'user_pref("datareporting.policy.dataSubmissionEnabled", false);',
    'user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);',
    'user_pref("browser.startup.homepage_override.mstone", "ignore");',
    'user_pref("app.update.disabledForTesting", true);',
    'user_pref("network.captive-portal-service.enabled", false);',
    'user_pref("network.connectivity-service.enabled", false);',
    '',
  ].join('\n'));
  firefox = spawn(FIREFOX, ['--headless', '--no-remote', '--profile', profile, '--remote-debugging-port=0'],
                  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1' } });
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error('firefox did not start: ' + err.slice(-2000))), 60000);
    firefox.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/WebDriver BiDi listening on (ws:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    firefox.on('exit', (code) => reject(new Error('firefox exited ' + code + ': ' + err.slice(-2000))));
  });
}

before(async () => {
  dir = tempDir('herald-firefox-');
  service = await new LocalPushService().listen();
  // The host app's site: the test's own page and worker, and, for the
  // components, a page embedding <herald-preferences> with a copy of
  // Herald's service worker on this origin (/app-sw.js, as a host serves it).
  site = http.createServer(async (req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/app-sw.js') {
      const sw = await (await fetch(herald.url + '/ui/sw.js')).text();
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(sw);
      return;
    }
    if (path === '/app') {
      const token = new URL(req.url, 'http://x').searchParams.get('token');
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>Host</title><script type="module" src="${herald.url}/ui/herald.js"></script>
        <herald-preferences base="${herald.url}" token="${token}" sw-url="/app-sw.js"></herald-preferences>`);
      return;
    }
    const worker = path === '/sw.js';
    res.writeHead(200, { 'content-type': worker ? 'text/javascript' : 'text/html' });
    res.end(worker ? WORKER : PAGE);
  });
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  herald = await new Herald(dir, ['--push-allow-insecure-endpoints']).start();
  const ws = await startFirefox(join(dir, 'profile'));
  browser = await puppeteer.connect({ browserWSEndpoint: ws + '/session', protocol: 'webDriverBiDi' });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (firefox && firefox.exitCode === null) {
    const exited = new Promise((r) => firefox.on('exit', r));
    firefox.kill('SIGTERM');
    await exited;
  }
  const rc = herald ? await herald.stop() : 0;
  if (service) await service.close();
  if (site) await new Promise((r) => site.close(r));
  cleanup(dir);
  assert.equal(rc, 0, herald && herald.stderr);
});

test('firefox subscribes with Herald\'s key, and its service worker shows the booking', { timeout: 120000 }, async () => {
  const p = await herald.practice('ff');
  const key = (await (await fetch(herald.url + '/v1/push/vapid-public-key')).json()).public_key;
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${site.address().port}/`);
  const sub = await page.evaluate((k) => subscribe(k), key);
  assert.match(sub.endpoint, new RegExp(`^http://127.0.0.1:${service.port}/push/`));
  assert.equal(Buffer.from(sub.keys.p256dh, 'base64url').length, 65);
  let r = await herald.api('PUT', '/v1/me/devices/firefox', p.token, { kind: 'webpush', subscription: sub, name: 'Firefox' });
  assert.equal(r.status, 201, JSON.stringify(r.body));

  const ev = await herald.booking(p.key, p.member, 'evt_ff_1');
  await herald.settle();
  assert.equal(service.delivered.length, 1, 'Herald posted the push');

  let pushed = [];
  for (let i = 0; i < 200 && pushed.length === 0; i++) {
    pushed = await page.evaluate(() => window.pushed);
    if (!pushed.length) await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(pushed.length, 1, 'the service worker got the push');
  assert.equal(pushed[0].title, 'Harbour Physio');
  assert.match(pushed[0].body, /^New booking: /);
  assert.equal(pushed[0].data.notification_id, ev.notifications[0].id);
  assert.equal(pushed[0].data.event_id, 'evt_ff_1');
  assert.equal(pushed[0].shown, true, 'showNotification: ' + pushed[0].shown);
  const shown = await page.evaluate(() => shown());
  assert.deepEqual(shown.map((n) => n.title), ['Harbour Physio']);
  assert.equal(shown[0].body, pushed[0].body);
  const [d] = await herald.pushes(p.key);
  assert.equal(d.status, 'sent');
  assert.equal(d.provider, 'webpush');
});

test('"Enable browser notifications" in <herald-preferences>, and Herald\'s service worker shows the push', { timeout: 120000 }, async () => {
  const p = await herald.practice('ff2');
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${site.address().port}/app?token=${encodeURIComponent(p.token)}`);
  // the button is in the component's shadow root
  const clicked = await page.evaluate(async () => {
    for (let i = 0; i < 100; i++) {
      const b = document.querySelector('herald-preferences')?.shadowRoot?.getElementById('enable-browser');
      if (b) { b.click(); return true; }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  });
  assert.ok(clicked, 'the settings rendered');
  let status = '';
  for (let i = 0; i < 200 && !/are on|Could not/.test(status); i++) {
    status = await page.evaluate(() =>
      document.querySelector('herald-preferences').shadowRoot.querySelector('.browser-status').textContent);
    if (!/are on|Could not/.test(status)) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(status, 'Browser notifications are on.');
  const devices = (await herald.api('GET', '/v1/me/devices', p.token)).body.items;
  assert.equal(devices.length, 1);
  assert.equal(devices[0].kind, 'webpush');
  assert.match(devices[0].name, /^Firefox/);
  await herald.booking(p.key, p.member, 'evt_ff_2');
  await herald.settle();
  // the earlier test's page registered its worker for the same scope on
  // this profile, so its notification may still be listed: look for this one
  const [item] = (await herald.api('GET', '/v1/me/notifications', p.token)).body.items;
  assert.match(item.id, /^ntf_/);
  let shown = [];
  for (let i = 0; i < 200 && !shown.length; i++) {
    shown = await page.evaluate(async (tag) => {
      const reg = await navigator.serviceWorker.ready;
      return (await reg.getNotifications({ tag })).map((n) => ({ title: n.title, body: n.body, tag: n.tag }));
    }, item.id);
    if (!shown.length) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(shown.length, 1, 'Herald\'s service worker showed it: ' + JSON.stringify(shown));
  assert.equal(shown[0].title, 'Harbour Physio');
  assert.match(shown[0].body, /^New booking: /);

  // after a reload the component knows: this browser's subscription is the member's device
  const ui = () => page.evaluate(() => {
    const root = document.querySelector('herald-preferences')?.shadowRoot;
    return { button: root?.getElementById('enable-browser')?.textContent || '',
             status: root?.querySelector('.browser-status')?.textContent || '' };
  });
  await page.reload();
  let now = await ui();
  for (let i = 0; i < 200 && !/Turn off/.test(now.button); i++) {
    await new Promise((r) => setTimeout(r, 100));
    now = await ui();
  }
  assert.deepEqual(now, { button: 'Turn off browser notifications', status: 'Browser notifications are on.' });
  // turning it off (as a host does at sign-out) deletes the device and unsubscribes
  await page.evaluate(() => document.querySelector('herald-preferences').disableBrowser());
  assert.deepEqual(await ui(), { button: 'Enable browser notifications', status: 'Browser notifications are off.' });
  assert.deepEqual((await herald.api('GET', '/v1/me/devices', p.token)).body.items, []);
  assert.equal(await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.getRegistration('/');
    return !!(reg && await reg.pushManager.getSubscription());
  }), false);
});
