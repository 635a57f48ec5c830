import { type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, launchBrowser, pagePerTest, screenshot, signIn } from '../support/browser.js';
import { ADMIN_TOKEN, startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { bind } from '../support/employees.js';
import { newGuid, push, soapPush } from '../support/push.js';

// The dashboard (issue 11, "the dashboard says what it means") in real headless Chromium against
// the real service and a fake WeChat: counts labelled precisely (pushes received vs messages, what
// the ERP was told vs the outcome now, sandbox apart from success, unknown apart from AE), the
// 7-day and 24-hour charts drawn as inline SVG, the refresh every 30 s that stops while the tab is
// hidden (driven by Playwright's fake clock, nothing waits on real time), the ticking token age,
// and the sign-in's wait after too many failures. Screenshots: test-output/dash-*.png.

const TIMEOUT = 90_000;
const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

let db: TestDatabase;
let bridge: TestBridge;
let browser: Browser;
const pages = pagePerTest(() => browser, { axe: true });

beforeAll(async () => {
  db = await createTestDatabase('dashboard_ui');
  bridge = await startBridge({ databaseUrl: db.url });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await bridge?.stop();
  await db?.drop();
});

afterEach(() => pages.closeAndCheck());

// Counts the page's own calls as it makes them (no waiting on network events to arrive).
const COUNT_FETCHES = `
  window.__calls = { stats: 0, series: 0 };
  const original = window.fetch;
  window.fetch = function (input, init) {
    const url = String(input && input.url ? input.url : input);
    if (/\\/admin\\/api\\/stats(\\?|$)/.test(url)) window.__calls.stats++;
    if (/\\/admin\\/api\\/stats\\/series/.test(url)) window.__calls.series++;
    return original.call(this, input, init);
  };`;

const shot = (page: Page, name: string) => screenshot(page, `dash-${name}`);

const statsCalls = (page: Page) => page.evaluate('window.__calls.stats') as Promise<number>;
/** Lets anything a timer set off reach fetch: a render, then the effects after the next frames. */
const settle = (page: Page) => page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 50))))');

function setHidden(page: Page, hidden: boolean): Promise<unknown> {
  return page.evaluate(`(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => ${hidden ? "'hidden'" : "'visible'"} });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} });
    document.dispatchEvent(new Event('visibilitychange'));
  })()`);
}

const text = async (page: Page, selector: string) => ((await page.locator(selector).textContent()) ?? '').replace(/\s+/g, ' ');

