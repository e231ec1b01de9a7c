// Herald's browser components in a real browser (Debian chromium, headless,
// playwright-core), embedded the way a host app embeds them: a page on
// another origin loads /ui/herald.js from Herald and passes a member token.
// What a person sees: the badge moving live, the panel's tabs, mark all
// read, a second tab following the first, a message pop-up that reaches the
// feed only when its window closes, settings that survive a reload, and a
// keyboard-only pass. Screenshots go to test-output/screenshots (or
// $HERALD_SCREENSHOTS).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const HERALD = process.env.HERALD_BIN || new URL('../../build/herald', import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ADMIN = 'hak_' + 'c'.repeat(40);
const SHOTS = process.env.HERALD_SCREENSHOTS || new URL('../../test-output/screenshots', import.meta.url).pathname;

let herald, url, dir, browser, site, siteUrl, key;

function startHerald() {
  dir = mkdtempSync(join(tmpdir(), 'herald-ui-'));
  herald = spawn(HERALD, ['serve', '--listen', '127.0.0.1:0', '--database', join(dir, 'ui.db'),
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
    method, headers: { Authorization: 'Bearer ' + auth, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

// The host app's page: another origin, Herald's components by <script src>.
function hostPage(token, theme) {
  const attrs = `base="${url}" token="${token}"${theme ? ` theme="${theme}"` : ''}`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host app</title>
    <link rel="icon" href="data:,">
    <script type="module" src="${url}/ui/herald.js"></script>
    <style>body { margin: 0; font-family: system-ui; background: ${theme === 'dark' ? '#0f1114' : '#f5f6f8'}; }
      header { display: flex; justify-content: flex-end; padding: 8px 16px; background: ${theme === 'dark' ? '#17191d' : '#fff'}; }
      .wrap { position: relative; } #inbox { position: absolute; right: 0; top: 48px; width: min(400px, 100vw); }
      @media (max-width: 480px) { .wrap { position: static; } #inbox { position: fixed; left: 0; right: 0; top: 56px; width: auto; } }
      main { padding: 16px; } </style></head>
    <body><header><div class="wrap"><herald-bell id="bell" for="inbox" ${attrs}></herald-bell>
      <herald-inbox id="inbox" hidden ${attrs}></herald-inbox></div></header>
      <main><herald-preferences id="prefs" ${attrs}></herald-preferences></main>
      <herald-popups ${attrs} conversation-href="/messages/{conversation_id}"></herald-popups></body></html>`;
}

async function member(id, role = 'practitioner') {
  const r = await api('PUT', '/v1/members/' + id, key, { name: id.replace('m_', '').replace(/^./, (c) => c.toUpperCase()) + ' Lee', role, locale: 'en-IE', timezone: 'Europe/Dublin' });
  assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
  return (await api('POST', `/v1/members/${id}/tokens`, key, {})).body.token;
}

let seq = 0;
async function booking(staff, extra = {}) {
  const id = `evt_ui_${++seq}`;
  const r = await api('POST', '/v1/events', key, {
    id, type: 'appointment.booked', occurred_at: new Date().toISOString(), source: 'booking_page',
    actor: { kind: 'client', id: 'cl_1', name: 'Dana Reyes' },
    data: { appointment: { id: 'ap_' + seq, starts_at: '2026-11-24T14:30:00Z', staff_ids: [staff] },
            client: { id: 'cl_1', name: 'Dana Reyes' }, ...extra },
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return r.body;
}

async function open(token, opts = {}) {
  const page = await browser.newPage({ viewport: opts.viewport || { width: 1100, height: 800 },
                                       colorScheme: opts.theme === 'dark' ? 'dark' : 'light' });
  page.on('pageerror', (e) => { throw e; });
  await page.goto(`${siteUrl}/?token=${encodeURIComponent(token)}&theme=${opts.theme || ''}`);
  await page.locator('herald-bell button').waitFor();
  return page;
}

const badge = (page) => page.locator('herald-bell .badge');
const items = (page) => page.locator('herald-inbox li');

async function openPanel(page) {
  await page.locator('herald-bell button').click();
  await page.locator('herald-inbox .panel').waitFor({ state: 'visible' });
}

async function tab(page, name) {
  await page.locator(`herald-inbox [role=tab][data-filter=${name}]`).click();
  await page.locator('herald-inbox ul[aria-busy=false]').waitFor({ state: 'attached' });
}

async function shot(page, name, target) {
  mkdirSync(SHOTS, { recursive: true });
  await (target ? page.locator(target) : page).screenshot({ path: join(SHOTS, name + '.png') });
}

before(async () => {
  url = await startHerald();
  let r = await api('POST', '/v1/workspaces', ADMIN, { id: 'ui', name: 'Harbour Physiotherapy', timezone: 'Europe/Dublin' });
  assert.equal(r.status, 201);
  key = r.body.api_key;
  site = http.createServer((req, res) => {
    const q = new URL(req.url, 'http://x').searchParams;
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(hostPage(q.get('token'), q.get('theme')));
  });
  await new Promise((r2) => site.listen(0, '127.0.0.1', r2));
  siteUrl = `http://127.0.0.1:${site.address().port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--font-render-hinting=none'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (site) await new Promise((r) => site.close(r));
  if (herald && herald.exitCode === null) {
    const exited = new Promise((r) => herald.on('exit', r));
    herald.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the badge follows new notifications live, from another origin', async () => {
  const token = await member('m_ann');
  const page = await open(token);
  await assert.doesNotReject(badge(page).waitFor({ state: 'hidden' }));
  assert.equal(await page.locator('herald-bell button').getAttribute('aria-label'), 'Notifications, none unread');
  await booking('m_ann');
  await badge(page).waitFor({ state: 'visible' });
  assert.equal(await badge(page).textContent(), '1');
  await booking('m_ann');
  await page.waitForFunction(() => document.querySelector('herald-bell').shadowRoot.querySelector('.badge').textContent === '2');
  assert.equal(await page.locator('herald-bell button').getAttribute('aria-label'), 'Notifications, 2 unread');
  await shot(page, 'bell', 'herald-bell');
  await page.close();
});

test('each tab shows its own items, and the actions move them', async () => {
  const token = await member('m_bea');
  for (let i = 0; i < 3; i++) await booking('m_bea');
  const page = await open(token);
  await openPanel(page);
  await items(page).nth(2).waitFor();
  assert.equal(await items(page).count(), 3);
  // mark the first read: it leaves Unread
  await items(page).first().locator('[data-act=read]').click();
  await page.waitForFunction(() => document.querySelector('herald-inbox').shadowRoot.querySelectorAll('li').length === 2);
  // ignore the next: it leaves Unread too
  await items(page).first().locator('[data-act=ignore]').click();
  await page.waitForFunction(() => document.querySelector('herald-inbox').shadowRoot.querySelectorAll('li').length === 1);
  await page.waitForFunction(() => document.querySelector('herald-bell').shadowRoot.querySelector('.badge').textContent === '1');
  await tab(page, 'read');
  assert.equal(await items(page).count(), 1);
  assert.equal(await items(page).first().getAttribute('class'), 'read');
  await tab(page, 'ignored');
  assert.equal(await items(page).count(), 1);
  assert.equal(await items(page).first().getAttribute('class'), 'ignored');
  await tab(page, 'all');
  assert.equal(await items(page).count(), 3);
  // restore the ignored one: it is unread again
  await page.locator('herald-inbox li.ignored [data-act=restore]').click();
  await page.waitForFunction(() => document.querySelector('herald-inbox').shadowRoot.querySelectorAll('li.unread').length === 2);
  await page.waitForFunction(() => document.querySelector('herald-bell').shadowRoot.querySelector('.badge').textContent === '2');
  // an action from the keyboard: the focus stays on the same button, repainted
  const readButton = items(page).locator('[data-act=read]').first();
  await readButton.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('herald-bell').shadowRoot.querySelector('.badge').textContent === '1');
  assert.match(await page.evaluate(() => document.querySelector('herald-inbox').shadowRoot.activeElement?.getAttribute('aria-label')),
               /^Mark as unread: /);
  await tab(page, 'unread');
  assert.equal(await items(page).count(), 1);
  await shot(page, 'panel', 'herald-inbox');
  await page.close();
});

test('mark all read empties Unread and clears the badge', async () => {
  const token = await member('m_cal');
  for (let i = 0; i < 4; i++) await booking('m_cal');
  const page = await open(token);
  await openPanel(page);
  await items(page).nth(3).waitFor();
  await page.locator('herald-inbox .mark-all').click();
  await page.locator('herald-inbox .empty').waitFor({ state: 'visible' });
  assert.equal(await page.locator('herald-inbox .empty').textContent(), 'You are all caught up.');
  await badge(page).waitFor({ state: 'hidden' });
  assert.ok(await page.locator('herald-inbox .mark-all').isDisabled());
  await tab(page, 'read');
  assert.equal(await items(page).count(), 4);
  await page.close();
});

test('a second tab sees the state changes made in the first', async () => {
  const token = await member('m_dee');
  for (let i = 0; i < 2; i++) await booking('m_dee');
  const a = await open(token), b = await open(token);
  await openPanel(a);
  await openPanel(b);
  await items(b).nth(1).waitFor();
  await items(a).nth(1).waitFor();
  await items(a).first().locator('[data-act=read]').click();
  await b.waitForFunction(() => document.querySelector('herald-inbox').shadowRoot.querySelectorAll('li').length === 1);
  await b.waitForFunction(() => document.querySelector('herald-bell').shadowRoot.querySelector('.badge').textContent === '1');
  await a.locator('herald-inbox .mark-all').click();
  await b.locator('herald-inbox .empty').waitFor({ state: 'visible' });
  await badge(b).waitFor({ state: 'hidden' });
  await a.close();
  await b.close();
});

test('a message pops up at once and reaches the feed only when its window closes', async () => {
  const token = await member('m_eve');
  const page = await open(token);
  await openPanel(page);
  await page.locator('herald-inbox .empty').waitFor({ state: 'visible' });
  const r = await api('POST', '/v1/events', key, {
    id: 'evt_msg_1', type: 'message.received', occurred_at: new Date().toISOString(), source: 'client_portal',
    actor: { kind: 'client', id: 'cl_1', name: 'Dana Reyes' },
    data: { conversation: { id: 'conv-dana', name: 'Knee rehab', participant_ids: ['m_eve'] },
            message: { id: 'msg_1', text: 'Is tomorrow still on?' } },
  });
  assert.equal(r.status, 202);
  const toast = page.locator('herald-popups .toast');
  await toast.waitFor({ state: 'visible' });
  assert.match(await toast.textContent(), /Dana Reyes/);
  assert.match(await toast.textContent(), /Is tomorrow still on\?/);
  assert.equal(await toast.locator('a').getAttribute('href'), '/messages/conv-dana');
  assert.equal(await page.locator('herald-popups .stack').getAttribute('aria-live'), 'polite');
  await shot(page, 'popup', 'herald-popups');
  assert.equal(await items(page).count(), 0, 'not in the feed yet');
  // the window (180 s) closes when the test clock passes it
  const c = await api('POST', '/v1/test/clock', ADMIN, { advance_s: 181 });
  assert.equal(c.status, 200);
  await items(page).first().waitFor();
  assert.match(await items(page).first().textContent(), /1 new message from Dana Reyes/);
  await page.close();
});

test('settings are saved and shown again after a reload', async () => {
  const token = await member('m_fin');
  const page = await open(token);
  const email = page.locator('herald-preferences #m-billing-email');
  await email.waitFor();
  assert.ok(await email.isChecked());
  // every change is saved at once: wait for each PATCH
  const saved = () => page.waitForResponse((r) => r.url().endsWith('/v1/me/preferences') &&
                                                 r.request().method() === 'PATCH' && r.ok());
  let s = saved();
  await email.uncheck();
  await s;
  s = saved();
  await page.locator('herald-preferences #cancel-channels').selectOption('email_and_sms');
  await s;
  s = saved();
  await page.locator('herald-preferences #cancel-within').check();
  await s;
  s = saved();
  await page.locator('herald-preferences #cancel-days').fill('3');
  await page.locator('herald-preferences #cancel-days').press('Tab');
  await s;
  s = saved();
  await page.locator('herald-preferences #push-enabled').uncheck();
  await s;
  await page.locator('herald-preferences .saved', { hasText: 'Saved' }).waitFor();
  // the critical type is shown locked
  assert.ok(await page.locator('herald-preferences .locked input').first().isDisabled());
  await shot(page, 'settings', 'herald-preferences');
  await page.reload();
  await page.locator('herald-preferences #m-billing-email').waitFor();
  assert.equal(await page.locator('herald-preferences #m-billing-email').isChecked(), false);
  assert.equal(await page.locator('herald-preferences #cancel-channels').inputValue(), 'email_and_sms');
  assert.ok(await page.locator('herald-preferences #cancel-within').isChecked());
  assert.equal(await page.locator('herald-preferences #cancel-days').inputValue(), '3');
  assert.equal(await page.locator('herald-preferences #push-enabled').isChecked(), false);
  // and the server agrees
  const prefs = (await api('GET', '/v1/me/preferences', token)).body;
  assert.equal(prefs.categories.billing.email, false);
  assert.equal(prefs.sources.billing.email, 'member');
  assert.deepEqual(prefs.cancellation_alerts, { channels: 'email_and_sms', within_days: 3 });
  assert.equal(prefs.push_enabled, false);
  // "default" puts the practice's value back
  await page.locator('herald-preferences .reset[data-cat=billing][data-ch=email]').click();
  await page.waitForFunction(() => document.querySelector('herald-preferences').shadowRoot.querySelector('#m-billing-email').checked);
  await page.close();
});

test('keyboard only: bell, panel, tabs, an action, back, then settings', async () => {
  const token = await member('m_gus');
  for (let i = 0; i < 2; i++) await booking('m_gus');
  const page = await open(token);
  await page.waitForFunction(() => document.querySelector('herald-bell').shadowRoot.querySelector('.badge').textContent === '2');
  const active = () => page.evaluate(() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    return el ? (el.getAttribute('aria-label') || el.getAttribute('data-filter') || el.className || el.id || el.tagName) : null;
  });
  await page.keyboard.press('Tab');
  assert.equal(await active(), 'Notifications, 2 unread');
  await page.keyboard.press('Enter');
  await page.locator('herald-inbox .panel').waitFor({ state: 'visible' });
  assert.equal(await page.locator('herald-bell button').getAttribute('aria-expanded'), 'true');
  await page.keyboard.press('Tab'); // Mark all read
  assert.equal(await active(), 'mark-all');
  await page.keyboard.press('Tab'); // Close (the panel opened from the bell)
  assert.equal(await active(), 'Close');
  await page.keyboard.press('Tab'); // the selected tab
  assert.equal(await active(), 'unread');
  await page.keyboard.press('ArrowRight');
  assert.equal(await active(), 'read');
  assert.equal(await page.locator('herald-inbox [data-filter=read]').getAttribute('aria-selected'), 'true');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await active(), 'unread');
  await page.locator('herald-inbox ul[aria-busy=false] li').nth(1).waitFor();
  await page.keyboard.press('Tab'); // the first item
  await page.keyboard.press('Tab'); // its "Mark as read"
  assert.match(await active(), /^Mark as read: New booking/);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('herald-bell').shadowRoot.querySelector('.badge').textContent === '1');
  // focus stays in the list, on what remains
  assert.match(await active(), /^(open|Mark as read: New booking)/);
  await page.keyboard.press('Escape');
  assert.equal(await active(), 'Notifications, 1 unread');
  assert.ok(await page.locator('herald-inbox').isHidden());
  // on into the settings: the first checkbox, toggled with Space
  await page.keyboard.press('Tab');
  assert.match(await active(), /^Scheduling by In-app/);
  await page.keyboard.press('Space');
  await page.locator('herald-preferences .saved', { hasText: 'Saved' }).waitFor();
  const prefs = (await api('GET', '/v1/me/preferences', token)).body;
  assert.equal(prefs.categories.scheduling.in_app, false);
  // focus is visible
  const outline = await page.evaluate(() => {
    const p = document.querySelector('herald-preferences');
    return getComputedStyle(p.shadowRoot.activeElement).outlineStyle;
  });
  assert.notEqual(outline, 'none');
  await page.close();
});

test('light and dark, desktop and phone width', async () => {
  const token = await member('m_hal');
  for (let i = 0; i < 3; i++) await booking('m_hal');
  await api('POST', '/v1/events', key, {
    id: 'evt_cancel_hal', type: 'appointment.cancelled', occurred_at: new Date().toISOString(), source: 'client_portal',
    actor: { kind: 'client', id: 'cl_2', name: 'Omar Haddad' },
    data: { appointment: { id: 'ap_x', starts_at: '2026-11-25T10:30:00Z', staff_ids: ['m_hal'] },
            client: { id: 'cl_2', name: 'Omar Haddad' }, reason: 'Feeling unwell' } });
  for (const theme of ['light', 'dark']) {
    const page = await open(token, { theme });
    await openPanel(page);
    await items(page).nth(3).waitFor();
    await shot(page, `panel-${theme}`);
    await page.close();
  }
  const phone = await open(token, { viewport: { width: 390, height: 760 } });
  await openPanel(phone);
  await items(phone).first().waitFor();
  const box = await phone.locator('herald-inbox .panel').boundingBox();
  assert.ok(box.width <= 390, 'the panel fits a phone');
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  await shot(phone, 'panel-phone');
  await phone.close();
  assert.equal(overflow, false, 'no sideways scrolling on a phone');
});

test('more pages load as the list scrolls; times show the full date on hover', async () => {
  const token = await member('m_ivy');
  for (let i = 0; i < 45; i++) await booking('m_ivy');
  const page = await open(token);
  await openPanel(page);
  await items(page).nth(19).waitFor();
  assert.equal(await items(page).count(), 20);
  const t = items(page).first().locator('time');
  assert.match(await t.getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/);
  assert.match(await t.getAttribute('title'), /\d{4}/);
  assert.equal(await t.textContent(), 'now');
  for (const want of [40, 45]) {
    await page.locator('herald-inbox .scroll').evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await page.waitForFunction((n) => document.querySelector('herald-inbox').shadowRoot.querySelectorAll('li').length === n, want);
  }
  assert.ok(await page.locator('herald-inbox .more').isHidden(), 'nothing more to load');
  const ids = await page.evaluate(() => [...document.querySelector('herald-inbox').shadowRoot.querySelectorAll('li')].map((li) => li.dataset.id));
  assert.equal(new Set(ids).size, 45, 'no item twice');
  await page.close();
});

test('an expired token is reported to the host, which hands a new one', async () => {
  // a token that is already expired: signed with the workspace secret by hand
  const token = await member('m_joy');
  const page = await open(token);
  await page.locator('herald-bell button').waitFor();
  const bad = token.split('.').slice(0, 2).join('.') + '.' + 'A'.repeat(43);
  const seen = page.evaluate(() => new Promise((resolve) => {
    document.addEventListener('herald-unauthorized', (e) => resolve(e.detail && e.detail.code), { once: true });
  }));
  await page.evaluate((t) => document.querySelector('herald-inbox').setAttribute('token', t), bad);
  assert.equal(await seen, 'invalid_token');
  // the host gives a good one back: all is well again
  await page.evaluate((t) => document.querySelector('herald-inbox').setAttribute('token', t), token);
  await booking('m_joy');
  await openPanel(page);
  await items(page).first().waitFor();
  await page.close();
});

// every element of the page, given a token (or none: signed out)
async function setToken(page, token) {
  await page.evaluate((t) => {
    for (const el of document.querySelectorAll('herald-bell, herald-inbox, herald-popups, herald-preferences'))
      if (t) el.setAttribute('token', t); else el.removeAttribute('token');
  }, token);
}

// what the page's tasks queued so far has run (two frames: fetch answers, then their awaits)
const settled = (page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

test('signing out empties every element; a late answer for the last member is dropped', async () => {
  const kim = await member('m_kim'), lou = await member('m_lou');
  await booking('m_kim');
  await booking('m_kim');
  await booking('m_lou');
  await api('PATCH', '/v1/me/preferences', kim, { categories: { billing: { email: false } } });
  const page = await open(kim);
  await openPanel(page);
  await items(page).nth(1).waitFor();
  await page.locator('herald-preferences #m-billing-email').waitFor();
  await setToken(page, null);
  await badge(page).waitFor({ state: 'hidden' });
  assert.equal(await items(page).count(), 0);
  assert.equal(await page.locator('herald-preferences input').count(), 0, 'no settings of anyone');
  assert.equal(await page.locator('herald-inbox .count').textContent(), '');
  // Kim again, but Kim's feed and settings answer only after Lou has signed in
  let release;
  const gate = new Promise((r) => { release = r; });
  await page.route('**/v1/me/**', async (route) => {
    if (route.request().headers().authorization === 'Bearer ' + kim) await gate;
    await route.continue();
  });
  const kims = (path) => page.waitForResponse((r) => r.url().includes(path) &&
                                                     r.request().headers().authorization === 'Bearer ' + kim);
  const kimsAnswers = Promise.all([kims('/v1/me/notifications?'), kims('/v1/me/preferences')]);
  await setToken(page, kim);
  await setToken(page, lou);
  await page.waitForFunction(() => document.querySelector('herald-bell').shadowRoot.querySelector('.badge').textContent === '1');
  await items(page).first().waitFor();
  await page.locator('herald-preferences #m-billing-email').waitFor();
  release();
  await kimsAnswers;
  await settled(page);
  assert.equal(await items(page).count(), 1, "Lou's one item, none of Kim's");
  assert.equal(await page.locator('herald-preferences #m-billing-email').isChecked(), true, "Lou's settings, not Kim's");
  assert.equal(await badge(page).textContent(), '1');
  await page.unroute('**/v1/me/**');
  await page.close();
});

test('a change made while a page of the feed is loading still shows', async () => {
  const token = await member('m_max');
  const [a] = (await booking('m_max')).notifications;
  await booking('m_max');
  const page = await open(token);
  await openPanel(page);
  await items(page).nth(1).waitFor();
  await tab(page, 'read');
  // the Unread page is read now, and held until the change has come by the stream
  let release, fetched;
  const gate = new Promise((r) => { release = r; });
  const got = new Promise((r) => { fetched = r; });
  await page.route('**/v1/me/notifications?filter=unread*', async (route) => {
    const response = await route.fetch();
    fetched();
    await gate;
    await route.fulfill({ response });
  });
  await page.locator('herald-inbox [role=tab][data-filter=unread]').click();
  await got;
  const r = await api('PATCH', `/v1/me/notifications/${a.id}`, token, { state: 'read' });
  assert.equal(r.status, 200);
  await page.waitForFunction(() => document.querySelector('herald-bell').shadowRoot.querySelector('.badge').textContent === '1');
  release();
  await page.locator('herald-inbox ul[aria-busy=false]').waitFor({ state: 'attached' });
  await settled(page);
  assert.equal(await items(page).count(), 1, 'the item read meanwhile is not shown as unread');
  await page.unroute('**/v1/me/notifications?filter=unread*');
  await page.close();
});

test('a renewed token carries on: nothing reloads, the stream resumes, one herald-unauthorized', async () => {
  const token = await member('m_ned');
  await booking('m_ned');
  const page = await open(token);
  await openPanel(page);
  await items(page).first().waitFor();
  await page.evaluate(() => {
    window.told = 0;
    document.addEventListener('herald-unauthorized', () => window.told++);
    document.querySelector('herald-inbox').shadowRoot.querySelector('li').kept = true;
  });
  // every element gets a token Herald refuses: the host hears of it once
  const bad = token.split('.').slice(0, 2).join('.') + '.' + 'A'.repeat(43);
  await setToken(page, bad);
  await page.waitForFunction(() => window.told === 1);
  const refused = page.waitForResponse((r) => r.url().includes('/v1/me/notifications?') && r.status() === 401);
  await tab(page, 'all');
  await refused;
  await settled(page);
  assert.equal(await page.evaluate(() => window.told), 1);
  await tab(page, 'unread');
  // a fresh token for the same member
  const fresh = (await api('POST', '/v1/members/m_ned/tokens', key, {})).body.token;
  await setToken(page, fresh);
  await items(page).first().waitFor();
  await page.evaluate(() => { document.querySelector('herald-inbox').shadowRoot.querySelector('li').kept = true; });
  // and the next renewal, before anything failed: nothing reloads
  const next = (await api('POST', '/v1/members/m_ned/tokens', key, { ttl_s: 7200 })).body.token;
  assert.notEqual(next, fresh);
  await setToken(page, next);
  await booking('m_ned');
  await items(page).nth(1).waitFor();
  assert.equal(await page.evaluate(() => document.querySelector('herald-inbox').shadowRoot.querySelectorAll('li')[1].kept), true,
               'the list was not reloaded');
  // a host that renews inside its handler: the call that met the refused token is made again, and works
  await page.evaluate((good) => document.addEventListener('herald-unauthorized', () => {
    for (const el of document.querySelectorAll('herald-bell, herald-inbox, herald-popups, herald-preferences'))
      el.setAttribute('token', good);
  }), next);
  await setToken(page, next.split('.').slice(0, 2).join('.') + '.' + 'B'.repeat(43));
  await tab(page, 'all');
  await items(page).nth(1).waitFor();
  assert.ok(await page.locator('herald-inbox .error').isHidden(), 'no error shown');
  await page.close();
});

// A TCP relay between the page and Herald that the test can cut: every
// connection through it closes, and new ones are refused until it resumes.
async function relay(target) {
  const net = await import('node:net');
  const to = new URL(target);
  const open = new Set();
  let cut = false;
  const server = net.createServer((c) => {
    if (cut) { c.destroy(); return; }
    const up = net.connect(Number(to.port), to.hostname);
    open.add(c).add(up);
    c.pipe(up).pipe(c);
    const end = () => { c.destroy(); up.destroy(); open.delete(c); open.delete(up); };
    c.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cut() { cut = true; for (const s of open) s.destroy(); open.clear(); },
    resume() { cut = false; },
    close: () => new Promise((r) => { for (const s of open) s.destroy(); server.close(r); }),
  };
}

test('after a dropped connection the stream resumes: what happened meanwhile shows, once', async () => {
  const token = await member('m_oli');
  const [first] = (await booking('m_oli')).notifications;
  await booking('m_oli');
  const r = await relay(url);
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  page.on('pageerror', (e) => { throw e; });
  await page.setContent(hostPage(token).replaceAll(`base="${url}"`, `base="${r.url}"`));
  await openPanel(page);
  await items(page).nth(1).waitFor();
  r.cut();
  await page.locator('herald-bell .offline').waitFor({ state: 'visible' });
  // while the page is cut off: one more booking, and the first item read elsewhere
  const [third] = (await booking('m_oli')).notifications;
  assert.equal((await api('PATCH', `/v1/me/notifications/${first.id}`, token, { state: 'read' })).status, 200);
  r.resume();
  await page.locator('herald-bell .offline').waitFor({ state: 'hidden' });
  await page.waitForFunction((id) => [...document.querySelector('herald-inbox').shadowRoot.querySelectorAll('li')]
    .some((li) => li.dataset.id === id), third.id);
  await page.waitForFunction(() => document.querySelector('herald-inbox').shadowRoot.querySelectorAll('li').length === 2);
  const ids = await page.evaluate(() => [...document.querySelector('herald-inbox').shadowRoot.querySelectorAll('li')].map((li) => li.dataset.id));
  assert.ok(!ids.includes(first.id), 'the item read elsewhere left Unread');
  assert.equal(await badge(page).textContent(), '2');
  await page.close();
  await r.close();
});
