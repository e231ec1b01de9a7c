// The demo page (herald serve --demo), as someone trying Herald sees it: a
// sample practice, a member picker, the bell, the panel and the settings,
// the simulate panel, and the sink showing what Herald would have sent.
// Screenshots of the page go to test-output/screenshots (or
// $HERALD_SCREENSHOTS), for docs/ and the README.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const HERALD = process.env.HERALD_BIN || new URL('../../build/herald', import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.HERALD_SCREENSHOTS || new URL('../../test-output/screenshots', import.meta.url).pathname;

let herald, url, dir, browser, banner = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-demo-'));
  herald = spawn(HERALD, ['serve', '--listen', '127.0.0.1:0', '--database', join(dir, 'demo.db'), '--demo',
                          '--test-clock', '--log-level', 'warn'],
                 { env: { ...process.env, HERALD_ADMIN_KEY: 'hak_' + 'd'.repeat(40) }, stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise((resolve, reject) => {
    herald.stdout.on('data', (d) => {
      banner += d;
      const m = banner.match(/listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    herald.on('exit', (code) => reject(new Error('herald exited ' + code)));
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
                                    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--font-render-hinting=none'] });
});

after(async () => {
  if (browser) await browser.close();
  if (herald && herald.exitCode === null) {
    const exited = new Promise((r) => herald.on('exit', r));
    herald.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, name + '.png') });
}

const unread = (page) => page.evaluate(() => document.querySelector('herald-bell').unread);

test('the banner points at the demo page, and / leads there', async () => {
  assert.match(banner, new RegExp(`demo page\\s+${url.replace(/[.]/g, '\\.')}/ui/`));
  const r = await fetch(url + '/', { redirect: 'manual' });
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), '/ui/');
});

test('simulate events, watch the bell, the panel and the sink', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url + '/');
  // the picker fills once the page has listed the members
  await page.waitForFunction(() => document.getElementById('member')?.value);
  assert.equal(await page.locator('#member').inputValue(), 'm_sam');
  const options = await page.locator('#member option').allTextContents();
  assert.deepEqual(options.sort(), ['Olivia Byrne (owner)', 'Priya Nair (practitioner)',
                                    'Rita Walsh (reception)', 'Sam Lee (practitioner)']);
  await page.locator('herald-preferences #m-scheduling-in_app').waitFor();
  // every kind of event the simulate panel offers is accepted
  const buttons = page.locator('#sim button');
  const n = await buttons.count();
  assert.ok(n >= 15, `${n} simulations`);
  for (let i = 0; i < n; i++) {
    await buttons.nth(i).click();
    await page.waitForFunction((i) => document.getElementById('sim-status').textContent.length > 0, i);
    const status = await page.locator('#sim-status').textContent();
    assert.doesNotMatch(status, /must|invalid|required|not /i, status);
    await page.locator('#sim-status').evaluate((el) => { el.textContent = ''; });
  }
  await page.waitForFunction(() => document.querySelector('herald-bell').unread > 5);
  // Sam has cancellation alerts by email and SMS and a phone: the sink shows all three
  await page.waitForFunction(() => ['email', 'sms', 'push'].every((c) =>
    [...document.querySelectorAll('#sink .ch')].some((el) => el.textContent === c)));
  // the conversation's messages popped up, and wait for their window
  assert.ok(await page.locator('herald-popups .toast').count() >= 1);
  await page.locator('herald-bell button').click();
  await page.locator('herald-inbox li').nth(4).waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(300);
  await shot(page, 'demo');
  // another member sees their own bell
  const before = await unread(page);
  await page.locator('#member').selectOption('m_rita');
  await page.waitForFunction((b) => document.querySelector('herald-bell').unread !== b, before);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the demo on a phone', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  await page.goto(url + '/');
  await page.locator('herald-preferences #m-scheduling-in_app').waitFor();
  await page.locator('#sim button').first().click();
  await page.locator('herald-bell button').click();
  await page.locator('herald-inbox li').first().waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  await shot(page, 'demo-phone');
  assert.equal(overflow, false, 'no sideways scrolling');
  await page.close();
});
