import { readFileSync } from 'node:fs';
import { type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startBridge, type TestBridge } from '../support/bridge.js';
import { launchBrowser, pagePerTest, screenshot, signIn } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// Finding employees the way administrators ask (issue 11): sortable columns (employee number,
// name, updated), a page size, jumping to a page, paging that brings the top of the list back
// into view, a pager at the top of long pages, an export of exactly the rows the search matches
// (and how many), and row buttons named with the employee. Real Chromium against the real
// service; screenshots go to test-output/employees-list-*.png.

const TIMEOUT = 60_000;
const COUNT = 60;

let db: TestDatabase;
let bridge: TestBridge;
let browser: Browser;
const pages = pagePerTest(() => browser, { downloads: true });

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '周', '吴', '徐', '孙'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '洋', '艳'];

/** 60 employees 10001–10060 (and 10086 张伟 among them), written in a shuffled order. */
function employees(): { employeeNo: string; name: string; openid: string | null }[] {
  const list = Array.from({ length: COUNT }, (_, i) => {
    const no = i === 59 ? '10086' : String(10001 + i);
    const name = i === 59 ? '张伟' : `${SURNAMES[(i * 7) % SURNAMES.length]}${GIVEN[(i * 3) % GIVEN.length]}${i % 4 === 0 ? '华' : ''}`;
    return { employeeNo: no, name, openid: i % 3 === 0 ? null : `oListUi${no}abcdef` };
  });
  // A fixed shuffle: the update order is neither the number order nor the name order.
  return list.map((e, i) => ({ e, k: (i * 37) % COUNT })).sort((a, b) => a.k - b.k).map(({ e }) => e);
}

beforeAll(async () => {
  db = await createTestDatabase('employees_list_ui');
  bridge = await startBridge({ databaseUrl: db.url });
  for (const e of employees()) {
    const res = await request(bridge.url).put(`/admin/api/employees/${e.employeeNo}`).set(auth).send({ openid: e.openid, name: e.name, active: true });
    expect([200, 201]).toContain(res.status);
  }
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await bridge?.stop();
  await db?.drop();
});

afterEach(() => pages.closeAndCheck());

async function openEmployees(page: Page): Promise<void> {
  await signIn(page, bridge.url);
  await page.locator('[data-nav=employees]').click();
  await page.locator('#emp-table tbody tr[data-employee-no]').first().waitFor();
}

/** Full page, or with `viewport` what the user sees (after paging: the top of the list). */
const shot = (page: Page, name: string, viewport = false) => screenshot(page, `employees-list-${name}`, { viewport });

const rowNumbers = (page: Page) => page.locator('#emp-table tbody tr[data-employee-no]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-employee-no') ?? ''));

/** The list as the API orders it: what the page must show. */
async function apiPage(query: Record<string, string | number>): Promise<{ items: { employeeNo: string }[]; total: number }> {
  const res = await request(bridge.url).get('/admin/api/employees').query(query).set(auth);
  expect(res.status).toBe(200);
  return res.body;
}

/** Waits until the rows shown are `expected` (the request the click made has been answered). */
async function expectRows(page: Page, expected: string[]): Promise<void> {
  await expect.poll(() => rowNumbers(page)).toEqual(expected);
}

