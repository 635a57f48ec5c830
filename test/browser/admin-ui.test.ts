import { readFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import { type Browser, type Page } from 'playwright-core';
import { launchBrowser, pagePerTest, screenshot, signIn } from '../support/browser.js';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import writeExcelFile, { type SheetData } from 'write-excel-file/node';
import { ADMIN_TOKEN, startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { bind } from '../support/employees.js';
import { newGuid, push, soapPush } from '../support/push.js';

// The administration page (public/admin/, served at /admin/) driven through real headless Chromium
// against the real service on real Postgres and a fake WeChat. Every scenario leaves a full-page
// screenshot under test-output/ for a person to look at.

const TIMEOUT = 60_000;
const TOKEN_KEY = 'gcp-bridge-admin-token';
const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

let db: TestDatabase;
let bridge: TestBridge;
let browser: Browser;
const pages = pagePerTest(() => browser, { downloads: true });

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

beforeAll(async () => {
  db = await createTestDatabase('admin_ui');
  bridge = await startBridge({ databaseUrl: db.url });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await bridge?.stop();
  await db?.drop();
});

afterEach(() => pages.closeAndCheck());

const shot = (page: Page, name: string) => screenshot(page, `admin-ui-${name}`);

async function getEmployee(employeeNo: string) {
  return request(bridge.url).get(`/admin/api/employees/${encodeURIComponent(employeeNo)}`).set(auth);
}

describe('admin page', () => {
  it(
    'signs in with the admin token, refuses a wrong one, keeps the token out of URLs, and signs out',
    async () => {
      const page = await pages.open();
      const urls: string[] = [];
      const authHeaders: string[] = [];
      page.on('request', (req) => {
        urls.push(req.url());
        if (req.url().includes('/admin/api/')) authHeaders.push(req.headers().authorization ?? '');
      });

      await page.goto(`${bridge.url}/admin/`);
      await expect(page.locator('#login-token').getAttribute('type')).resolves.toBe('password');
      await page.locator('#login-token').fill('not-the-token');
      await page.locator('#login-submit').click();
      await page.locator('#login-error').waitFor({ state: 'visible' });
      expect(await page.locator('#login-error').textContent()).toContain('令牌错误');
      expect(await page.locator('#app-view').isHidden()).toBe(true);
      await shot(page, '01-wrong-token');

      await page.locator('#login-token').fill(ADMIN_TOKEN);
      await page.locator('#login-submit').click();
      await page.locator('#card-today').waitFor();
      expect(await page.locator('#actor-name').textContent()).toContain('admin');
      expect(await page.evaluate(`sessionStorage.getItem(${JSON.stringify(TOKEN_KEY)})`)).toBe(ADMIN_TOKEN);
      await shot(page, '01-signed-in-dashboard');

      expect(urls.some((u) => u.includes(ADMIN_TOKEN)), 'token in a URL').toBe(false);
      expect(authHeaders.length).toBeGreaterThan(0);
      expect(authHeaders.filter((h) => h === `Bearer ${ADMIN_TOKEN}`).length).toBeGreaterThan(0);

      // Reloading the tab keeps the session (sessionStorage), without signing in again.
      await page.reload();
      await page.locator('#card-today').waitFor();

      // A 401 in mid-session (ADMIN_TOKEN rotated on the server) sends the user back to sign-in with a message.
      await page.route('**/admin/api/employees?*', (route) =>
        route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: 'authorization: a valid Bearer token is required' }) }),
      );
      await page.locator('[data-nav=employees]').click();
      await page.locator('#login-view').waitFor({ state: 'visible' });
      expect(await page.locator('#login-error').textContent()).toContain('重新登录');
      expect(await page.evaluate(`sessionStorage.getItem(${JSON.stringify(TOKEN_KEY)})`)).toBeNull();
      await shot(page, '01-session-expired');
      await page.unroute('**/admin/api/employees?*');

      // A stored token that is no longer valid: back to sign-in when the page opens.
      await page.evaluate(`sessionStorage.setItem(${JSON.stringify(TOKEN_KEY)}, 'rotated-away')`);
      await page.reload();
      await page.locator('#login-view').waitFor({ state: 'visible' });
      expect(await page.locator('#login-error').textContent()).toContain('重新登录');

      await signIn(page, bridge.url);
      await page.locator('#logout').click();
      await page.locator('#login-view').waitFor({ state: 'visible' });
      expect(await page.evaluate(`sessionStorage.getItem(${JSON.stringify(TOKEN_KEY)})`)).toBeNull();
    },
    TIMEOUT,
  );

  it(
    'adds an employee through the form (checking the openid first) and shows it in the table',
    async () => {
      const page = await pages.open();
      await signIn(page, bridge.url);
      await page.locator('[data-nav=employees]').click();
      await page.locator('#view-employees').waitFor({ state: 'visible' });

      await page.locator('#emp-add').click();
      await page.locator('#emp-dialog').waitFor({ state: 'visible' });
      await page.locator('#emp-f-no').fill('20501');
      await page.locator('#emp-f-name').fill('赵敏 <b>测试</b>');
      await page.locator('#emp-f-openid').fill('bad openid!');
      await page.locator('#emp-f-save').click();
      await page.locator('#emp-f-error').waitFor({ state: 'visible' });
      expect(await page.locator('#emp-f-error').textContent()).toContain('openid');
      expect((await getEmployee('20501')).status).toBe(404);
      await shot(page, '02-add-employee-invalid-openid');

      await page.locator('#emp-f-openid').fill('oE2XCwUiAdd20501_x-Y');
      await page.locator('#emp-f-save').click();
      await page.locator('#emp-dialog').waitFor({ state: 'hidden' });
      const row = page.locator('#emp-table tbody tr[data-employee-no="20501"]');
      await row.waitFor();
      expect(await row.textContent()).toContain('oE2XCwUiAdd20501_x-Y');
      // The name is shown as text, not markup.
      expect(await row.locator('td').nth(1).textContent()).toBe('赵敏 <b>测试</b>');
      expect(await row.locator('b').count()).toBe(0);
      expect(await row.textContent()).toContain('启用');
      await shot(page, '02-employee-added');

      const saved = await getEmployee('20501');
      expect(saved.status).toBe(200);
      expect(saved.body).toMatchObject({ employeeNo: '20501', openid: 'oE2XCwUiAdd20501_x-Y', name: '赵敏 <b>测试</b>', active: true });

      // Adding the same number again does not overwrite the binding.
      await page.locator('#emp-add').click();
      await page.locator('#emp-f-no').fill('20501');
      await page.locator('#emp-f-openid').fill('oE2XCwSomeoneElse0001');
      await page.locator('#emp-f-save').click();
      await page.locator('#emp-f-error').waitFor({ state: 'visible' });
      expect(await page.locator('#emp-f-error').textContent()).toContain('已存在');
      await page.keyboard.press('Escape');
      expect((await getEmployee('20501')).body.openid).toBe('oE2XCwUiAdd20501_x-Y');

      // Deactivate (confirmed) and delete (confirmed).
      await row.getByRole('button', { name: '停用' }).click();
      await page.locator('#confirm-ok').click();
      await row.locator('.badge', { hasText: '停用' }).waitFor();
      await expect.poll(async () => (await getEmployee('20501')).body.active).toBe(false);
      await row.getByRole('button', { name: '删除' }).click();
      await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
      await page.locator('#confirm-ok').click();
      await row.waitFor({ state: 'detached' });
      expect((await getEmployee('20501')).status).toBe(404);

      // Every change is in 操作记录, newest first.
      await page.locator('[data-nav=audit]').click();
      await page.locator('#audit-employee').fill('20501');
      await page.locator('#audit-filter button[type=submit]').click();
      await expect.poll(() => page.locator('#audit-table tbody tr').count()).toBe(3);
      const actions = await page.locator('#audit-table tbody tr td:nth-child(4)').allTextContents();
      expect(actions).toEqual(['删除', '修改', '新增']);
      expect(await page.locator('#audit-table tbody tr').nth(1).textContent()).toContain('状态：启用 → 停用');
      await shot(page, '02-audit-trail');
    },
    TIMEOUT,
  );

  it(
    'imports a CSV: a dry run names the bad line and writes nothing, then 确认导入 writes the good lines',
    async () => {
      const page = await pages.open();
      await signIn(page, bridge.url);
      await page.locator('[data-nav=employees]').click();
      await page.locator('#emp-import').click();
      await page.locator('#import-dialog').waitFor({ state: 'visible' });

      const csv = '\ufeffemployee_no,openid,name\n30101,oE2XCwImport30101aaaa,孙丽\n30102,oE2XCwImport30102bbbb,周强\n30103,bad openid,吴昊\n30104,oE2XCwImport30104dddd,郑爽\n';
      await page.locator('#import-file').setInputFiles({ name: '员工绑定.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
      await page.locator('#import-dry').click();
      const report = page.locator('#import-report');
      await report.waitFor({ state: 'visible' });
      expect(await report.getAttribute('data-dry-run')).toBe('true');
      expect(await report.locator('.stat.created b').textContent()).toBe('3');
      expect(await report.locator('.stat.errors b').textContent()).toBe('1');
      const errors = page.locator('#import-errors tbody tr');
      expect(await errors.count()).toBe(1);
      const cells = await errors.first().locator('td').allTextContents();
      expect(cells).toEqual(['第 4 行', 'openid', 'bad openid', '30103', 'openid列：「bad openid」不是有效的openid（6–64位字母、数字、_、-）；工号 30103']);
      expect(await page.locator('#import-commit').isEnabled()).toBe(true);
      await shot(page, '03-import-dry-run');
      expect((await getEmployee('30101')).status).toBe(404);

      await page.locator('#import-commit').click();
      await page.locator('#import-report[data-dry-run="false"]').waitFor();
      expect(await report.locator('h4').textContent()).toContain('导入完成');
      expect(await report.locator('.stat.created b').textContent()).toBe('3');
      expect(await page.locator('#import-commit').isDisabled()).toBe(true);
      await shot(page, '03-import-committed');

      await page.locator('#import-close').click();
      await page.locator('#import-dialog').waitFor({ state: 'hidden' });
      for (const no of ['30101', '30102', '30104']) {
        await page.locator(`#emp-table tbody tr[data-employee-no="${no}"]`).waitFor();
      }
      expect(await page.locator('#emp-table tbody tr[data-employee-no="30103"]').count()).toBe(0);
      expect((await getEmployee('30102')).body).toMatchObject({ openid: 'oE2XCwImport30102bbbb', name: '周强', active: true });

      await page.locator('#emp-q').fill('3010');
      await page.locator('#emp-search button[type=submit]').click();
      await expect.poll(() => page.locator('#emp-table tbody tr').count()).toBe(3);
      expect(await page.locator('#emp-pager').textContent()).toContain('共 3 条');
      await shot(page, '03-import-employees-in-table');

      // A GBK file from Excel on a Chinese Windows: the bytes go unchanged and the server reads them.
      await page.locator('#emp-import').click();
      const gbk = iconv.encode('employee_no,openid,name,active\r\n30105,oE2XCwImport30105eeee,钱多多,false\r\n', 'gbk');
      await page.locator('#import-file').setInputFiles({ name: 'gbk.csv', mimeType: 'text/csv', buffer: gbk });
      await page.locator('#import-dry').click();
      await page.locator('#import-report[data-dry-run="true"]').waitFor();
      expect(await report.locator('.stat.created b').textContent()).toBe('1');
      expect(await report.locator('.stat.errors b').textContent()).toBe('0');
      await page.locator('#import-commit').click();
      await page.locator('#import-report[data-dry-run="false"]').waitFor();
      await page.locator('#import-close').click();
      expect((await getEmployee('30105')).body).toMatchObject({ name: '钱多多', active: false });

      // An .xlsx whose columns the bridge does not recognise: the administrator says which is which,
      // the choice is remembered for the next file with that header, and the report downloads as CSV.
      const book = await writeExcelFile([
        ['序号', '编码', '名字', '微信号', '在岗'],
        [1, { value: 30106, type: Number }, '陈晨', 'oE2XCwImport30106ffff', '在职'],
        [2, { value: 30107, type: Number }, '林琳', 'bad', '在职'],
        [null, null, null, null, null],
      ] satisfies SheetData).toBuffer();
      await page.locator('#emp-import').click();
      await page.locator('#import-file').setInputFiles({ name: '人事导出.xlsx', mimeType: XLSX_TYPE, buffer: book as Buffer });
      await page.locator('#import-dry').click();
      await page.locator('#import-mapping').waitFor();
      expect(await page.locator('#import-errors tbody tr').first().textContent()).toContain('表头：未找到工号列');
      expect(await page.locator('#import-commit').isDisabled()).toBe(true);
      expect(await page.locator('#import-map-apply').isDisabled()).toBe(true);
      await page.locator('select[data-header="编码"]').selectOption('employee_no');
      await page.locator('select[data-header="微信号"]').selectOption('openid');
      await page.locator('select[data-header="在岗"]').selectOption('active');
      await shot(page, '03-import-column-mapping');
      await page.locator('#import-map-apply').click();
      await page.locator('#import-mapping').waitFor({ state: 'detached' });
      await expect.poll(() => report.locator('.stat.created b').textContent()).toBe('1');
      expect(await report.locator('#import-columns').textContent()).toContain('工号 ← 「编码」');
      expect(await page.locator('#import-errors tbody tr td').allTextContents()).toEqual([
        '第 3 行',
        '微信号',
        'bad',
        '30107',
        '微信号列：「bad」不是有效的openid（6–64位字母、数字、_、-）；工号 30107',
      ]);
      const [errorReport] = await Promise.all([page.waitForEvent('download'), page.locator('#import-error-report').click()]);
      const reportCsv = readFileSync(await errorReport.path(), 'utf8');
      expect(reportCsv).toBe('\ufeff行号,列,值,工号,错误信息\r\n3,微信号,bad,30107,微信号列：「bad」不是有效的openid（6–64位字母、数字、_、-）；工号 30107\r\n');
      await shot(page, '03-import-xlsx-mapped');
      await page.locator('#import-commit').click();
      await page.locator('#import-report[data-dry-run="false"]').waitFor();
      await page.locator('#import-close').click();
      expect((await getEmployee('30106')).body).toMatchObject({ openid: 'oE2XCwImport30106ffff', name: '陈晨', active: true });
      expect((await getEmployee('30107')).status).toBe(404);

      // The same header again: the remembered columns are used without asking.
      await page.locator('#emp-import').click();
      await page.locator('#import-file').setInputFiles({ name: '人事导出.xlsx', mimeType: 'application/octet-stream', buffer: book as Buffer });
      await page.locator('#import-dry').click();
      await page.locator('#import-report[data-dry-run="true"]').waitFor();
      await expect.poll(() => report.locator('.stat.unchanged b').textContent()).toBe('1');
      expect(await page.locator('#import-mapping').count()).toBe(0);
      await page.locator('#import-close').click();

      // The template downloads from the dialog.
      await page.locator('#emp-import').click();
      const [template] = await Promise.all([page.waitForEvent('download'), page.locator('#import-template').click()]);
      expect(readFileSync(await template.path(), 'utf8')).toMatch(/^\ufeff工号,姓名,微信openid,是否启用\r\n10086,/);
      await page.locator('#import-close').click();

      // Export: fetched with the bearer header, saved through a blob download.
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#emp-export').click()]);
      expect(download.url()).toMatch(/^blob:/);
      const file = await download.path();
      const exported = readFileSync(file, 'utf8');
      expect(exported).toContain('employee_no,openid,name');
      expect(exported).toContain('30104,oE2XCwImport30104dddd,郑爽');
    },
    TIMEOUT,
  );

  it(
    'finds a failed message, binds the employee, resends it and sees AA 处理成功; WeChat got the text',
    async () => {
      const wechat = bridge.wechat!;
      const guid = newGuid();
      const first = await push(bridge.url, soapPush(guid, '40404', '同意 &lt;script&gt;alert(1)&lt;/script&gt;'));
      expect(first.ackCode).toBe('AE');
      expect(first.reason).toBe('工号关联账号不存在');
      const openid = 'oE2XCwResend40404zzzz';
      await bind(bridge.url, { employeeNo: '40404', openid, name: '冯刚', active: true });

      const page = await pages.open();
      await signIn(page, bridge.url);
      // The dashboard lists it among the latest failures.
      await page.locator(`#dash-failures`).getByText(guid).waitFor();
      await page.locator('[data-nav=messages]').click();
      await page.locator('#view-messages').waitFor({ state: 'visible' });
      await page.locator('#msg-outcome').selectOption('AE');
      const row = page.locator(`#msg-table tbody tr[data-guid="${guid}"]`);
      await row.waitFor();
      expect(await row.textContent()).toContain('工号关联账号不存在');
      await expect.poll(async () => (await page.locator('#msg-table tbody tr').allTextContents()).every((t) => t.includes('AE') || t.includes('没有'))).toBe(true);
      await shot(page, '04-messages-filtered-AE');

      await row.click();
      await page.locator('#detail-guid').waitFor();
      expect(await page.locator('#detail-guid').textContent()).toBe(guid);
      expect(await page.locator('#detail-payload').textContent()).toContain('HIPMessageServer');
      // Hostile values are shown as text, never run or parsed as markup.
      await page.locator('#detail-body').getByText('同意 <script>alert(1)</script>', { exact: true }).waitFor();
      expect(await page.locator('#detail-body script').count()).toBe(0);
      expect(await page.locator('#resend-force').count()).toBe(0);
      await shot(page, '04-message-detail-failed');

      const sendsBefore = wechat.delivered(openid).length;
      await page.locator('#resend').click();
      const result = page.locator('#resend-ack');
      await result.waitFor();
      expect(await result.textContent()).toMatch(/AA.*处理成功/);
      await page.locator('#detail-outcome').getByText('已送达').waitFor();
      await shot(page, '04-message-resent-AA');

      const delivered = wechat.delivered(openid);
      expect(delivered.length).toBe(sendsBefore + 1);
      expect(delivered.at(-1)).toContain('申请人工号：40404');
      expect(delivered.at(-1)).toContain('审批意见：同意 <script>alert(1)</script>');

      // Delivered now: only a forced resend is offered, behind a confirmation; cancelling sends nothing.
      await page.locator('#resend-force').click();
      await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
      await shot(page, '04-force-resend-confirmation');
      await page.locator('#confirm-cancel').click();
      await page.locator('#confirm-dialog').waitFor({ state: 'hidden' });
      expect(wechat.delivered(openid).length).toBe(sendsBefore + 1);
    },
    TIMEOUT,
  );

  it(
    'shows the sandbox banner on the dashboard only when the bridge runs without WeChat credentials',
    async () => {
      const live = await pages.open();
      await signIn(live, bridge.url);
      await live.locator('#card-today').waitFor();
      expect(await live.locator('#sandbox-banner').isHidden()).toBe(true);
      await shot(live, '05-dashboard-live');
      await pages.close();

      const sandboxDb = await createTestDatabase('admin_ui_sandbox');
      const sandbox = await startBridge({ databaseUrl: sandboxDb.url, wechat: false });
      try {
        const page = await pages.open();
        await signIn(page, sandbox.url);
        await page.locator('#card-today').waitFor();
        const banner = page.locator('#sandbox-banner');
        await banner.waitFor({ state: 'visible' });
        expect(await banner.textContent()).toContain('不会向微信发送任何消息');
        await shot(page, '05-dashboard-sandbox-banner');
        await pages.close();
      } finally {
        await sandbox.stop();
        await sandboxDb.drop();
      }
    },
    TIMEOUT,
  );

  it(
    'is usable on a 390×844 phone: the employees page does not overflow horizontally',
    async () => {
      for (let i = 0; i < 3; i++) {
        await bind(bridge.url, { employeeNo: `6060${i}`, openid: `oE2XCwPhone6060${i}_LongOpenidValue`, name: `手机测试员工${i}`, active: i !== 1 });
      }
      const page = await pages.open({ viewport: { width: 390, height: 844 } });
      await signIn(page, bridge.url);
      await page.locator('[data-nav=employees]').click();
      await page.locator('#emp-table tbody tr[data-employee-no="60600"]').waitFor();
      const [scrollWidth, innerWidth] = (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as [number, number];
      expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
      for (const selector of ['#emp-add', '#emp-import', '#emp-export', '#emp-q']) {
        const box = await page.locator(selector).boundingBox();
        expect(box, selector).not.toBeNull();
        expect(box!.x).toBeGreaterThanOrEqual(0);
        expect(box!.x + box!.width).toBeLessThanOrEqual(390);
      }
      const edit = page.locator('#emp-table tbody tr[data-employee-no="60600"]').getByRole('button', { name: '编辑' });
      expect(await edit.isVisible()).toBe(true);
      await shot(page, '06-phone-employees');

      await edit.click();
      await page.locator('#emp-dialog').waitFor({ state: 'visible' });
      const dialog = await page.locator('#emp-dialog').boundingBox();
      expect(dialog!.x).toBeGreaterThanOrEqual(0);
      expect(dialog!.x + dialog!.width).toBeLessThanOrEqual(390);
      await shot(page, '06-phone-edit-dialog');
    },
    TIMEOUT,
  );
});
