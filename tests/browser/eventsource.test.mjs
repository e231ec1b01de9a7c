// A real browser's EventSource (Debian chromium, headless, driven by
// playwright-core) on Herald's stream: the initial count, a notification
// with its id, a state change made elsewhere, a message pop-up, and the
// grouped notification when the test clock closes the window.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const HERALD = process.env.HERALD_BIN || new URL('../../build/herald', import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ADMIN = 'hak_' + 'b'.repeat(40);

let herald, url, dir, browser, key, token;

function startHerald() {
  dir = mkdtempSync(join(tmpdir(), 'herald-browser-'));
  herald = spawn(HERALD, ['serve', '--listen', '127.0.0.1:0', '--database', join(dir, 'b.db'),
                          '--test-clock', '--log-level', 'warn'],
                 { env: { ...process.env, HERALD_ADMIN_KEY: ADMIN }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    herald.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    herald.on('exit', (code) => reject(new Error('herald exited ' + code)));
  });
}

async function api(method, path, auth, body) {
  const r = await fetch(url + path, {
    method,
    headers: { Authorization: 'Bearer ' + auth, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

before(async () => {
  url = await startHerald();
  let r = await api('POST', '/v1/workspaces', ADMIN, { id: 'web', name: 'Web', timezone: 'Europe/Dublin' });
  assert.equal(r.status, 201);
  key = r.body.api_key;
  for (const id of ['m_sam', 'm_priya'])
    assert.equal((await api('PUT', '/v1/members/' + id, key, { name: id, role: 'practitioner' })).status, 201);
  token = (await api('POST', '/v1/members/m_sam/tokens', key, {})).body.token;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (herald && herald.exitCode === null) {
    const exited = new Promise((r) => herald.on('exit', r));
    herald.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a real EventSource gets the count, notifications with ids, state changes and pop-ups', async () => {
  const page = await browser.newPage();
  await page.goto(url + '/healthz'); // the page's origin is Herald's, as for /ui/ later
  await page.evaluate((src) => {
    window.got = [];
    const es = new EventSource(src);
    for (const type of ['count', 'notification', 'notification_state', 'message'])
      es.addEventListener(type, (e) => window.got.push({ type, id: e.lastEventId, data: JSON.parse(e.data) }));
    window.es = es;
  }, url + '/v1/me/stream?access_token=' + token);
  const waitFor = (type, n = 1) => page.waitForFunction(
    ([t, k]) => window.got.filter((e) => e.type === t).length >= k, [type, n], { timeout: 10000 });

  await waitFor('count');
  assert.equal(await page.evaluate(() => window.es.readyState), 1 /* OPEN */);

  const booked = await api('POST', '/v1/events', key, {
    id: 'evt_web_1', type: 'appointment.booked', occurred_at: '2026-11-21T09:30:00Z',
    source: 'booking_page', actor: { kind: 'client', id: 'cl_1', name: 'Dana Reyes' },
    data: { appointment: { id: 'ap_1', starts_at: '2026-11-24T14:30:00Z', staff_ids: ['m_sam'] },
            client: { id: 'cl_1', name: 'Dana Reyes' } } });
  assert.equal(booked.status, 202);
  await waitFor('notification');
  let got = await page.evaluate(() => window.got);
  const note = got.find((e) => e.type === 'notification');
  assert.match(note.id, /^\d+$/);                       // the browser saw the id: line
  assert.equal(note.data.notification.type, 'appointment.booked');
  assert.equal(note.data.unread, 1);
  assert.deepEqual(got.at(-1), { type: 'count', id: note.id, data: { unread: 1 } });

  // a state change made by another session arrives here
  const id = booked.body.notifications[0].id;
  assert.equal((await api('PATCH', '/v1/me/notifications/' + id, token, { state: 'read' })).status, 200);
  await waitFor('notification_state');
  got = await page.evaluate(() => window.got);
  const state = got.find((e) => e.type === 'notification_state');
  assert.deepEqual(state.data, { ids: [id], state: 'read', unread: 0 });
  assert.ok(Number(state.id) > Number(note.id));

  // a message pops up at once; its notification comes when the window closes
  const msg = await api('POST', '/v1/events', key, {
    id: 'msg_web_1', type: 'message.received', occurred_at: '2026-11-21T09:31:00Z',
    actor: { kind: 'client', id: 'cl_1', name: 'Dana Reyes' },
    data: { conversation: { id: 'cv_1', name: 'Intake', participant_ids: ['m_sam', 'm_priya'] },
            message: { id: 'mm_1', text: 'Can we move to Friday?' } } });
  assert.equal(msg.status, 202);
  await waitFor('message');
  got = await page.evaluate(() => window.got);
  const pop = got.find((e) => e.type === 'message');
  // A pop-up has no id line, so the browser keeps the last id it saw: the
  // one it will send back as Last-Event-ID if it reconnects now.
  assert.equal(pop.id, state.id);
  assert.equal(pop.data.message.text, 'Can we move to Friday?');
  assert.equal(got.filter((e) => e.type === 'notification').length, 1);

  assert.equal((await api('POST', '/v1/test/clock', ADMIN, { advance_s: 181 })).status, 200);
  await waitFor('notification', 2);
  got = await page.evaluate(() => window.got);
  const grouped = got.filter((e) => e.type === 'notification')[1];
  assert.equal(grouped.data.notification.body, '1 new message from Dana Reyes in Intake.');
  await page.close();
});