describe('dashboard', () => {
  it(
    'labels pushes vs messages, ERP ack vs current outcome, unknown apart from AE; draws 7 daily and 24 hourly buckets',
    async () => {
      const wechat = bridge.wechat!;
      await bind(bridge.url, { employeeNo: '91001', openid: 'oDashGood91001aaaa', name: '郑一', active: true });
      await bind(bridge.url, { employeeNo: '91002', openid: 'oDashGood91002bbbb', name: '郑二', active: true });
      // Delivered.
      expect((await push(bridge.url, soapPush(newGuid(), '91001'))).ackCode).toBe('AA');
      // Delivered, then pushed again by the ERP: two pushes, one message.
      const twice = newGuid();
      expect((await push(bridge.url, soapPush(twice, '91002'))).ackCode).toBe('AA');
      expect((await push(bridge.url, soapPush(twice, '91002'))).ackCode).toBe('AA');
      // The ERP was told AE (unbound); resent after binding: delivered now.
      const fixed = newGuid();
      expect((await push(bridge.url, soapPush(fixed, '91009'))).ackCode).toBe('AE');
      await bind(bridge.url, { employeeNo: '91009', openid: 'oDashLate91009cccc', name: '郑九', active: true });
      const resent = await request(bridge.url).post(`/admin/api/messages/${fixed}/resend`).set(auth).send({ force: false });
      expect(resent.body.ackCode).toBe('AA');
      // Still failed.
      expect((await push(bridge.url, soapPush(newGuid(), '91008'))).ackCode).toBe('AE');
      // Unknown: WeChat answers after the bridge stopped waiting (WECHAT_TIMEOUT_MS 500).
      wechat.script.push({ delayMs: 2000 });
      const unknown = await push(bridge.url, soapPush(newGuid(), '91001'));
      expect(unknown.ackCode).toBe('AE');
      // Refused: not a push the bridge can read.
      expect((await push(bridge.url, 'this is not a push', 'text/xml')).ackCode).toBe('AE');

      const api = (await request(bridge.url).get('/admin/api/stats').set(auth)).body;
      expect(api.last24h).toMatchObject({ pushes: 7, messages: 5, current: { delivered: 3, failed: 1, unknown: 1 } });

      const page = await pages.open();
      await signIn(page, bridge.url);
      const card = page.locator('#card-24h');
      await card.waitFor();
      const day = await text(page, '#card-24h');
      expect(day).toContain('收到推送 7 次');
      expect(day).toContain('涉及消息 5 条');
      expect(day).toContain('当前结果（含手动重发）');
      expect(await card.locator('[data-count=delivered]').textContent()).toBe('3');
      expect(await card.locator('[data-count=failed]').textContent()).toBe('1');
      expect(await card.locator('[data-count=unknown]').textContent()).toBe('1');
      // What the ERP was told at the time, beside the outcome now.
      expect(await text(page, '#card-24h [data-field=erp]')).toBe(`推送时告知 ERP：AA ${api.last24h.erpTold.AA}AE ${api.last24h.erpTold.AE}`);
      expect(api.last24h.erpTold.AA).toBe(2);
      expect(api.last24h.erpTold.AE).toBeGreaterThanOrEqual(3);
      // 3 delivered of 5 sent (the unknown and the failed one count as sent, not as successes).
      expect(await text(page, '#card-24h [data-field=rate]')).toContain('60.0%');
      expect(await text(page, '#card-7d')).toContain('收到推送 7 次');

      // The charts: inline SVG, 7 days and 24 hours, every message in a bucket.
      const week = page.locator('#chart-7d svg .bucket');
      const hours = page.locator('#chart-24h svg .bucket');
      expect(await week.count()).toBe(7);
      expect(await hours.count()).toBe(24);
      const sum = async (loc: typeof week) => (await loc.evaluateAll((gs) => gs.map((g) => Number((g as unknown as { getAttribute(n: string): string }).getAttribute('data-total'))))).reduce((a, b) => a + b, 0);
      const series = (await request(bridge.url).get('/admin/api/stats/series?range=24h').set(auth)).body;
      const seriesTotal = series.buckets.reduce((n: number, b: Record<string, number>) => n + b.AA! + b.AE! + b.unknown! + b.sandbox!, 0);
      expect(seriesTotal).toBeGreaterThanOrEqual(5);
      expect(await sum(hours)).toBe(seriesTotal);
      expect(await sum(week)).toBe(seriesTotal);
      expect(await page.locator('#chart-7d svg').getAttribute('role')).toBe('img');
      expect(await page.locator('#chart-24h svg').getAttribute('aria-label')).toContain('已送达 3');
      expect(await text(page, '#chart-24h .chart-legend')).toContain('结果未知 1');
      // Drawn by the page itself: no chart library, nothing from elsewhere.
      expect(await page.locator('script[src]:not([src^="js/"])').count()).toBe(0);
      await shot(page, '01-labels-and-charts');
      expect(await axeViolations(page), 'axe: dashboard').toEqual([]);
      // The numbers behind each chart, as a table.
      await page.locator('#chart-7d .chart-data summary').click();
      expect(await page.locator('#chart-7d .chart-data tbody tr').count()).toBe(7);
      expect(await axeViolations(page), 'axe: chart data table').toEqual([]);

      await page.setViewportSize({ width: 390, height: 844 });
      await page.locator('#chart-7d').scrollIntoViewIfNeeded();
      const [scrollWidth, innerWidth] = (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as [number, number];
      expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
      await shot(page, '02-phone');
      expect(await axeViolations(page), 'axe: dashboard on a phone').toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'refreshes every 30 s while visible, pauses while the tab is hidden, and the token age ticks',
    async () => {
      const page = await pages.open();
      await page.addInitScript(COUNT_FETCHES);
      await page.clock.install();
      await signIn(page, bridge.url);
      await page.locator('#card-token #token-age').waitFor();
      await expect.poll(() => page.locator('#dash-auto').getAttribute('data-state')).toBe('running');
      await settle(page);
      const first = await statsCalls(page);
      expect(first).toBe(1);

      // 30 s on: one refresh.
      await page.clock.fastForward(30_500);
      await expect.poll(() => statsCalls(page)).toBe(2);
      await expect.poll(async () => (await page.locator('#dash-refresh').isEnabled())).toBe(true);

      // The token's age ticks with the clock (it was fetched well under a minute before 30 s ago).
      const age = await page.locator('#token-age').textContent();
      await page.clock.fastForward(40_000);
      await expect.poll(() => page.locator('#token-age').textContent()).not.toBe(age);
      expect(await page.locator('#token-age').textContent()).toMatch(/^\d+ 分 \d\d 秒$/);
      await settle(page);
      const beforeHide = await statsCalls(page);

      // Hidden: no refresh however long it stays hidden.
      await setHidden(page, true);
      await expect.poll(() => page.locator('#dash-auto').getAttribute('data-state')).toBe('paused');
      expect(await page.locator('#dash-auto').textContent()).toContain('已暂停');
      await shot(page, '03-refresh-paused');
      await page.clock.fastForward(5 * 60_000);
      await settle(page);
      expect(await statsCalls(page)).toBe(beforeHide);

      // Visible again, with data older than 30 s: refreshed at once, and every 30 s after.
      await setHidden(page, false);
      await expect.poll(() => statsCalls(page)).toBe(beforeHide + 1);
      expect(await page.locator('#dash-auto').getAttribute('data-state')).toBe('running');
      await page.clock.fastForward(30_500);
      await expect.poll(() => statsCalls(page)).toBe(beforeHide + 2);
    },
    TIMEOUT,
  );

  it(
    'does not count sandbox messages as delivered',
    async () => {
      const sandboxDb = await createTestDatabase('dashboard_ui_sandbox');
      const sandbox = await startBridge({ databaseUrl: sandboxDb.url, wechat: false });
      try {
        await bind(sandbox.url, { employeeNo: '92001', openid: 'oDashSandbox92001aa', name: '沙箱员工', active: true });
        for (let i = 0; i < 2; i++) expect((await push(sandbox.url, soapPush(newGuid(), '92001'))).ackCode).toBe('AA');
        const page = await pages.open();
        await signIn(page, sandbox.url);
        const card = page.locator('#card-24h');
        await card.waitFor();
        expect(await card.locator('[data-count=sandbox]').textContent()).toBe('2');
        expect(await card.locator('[data-count=delivered]').textContent()).toBe('0');
        expect(await text(page, '#card-24h')).toContain('沙箱（未发送）');
        // Nothing was sent, so there is no delivery rate to speak of.
        expect(await text(page, '#card-24h [data-field=rate]')).toContain('送达率 —');
        expect(await text(page, '#chart-24h .chart-legend')).toContain('沙箱（未发送） 2');
        await shot(page, '04-sandbox');
        expect(await axeViolations(page), 'axe: sandbox dashboard').toEqual([]);
      } finally {
        await pages.close();
        await sandbox.stop();
        await sandboxDb.drop();
      }
    },
    TIMEOUT,
  );

  it(
    'after too many failed sign-ins shows the wait from Retry-After in Chinese, and still lets a valid token in',
    async () => {
      // Ten failures from this address (the browser's too: both are 127.0.0.1).
      for (let i = 0; i < 10; i++) {
        expect((await request(bridge.url).get('/admin/api/whoami').set('Authorization', `Bearer wrong-${i}`)).status).toBe(401);
      }
      const page = await pages.open();
      await page.goto(`${bridge.url}/admin/`);
      await page.locator('#login-token').fill('still-the-wrong-token');
      await page.locator('#login-submit').click();
      await page.locator('#login-wait').waitFor();
      expect(await page.locator('#login-error').textContent()).toMatch(/登录失败次数过多.*请 \d+ 分(钟| \d+ 秒)后再试.*持有正确管理令牌的同事不受此限制/);
      expect(await page.locator('#login-wait').textContent()).toMatch(/^剩余等待时间：\d+ (分|秒)/);
      await shot(page, '05-sign-in-wait');
      expect(await axeViolations(page), 'axe: sign-in wait').toEqual([]);

      // A colleague with the right token, from the same address, gets in.
      await page.locator('#login-token').fill(ADMIN_TOKEN);
      await page.locator('#login-submit').click();
      await page.locator('#app-view').waitFor({ state: 'visible' });
      await page.locator('#card-today').waitFor();
    },
    TIMEOUT,
  );
});