describe('employee list: sorting, page size, jumping, export', () => {
  it(
    'sorts by employee number, name and update time from the column headers (aria-sort says which)',
    async () => {
      const page = await pages.open();
      await openEmployees(page);
      // The default: most recently updated first, and the header says so.
      const byUpdate = await apiPage({ sort: 'updatedAt', order: 'desc', limit: 20 });
      await expectRows(page, byUpdate.items.map((e) => e.employeeNo));
      expect(await page.locator('th:has(#emp-sort-updatedAt)').getAttribute('aria-sort')).toBe('descending');
      expect(await page.locator('th:has(#emp-sort-employeeNo)').getAttribute('aria-sort')).toBeNull();

      const [asked] = await Promise.all([
        page.waitForRequest((r) => r.url().includes('/admin/api/employees?') && r.url().includes('sort=employeeNo')),
        page.locator('#emp-sort-employeeNo').click(),
      ]);
      expect(new URL(asked.url()).searchParams.get('order')).toBe('asc');
      await expectRows(page, Array.from({ length: 20 }, (_, i) => String(10001 + i)));
      expect(await page.locator('th:has(#emp-sort-employeeNo)').getAttribute('aria-sort')).toBe('ascending');
      expect(await page.locator('th:has(#emp-sort-updatedAt)').getAttribute('aria-sort')).toBeNull();
      expect(await page.locator('#emp-sort').inputValue()).toBe('employeeNo:asc');
      await shot(page, '01-sorted-by-number');

      // The same header again: the other way round.
      await page.locator('#emp-sort-employeeNo').click();
      await expectRows(page, ['10086', ...Array.from({ length: 19 }, (_, i) => String(10059 - i))]);
      expect(await page.locator('th:has(#emp-sort-employeeNo)').getAttribute('aria-sort')).toBe('descending');

      await page.locator('#emp-sort-name').click();
      const byName = await apiPage({ sort: 'name', order: 'asc', limit: 20 });
      await expectRows(page, byName.items.map((e) => e.employeeNo));
      expect(await page.locator('th:has(#emp-sort-name)').getAttribute('aria-sort')).toBe('ascending');

      await page.locator('#emp-sort-updatedAt').click();
      await expectRows(page, byUpdate.items.map((e) => e.employeeNo));

      // A search keeps the order chosen, and starts on page 1.
      await page.locator('#emp-sort-employeeNo').click();
      await page.locator('#emp-q').fill('1003');
      await page.locator('#emp-search button[type=submit]').click();
      await expectRows(page, Array.from({ length: 10 }, (_, i) => String(10030 + i)));
      expect(await page.locator('th:has(#emp-sort-employeeNo)').getAttribute('aria-sort')).toBe('ascending');
    },
    TIMEOUT,
  );

  it(
    'chooses the page size, shows the pager at the top of a long page, jumps to a page, and paging returns to the top of the list',
    async () => {
      const page = await pages.open();
      await openEmployees(page);
      await page.locator('#emp-sort-employeeNo').click();
      await expectRows(page, Array.from({ length: 20 }, (_, i) => String(10001 + i)));
      expect(await page.locator('#emp-pager').textContent()).toContain(`共 ${COUNT} 条，第 1–20 条`);
      expect(await page.locator('#emp-pager .pager-page').textContent()).toBe('1 / 3');
      // 20 rows is a long page: the pager is at the top too.
      await page.locator('#emp-pager-top').waitFor();

      // 50 a page: back to page 1, 50 rows, 2 pages.
      const [asked] = await Promise.all([
        page.waitForRequest((r) => r.url().includes('/admin/api/employees?') && r.url().includes('limit=50')),
        page.locator('#emp-pager select[name=limit]').selectOption('50'),
      ]);
      expect(new URL(asked.url()).searchParams.get('sort')).toBe('employeeNo');
      await expectRows(page, Array.from({ length: 50 }, (_, i) => String(10001 + i)));
      expect(await page.locator('#emp-pager-top').textContent()).toContain('第 1–50 条');
      expect(await page.locator('#emp-pager-top select[name=limit]').inputValue()).toBe('50');
      expect(await page.locator('#emp-pager-top .pager-page').textContent()).toBe('1 / 2');

      // From the foot of the long page, 下一页 brings the top of the list back into view.
      await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)');
      const before = (await page.evaluate('window.scrollY')) as number;
      expect(before).toBeGreaterThan(500);
      await shot(page, '02-page-size-50-bottom');
      await page.locator('#emp-pager .pager-next').click();
      await expectRows(page, [...Array.from({ length: 9 }, (_, i) => String(10051 + i)), '10086']);
      const [panelTop, barBottom, viewport] = (await page.evaluate(`[
        document.querySelector('#emp-table').closest('.panel').getBoundingClientRect().top,
        document.querySelector('.topbar').getBoundingClientRect().bottom,
        window.innerHeight,
      ]`)) as [number, number, number];
      expect(panelTop).toBeGreaterThanOrEqual(barBottom - 1);
      expect(panelTop).toBeLessThan(viewport / 2);
      expect(await page.locator('#emp-pager').textContent()).toContain('第 51–60 条');
      // 10 rows: short, no pager at the top.
      expect(await page.locator('#emp-pager-top').count()).toBe(0);
      await shot(page, '03-page-2-top-of-list', true);

      // 20 a page again, then straight to page 3 with the jump box (Enter submits it).
      await page.locator('#emp-pager select[name=limit]').selectOption('20');
      await expectRows(page, Array.from({ length: 20 }, (_, i) => String(10001 + i)));
      const jump = page.locator('#emp-pager-top .pager-jump input');
      await jump.fill('3');
      await jump.press('Enter');
      await expectRows(page, [...Array.from({ length: 19 }, (_, i) => String(10041 + i)), '10086']);
      expect(await page.locator('#emp-pager .pager-page').textContent()).toBe('3 / 3');
      // Past the last page: the last page.
      await page.locator('#emp-pager .pager-jump input').fill('99');
      await page.locator('#emp-pager .pager-jump button').click();
      await page.waitForTimeout(300);
      expect(await page.locator('#emp-pager .pager-page').textContent()).toBe('3 / 3');
      await page.locator('#emp-pager-top .pager-jump input').fill('1');
      await page.locator('#emp-pager-top .pager-jump button').click();
      await expectRows(page, Array.from({ length: 20 }, (_, i) => String(10001 + i)));
      await shot(page, '04-jumped-back-to-page-1');
    },
    TIMEOUT,
  );

  it(
    'exports exactly the rows the search matches and says how many',
    async () => {
      const page = await pages.open();
      await openEmployees(page);
      const all = await apiPage({ limit: 1 });
      expect(all.total).toBe(COUNT);
      await expect.poll(() => page.locator('#emp-export').textContent()).toBe(`导出 CSV（${COUNT} 条）`);

      await page.locator('#emp-q').fill('1002');
      await page.locator('#emp-search button[type=submit]').click();
      const matching = await apiPage({ q: '1002', limit: 500 });
      expect(matching.total).toBeGreaterThan(0);
      expect(matching.total).toBeLessThan(COUNT);
      await expect.poll(() => page.locator('#emp-export').textContent()).toBe(`导出 CSV（${matching.total} 条）`);

      const [asked, download] = await Promise.all([
        page.waitForRequest((r) => r.url().includes('/admin/api/employees/export')),
        page.waitForEvent('download'),
        page.locator('#emp-export').click(),
      ]);
      expect(new URL(asked.url()).searchParams.get('q')).toBe('1002');
      const csv = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
      const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== '');
      expect(lines[0]).toMatch(/^employee_no,openid,name/);
      expect(lines.slice(1).map((l) => l.split(',')[0]).sort()).toEqual(matching.items.map((e) => e.employeeNo).sort());
      const toast = page.locator('#toast');
      await expect.poll(() => toast.textContent()).toContain(`已导出 ${matching.total} 名员工（搜索“1002”）`);
      await shot(page, '05-export-of-search');

      // Without a search: everyone.
      await page.locator('#emp-q').fill('');
      await page.locator('#emp-search button[type=submit]').click();
      await expect.poll(() => page.locator('#emp-export').textContent()).toBe(`导出 CSV（${COUNT} 条）`);
      const [everyone] = await Promise.all([page.waitForEvent('download'), page.locator('#emp-export').click()]);
      const full = readFileSync(await everyone.path(), 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
      expect(full.length).toBe(COUNT + 1);
      await expect.poll(() => toast.textContent()).toContain(`已导出 ${COUNT} 名员工（全部员工）`);
    },
    TIMEOUT,
  );

  it(
    'names every row button with its employee, for screen readers',
    async () => {
      const page = await pages.open();
      await openEmployees(page);
      await page.locator('#emp-q').fill('10086');
      await page.locator('#emp-search button[type=submit]').click();
      await expectRows(page, ['10086']);
      const row = page.locator('#emp-table tbody tr[data-employee-no="10086"]');
      for (const name of ['编辑 10086 张伟', '停用 10086 张伟', '删除 10086 张伟', '生成绑定码 10086 张伟']) {
        expect(await row.getByRole('button', { name, exact: true }).count(), name).toBe(1);
      }
      expect(await row.getByRole('checkbox', { name: '选择 10086 张伟', exact: true }).count()).toBe(1);
      await page.getByRole('button', { name: '编辑 10086 张伟', exact: true }).click();
      await page.locator('#emp-dialog').waitFor({ state: 'visible' });
      expect(await page.locator('#emp-dialog-title').textContent()).toContain('10086');
    },
    TIMEOUT,
  );

  it(
    'sorts on a 390×844 phone, where the rows are cards without column headers',
    async () => {
      const page = await pages.open({ viewport: { width: 390, height: 844 } });
      await openEmployees(page);
      expect(await page.locator('#emp-table thead').isVisible()).toBe(false);
      await page.locator('#emp-sort').selectOption('employeeNo:desc');
      await expectRows(page, ['10086', ...Array.from({ length: 19 }, (_, i) => String(10059 - i))]);
      const [scrollWidth, innerWidth] = (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as [number, number];
      expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
      for (const selector of ['#emp-pager', '#emp-pager-top', '#emp-pager .pager-jump', '#emp-pager select[name=limit]']) {
        const box = await page.locator(selector).boundingBox();
        expect(box, selector).not.toBeNull();
        expect(box!.x).toBeGreaterThanOrEqual(0);
        expect(box!.x + box!.width).toBeLessThanOrEqual(390);
      }
      await shot(page, '06-phone-sorted', true);
      await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)');
      await page.locator('#emp-pager .pager-next').click();
      await expectRows(page, Array.from({ length: 20 }, (_, i) => String(10040 - i)));
      const [panelTop, barBottom] = (await page.evaluate(`[
        document.querySelector('#emp-table').closest('.panel').getBoundingClientRect().top,
        document.querySelector('.topbar').getBoundingClientRect().bottom,
      ]`)) as [number, number];
      expect(panelTop).toBeGreaterThanOrEqual(barBottom - 1);
      expect(panelTop).toBeLessThan(844 / 2);
      await shot(page, '07-phone-page-2', true);
    },
    TIMEOUT,
  );
});
