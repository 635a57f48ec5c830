import { type Browser } from 'playwright-core';
import { launchBrowser, pagePerTest, screenshot, signIn } from '../support/browser.js';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { bind } from '../support/employees.js';
import { newGuid, push, soapPush } from '../support/push.js';
import { WechatCallbackPlayer } from '../support/wechat-callback.js';

// Self-service binding from the administration page (contract §9, §10), in real headless Chromium
// against the real service in live mode (a fake WeChat on loopback) with the callback enabled:
// the administrator adds employees without an openid, invites them from the page, prints the
// slips, and the employees bind themselves by scanning the QR code or sending the code. Nobody
// types an openid. Screenshots go to test-output/binding-*.png.

const TIMEOUT = 90_000;
const CALLBACK_TOKEN = 'cbtoken123';
const CODE = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$/;

let db: TestDatabase;
let bridge: TestBridge;
let browser: Browser;
// Errors are told apart by the page's URL: the admin page opens windows (the slips), watched too.
const pages = pagePerTest(() => browser, { viewport: { width: 1366, height: 860 }, errorUrls: true });

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

beforeAll(async () => {
  db = await createTestDatabase('binding_ui');
  bridge = await startBridge({
    databaseUrl: db.url,
    env: {
      WECHAT_CALLBACK_TOKEN: CALLBACK_TOKEN,
      WECHAT_DELIVERY: 'auto',
      WECHAT_TEMPLATE_ID: 'TPL_APPROVAL_1',
      WECHAT_TEMPLATE_FIELDS: 'thing1=bill_type,character_string2=bill_num,thing3=approval_opinion',
    },
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await bridge?.stop();
  await db?.drop();
});

afterEach(() => pages.closeAndCheck());

async function getEmployee(employeeNo: string) {
  return request(bridge.url).get(`/admin/api/employees/${encodeURIComponent(employeeNo)}`).set(auth);
}

interface InvitationInDb {
  employee_no: string;
  code: string;
  scene: string;
  qr_ticket: string | null;
  qr_url: string | null;
}

/** The employees' open invitations as stored (the scene is never shown to anyone). */
async function openInvitationsInDb(employeeNos: string[]): Promise<Map<string, InvitationInDb>> {
  const rows = await withClient(db.url, (c) =>
    c.query<InvitationInDb>(
      `SELECT employee_no, code, scene, qr_ticket, qr_url FROM invitations
        WHERE employee_no = ANY($1::text[]) AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()`,
      [employeeNos],
    ),
  );
  return new Map(rows.rows.map((r) => [r.employee_no, r]));
}

/** WeChat's side of /wechat/callback (plain mode). */
function playerFor(b: TestBridge): WechatCallbackPlayer {
  return new WechatCallbackPlayer({ url: `${b.url}/wechat/callback`, token: CALLBACK_TOKEN, appId: b.wechat!.appId });
}

const EMPLOYEES = [
  { employeeNo: '71001', name: '林晓雯' },
  { employeeNo: '71002', name: '黄志强' },
  { employeeNo: '71003', name: '陈静' },
];
const OPENIDS: Record<string, string> = {
  '71001': 'oBindUiScanLin71001aa',
  '71002': 'oBindUiScanHuang71002b',
  '71003': 'oBindUiTextChen71003c',
};

describe('self-service binding in the admin page', () => {
  it(
    'adds three employees without an openid, invites them from the page, prints the slips, and they bind themselves',
    async () => {
      const wechat = bridge.wechat!;
      // Two through the API (no openid at all; openid null), the third in the page's form, openid left empty.
      const [lin, huang, chen] = EMPLOYEES;
      const put1 = await request(bridge.url).put(`/admin/api/employees/${lin!.employeeNo}`).set(auth).send({ name: lin!.name });
      expect(put1.status).toBe(201);
      const put2 = await request(bridge.url).put(`/admin/api/employees/${huang!.employeeNo}`).set(auth).send({ openid: null, name: huang!.name, active: true });
      expect(put2.status).toBe(201);

      const page = await pages.open();
      // Every write the page makes, to show that no openid ever left it.
      const writes: string[] = [];
      page.on('request', (req) => {
        if (req.url().includes('/admin/api/') && req.method() !== 'GET') writes.push(`${req.method()} ${req.url()} ${req.postData() ?? ''}`);
      });
      await signIn(page, bridge.url);

      // The dashboard says how pushes go out and that the callback is on (whoami).
      const card = page.locator('#card-wechat');
      await card.waitFor();
      expect(await page.locator('#dash-delivery').textContent()).toContain('自动');
      expect(await page.locator('#dash-callback').textContent()).toContain('已启用');

      await page.locator('[data-nav=employees]').click();
      await page.locator('#view-employees').waitFor({ state: 'visible' });
      await page.locator('#emp-add').click();
      await page.locator('#emp-dialog').waitFor({ state: 'visible' });
      await page.locator('#emp-f-no').fill(chen!.employeeNo);
      await page.locator('#emp-f-name').fill(chen!.name);
      expect(await page.locator('#emp-f-openid').inputValue()).toBe('');
      await page.locator('#emp-f-save').click();
      await page.locator('#emp-dialog').waitFor({ state: 'hidden' });

      for (const e of EMPLOYEES) {
        const res = await getEmployee(e.employeeNo);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ employeeNo: e.employeeNo, name: e.name, openid: null, binding: 'unbound', invitation: null });
      }

      // Only the three (the database is this file's own): filter 未绑定.
      await page.locator('#emp-binding').selectOption('unbound');
      await expect.poll(() => page.locator('#emp-table tbody tr[data-employee-no]').count()).toBe(3);
      for (const e of EMPLOYEES) {
        const row = page.locator(`#emp-table tbody tr[data-employee-no="${e.employeeNo}"]`);
        expect(await row.locator('.binding').textContent()).toContain('未绑定');
      }
      // Back to everyone with 7100 in the number, so rows stay in the list as their state changes.
      await page.locator('#emp-binding').selectOption('');
      await page.locator('#emp-q').fill('7100');
      await page.locator('#emp-search button[type=submit]').click();
      await expect.poll(() => page.locator('#emp-table tbody tr[data-employee-no]').count()).toBe(3);

      // One employee: 生成绑定码 shows the QR image, the code in large type, the expiry and the instruction.
      const linRow = page.locator(`#emp-table tbody tr[data-employee-no="${lin!.employeeNo}"]`);
      await linRow.getByRole('button', { name: '生成绑定码' }).click();
      await page.locator('#invite-dialog').waitFor({ state: 'visible' });
      await page.locator('#invite-create').click();
      const qr = page.locator('#invite-qr');
      await qr.waitFor();
      expect(await qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml;charset=utf-8,%3Csvg/);
      // (No DOM types in this project: the element is described by what is read from it.)
      await expect.poll(() => qr.evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth > 0)).toBe(true);
      const singleCode = (await page.locator('#invite-code').textContent())!.trim();
      expect(singleCode).toMatch(CODE);
      expect(await page.locator('#invite-instruction').textContent()).toBe(`微信扫码，或向公众号发送：绑定 ${singleCode}`);
      expect(await page.locator('#invite-expiry').textContent()).toMatch(/有效期至 \d{4}-\d\d-\d\d \d\d:\d\d（剩 (2 天 2[23] 小时|3 天 0 小时)）/);
      // The SVG arrived as an image, never as markup in the page.
      expect(await page.locator('#invite-dialog svg').count()).toBe(0);
      await screenshot(page, 'binding-dialog');

      // Its 打印 opens the slip in a new window.
      const [single] = await Promise.all([pages.context.waitForEvent('page'), page.locator('#invite-print').click()]);
      pages.watch(single);
      await single.waitForLoadState('load');
      expect(new URL(single.url()).pathname).toBe('/admin/invitations/print');
      await expect.poll(() => single.locator('.slip').count()).toBe(1);
      expect(await single.locator('.slip').textContent()).toContain(singleCode);
      await single.close();

      await page.locator('#invite-close').click();
      await page.locator('#invite-dialog').waitFor({ state: 'hidden' });
      await linRow.locator('.binding', { hasText: '待绑定' }).waitFor();
      expect(await linRow.locator('.binding').textContent()).toContain(singleCode);
      expect((await getEmployee(lin!.employeeNo)).body).toMatchObject({ binding: 'invited', invitation: { code: singleCode } });

      // 批量生成绑定码 over the filter asks first, with the count; cancelling makes nothing.
      const before = await request(bridge.url).get('/admin/api/invitations').set(auth);
      await page.locator('#emp-batch-invite').click();
      await page.locator('#batch-dialog').waitFor({ state: 'visible' });
      expect(await page.locator('#batch-mode-filter').isChecked()).toBe(true);
      expect(await page.locator('#batch-filter-count').textContent()).toBe('3');
      await page.locator('#batch-create').click();
      await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
      expect(await page.locator('#confirm-text').textContent()).toContain('3 名员工');
      await page.locator('#confirm-cancel').click();
      await page.locator('#confirm-dialog').waitFor({ state: 'hidden' });
      await page.keyboard.press('Escape');
      await page.locator('#batch-dialog').waitFor({ state: 'hidden' });
      expect((await request(bridge.url).get('/admin/api/invitations').set(auth)).body.total).toBe(before.body.total);

      // Select the three and 批量生成绑定码 for the selection.
      await page.locator('#emp-select-all').check();
      expect(await page.locator('#emp-selected-count').textContent()).toContain('已选 3 人');
      await page.locator('#emp-batch-invite').click();
      await page.locator('#batch-dialog').waitFor({ state: 'visible' });
      expect(await page.locator('#batch-mode-selected').isChecked()).toBe(true);
      await page.locator('#batch-create').click();
      const result = page.locator('#batch-result');
      await result.waitFor();
      expect(await result.locator('.stat.invited b').textContent()).toBe('3');
      expect(await result.locator('.stat.errors b').textContent()).toBe('0');
      const codes = new Map<string, string>();
      for (const e of EMPLOYEES) {
        const row = result.locator(`#batch-items tbody tr[data-employee-no="${e.employeeNo}"]`);
        expect(await row.locator('td').nth(1).textContent()).toBe(e.name);
        const code = (await row.locator('td').nth(2).textContent())!.trim();
        expect(code).toMatch(CODE);
        codes.set(e.employeeNo, code);
      }
      // A new code replaces the single one made before.
      expect(codes.get(lin!.employeeNo)).not.toBe(singleCode);
      const history = await request(bridge.url).get('/admin/api/invitations').query({ employeeNo: lin!.employeeNo }).set(auth);
      expect(history.status).toBe(200);
      expect(history.body.total).toBe(2);
      expect(history.body.items).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ employeeNo: lin!.employeeNo, name: lin!.name, code: singleCode, status: 'revoked', createdBy: 'admin', usedAt: null }),
          expect.objectContaining({ employeeNo: lin!.employeeNo, name: lin!.name, code: codes.get(lin!.employeeNo), status: 'open', createdBy: 'admin', usedAt: null }),
        ]),
      );
      await screenshot(page, 'binding-batch-result');

      // 打印全部: the slips page, three slips each with its QR (inline SVG), code, name and expiry.
      const [print] = await Promise.all([pages.context.waitForEvent('page'), page.locator('#batch-print').click()]);
      pages.watch(print);
      await print.waitForLoadState('load');
      await print.setViewportSize({ width: 900, height: 1200 });
      const slips = print.locator('.slip');
      await expect.poll(() => slips.count()).toBe(3);
      for (const e of EMPLOYEES) {
        const slip = slips.filter({ hasText: codes.get(e.employeeNo)! });
        expect(await slip.count(), `slip of ${e.employeeNo}`).toBe(1);
        expect(await slip.locator('svg').count()).toBe(1);
        const text = (await slip.textContent())!;
        expect(text).toContain(e.name);
        expect(text).toContain(e.employeeNo);
        expect(text).toContain(`绑定 ${codes.get(e.employeeNo)}`);
        expect(text).toMatch(/有效期至/);
      }
      await screenshot(print, 'binding-print');
      await print.close();

      // Five minutes later the signed link has expired: 打印全部 asks for a fresh one (print-link).
      await page.evaluate(() => {
        const real = Date.now.bind(Date);
        Date.now = () => real() + 5 * 60_000;
      });
      const linkRequest = page.waitForRequest((req) => req.url().endsWith('/admin/api/invitations/print-link') && req.method() === 'POST');
      const [again] = await Promise.all([pages.context.waitForEvent('page'), page.locator('#batch-print').click()]);
      pages.watch(again);
      const asked = JSON.parse((await linkRequest).postData()!) as { employeeNos: string[] };
      expect([...asked.employeeNos].sort()).toEqual(EMPLOYEES.map((e) => e.employeeNo));
      await again.waitForURL(/\/admin\/invitations\/print\?/);
      await expect.poll(() => again.locator('.slip').count()).toBe(3);
      await again.close();
      await page.locator('#batch-close').click();
      await page.locator('#batch-dialog').waitFor({ state: 'hidden' });

      // Each QR code WeChat made carries the invitation's scene: the stored ticket leads to it.
      const stored = await openInvitationsInDb(EMPLOYEES.map((e) => e.employeeNo));
      expect(stored.size).toBe(3);
      const sceneOf = (employeeNo: string): string => {
        const row = stored.get(employeeNo)!;
        expect(row.code).toBe(codes.get(employeeNo));
        const made = wechat.qrCodes.find((q) => q.ticket === row.qr_ticket);
        expect(made, `QR code of ${employeeNo}`).toBeDefined();
        expect(made!.scene).toBe(row.scene);
        expect(made!.url).toBe(row.qr_url);
        expect(made!.expireSeconds).toBe(72 * 3600);
        return made!.scene;
      };

      // Two scan the QR code (new followers: subscribe with qrscene_…), the third sends the code.
      const player = playerFor(bridge);
      const answers = [
        await player.scan(OPENIDS[lin!.employeeNo]!, sceneOf(lin!.employeeNo), { following: false }),
        await player.scan(OPENIDS[huang!.employeeNo]!, sceneOf(huang!.employeeNo), { following: false }),
        await player.text(OPENIDS[chen!.employeeNo]!, `绑定 ${codes.get(chen!.employeeNo)}`),
      ];
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.reply?.content).toMatch(/^绑定成功/);
      }

      // The page, reloaded, shows all three 已绑定 (by the employees themselves, just now).
      await page.reload();
      await page.locator('#view-employees').waitFor({ state: 'visible' });
      for (const e of EMPLOYEES) {
        const row = page.locator(`#emp-table tbody tr[data-employee-no="${e.employeeNo}"]`);
        await row.locator('.binding', { hasText: '已绑定' }).waitFor();
        expect(await row.locator('.binding').textContent()).toContain('员工自助绑定');
        expect(await row.textContent()).toContain(OPENIDS[e.employeeNo]);
        expect(await row.locator('.interaction').textContent()).toContain('可发客服消息');
      }
      await page.locator('#emp-binding').selectOption('bound');
      await expect.poll(() => page.locator('#emp-table tbody tr[data-employee-no]').count()).toBe(3);
      await screenshot(page, 'binding-bound');

      for (const e of EMPLOYEES) {
        expect((await getEmployee(e.employeeNo)).body).toMatchObject({ openid: OPENIDS[e.employeeNo], binding: 'bound', boundVia: 'self-service', windowOpen: true, invitation: null });
      }
      // Nobody typed an openid: none went out in any request the page made.
      expect(writes.length).toBeGreaterThan(0);
      for (const openid of Object.values(OPENIDS)) expect(writes.filter((w) => w.includes(openid))).toEqual([]);
      expect(writes.filter((w) => /"openid":"/.test(w))).toEqual([]);

      // 操作记录 names the employee as the one who bound.
      await page.locator('[data-nav=audit]').click();
      await page.locator('#audit-employee').fill(chen!.employeeNo);
      await page.locator('#audit-filter button[type=submit]').click();
      await page.locator('#audit-table tbody tr', { hasText: 'self-service' }).first().waitFor();
      expect(await page.locator('#audit-table tbody tr').first().textContent()).toContain('自助绑定');
      await screenshot(page, 'binding-audit');
    },
    TIMEOUT,
  );

  it(
    '导入人员名单: the HR list creates the missing employees and invites everyone on it, naming bad lines',
    async () => {
      // 74000 exists already; 74001 and 74002 are new; line 4 has no employee number.
      expect((await request(bridge.url).put('/admin/api/employees/74000').set(auth).send({ name: '孔明' })).status).toBe(201);
      const csv = '\ufeff工号,姓名,科室\n74001,郑丽,药剂科\n74000,孔明,心内科\n,无工号,\n74002,冯涛,检验科\n';
      const page = await pages.open();
      await signIn(page, bridge.url);
      await page.locator('[data-nav=employees]').click();
      await page.locator('#emp-roster').click();
      await page.locator('#roster-dialog').waitFor({ state: 'visible' });
      expect(await page.locator('#roster-submit').isDisabled()).toBe(true);
      await page.locator('#roster-file').setInputFiles({ name: '人员名单.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
      await page.locator('#roster-expires').selectOption('168');
      await page.locator('#roster-submit').click();
      const report = page.locator('#roster-report');
      await report.waitFor({ state: 'visible' });
      expect(await report.locator('.stat.created b').textContent()).toBe('2');
      expect(await report.locator('.stat.invited b').textContent()).toBe('3');
      expect(await report.locator('.stat.errors b').textContent()).toBe('1');
      expect(await page.locator('#roster-errors tbody tr').first().textContent()).toMatch(/^第 4 行/);
      expect(await page.locator('#roster-items tbody tr').count()).toBe(3);
      await page.locator('#roster-print').waitFor();
      await screenshot(page, 'binding-roster-import');

      for (const [no, name] of [['74001', '郑丽'], ['74002', '冯涛']] as const) {
        expect((await getEmployee(no)).body).toMatchObject({ employeeNo: no, name, openid: null, binding: 'invited' });
      }
      // 7 days, as chosen.
      const expiresAt = Date.parse((await getEmployee('74001')).body.invitation.expiresAt);
      expect(Math.abs(expiresAt - (Date.now() + 168 * 3600_000))).toBeLessThan(120_000);

      const [print] = await Promise.all([pages.context.waitForEvent('page'), page.locator('#roster-print').click()]);
      pages.watch(print);
      await print.waitForLoadState('load');
      await expect.poll(() => print.locator('.slip').count()).toBe(3);
      await print.close();
      await page.locator('#roster-close').click();
      await page.locator('#emp-table tbody tr[data-employee-no="74002"] .binding', { hasText: '待绑定' }).waitFor();
    },
    TIMEOUT,
  );

  it(
    'shows each attempt\'s channel, the template msgid and WeChat\'s delivery report in the message detail',
    async () => {
      const wechat = bridge.wechat!;
      // Bound by an administrator and never seen by the callback: outside the window, so a template.
      const openid = 'oBindUiTemplate72001zz';
      await bind(bridge.url, { employeeNo: '72001', openid, name: '周文', active: true });
      const guid = newGuid();
      const ack = await push(bridge.url, soapPush(guid, '72001', '同意，请按预算执行'));
      expect(ack.ackCode).toBe('AA');
      const sent = wechat.templates.filter((t) => t.touser === openid && t.errcode === 0);
      expect(sent.length).toBe(1);
      const msgid = sent[0]!.msgid!;

      // WeChat reports the template did not reach the phone.
      const report = await playerFor(bridge).event(openid, 'TEMPLATESENDJOBFINISH', { MsgID: msgid, Status: 'failed:user block' });
      expect(report.status).toBe(200);
      await expect
        .poll(async () => (await request(bridge.url).get(`/admin/api/messages/${guid}`).set(auth)).body.deliveryReport?.status)
        .toBe('failed:user block');

      const page = await pages.open();
      await signIn(page, bridge.url);
      await page.goto(`${bridge.url}/admin/#/messages/${guid}`);
      await page.locator('#detail-guid').waitFor();
      const attempt = page.locator('#detail-attempts tbody tr').last();
      expect(await attempt.locator('.attempt-channel').textContent()).toBe('模板消息');
      expect(await attempt.locator('.attempt-msgid').textContent()).toBe(msgid);
      const delivery = page.locator('#detail-delivery-report');
      await delivery.waitFor();
      expect(await delivery.getAttribute('data-status')).toBe('failed:user block');
      expect(await delivery.locator('.alert-error').textContent()).toContain('未送达');
      expect(await delivery.textContent()).toContain(msgid);
      expect(await page.locator('#detail-outcome').textContent()).toContain('手机未送达');
      await screenshot(page, 'binding-message-delivery-report');

      // Someone who wrote to the account a moment ago is inside the window: customer-service text.
      const chatty = 'oBindUiChatty72002zz';
      await bind(bridge.url, { employeeNo: '72002', openid: chatty, name: '钱程', active: true });
      expect((await playerFor(bridge).text(chatty, '你好')).status).toBe(200);
      const custom = newGuid();
      expect((await push(bridge.url, soapPush(custom, '72002'))).ackCode).toBe('AA');
      expect(wechat.delivered(chatty).length).toBe(1);
      await page.goto(`${bridge.url}/admin/#/messages/${custom}`);
      await page.locator('#detail-guid').waitFor();
      expect(await page.locator('#detail-attempts tbody tr .attempt-channel').first().textContent()).toBe('客服消息');
      expect(await page.locator('#detail-delivery-report').count()).toBe(0);
      await pages.close();

      // Sandbox mode with a template: the record says it would have gone as a template, with its data.
      const sandboxDb = await createTestDatabase('binding_ui_sandbox');
      const sandbox = await startBridge({
        databaseUrl: sandboxDb.url,
        wechat: false,
        env: { WECHAT_TEMPLATE_ID: 'TPL_APPROVAL_1', WECHAT_TEMPLATE_FIELDS: 'thing1=bill_type,character_string2=bill_num,thing3=approval_opinion' },
      });
      try {
        await bind(sandbox.url, { employeeNo: '73001', openid: 'oBindUiSandbox73001zz', name: '吴悦', active: true });
        const sandboxGuid = newGuid();
        expect((await push(sandbox.url, soapPush(sandboxGuid, '73001', '同意'))).ackCode).toBe('AA');
        const page2 = await pages.open();
        await signIn(page2, sandbox.url);
        await page2.goto(`${sandbox.url}/admin/#/messages/${sandboxGuid}`);
        const row = page2.locator('#detail-attempts tbody tr.attempt-sandbox');
        await row.waitFor();
        expect(await row.locator('.attempt-channel').textContent()).toBe('模板消息');
        expect(await row.locator('.sandbox-note').textContent()).toContain('沙箱模式：将通过模板消息发送');
        const data = row.locator('.tpl-data');
        expect(await data.locator('dt').allTextContents()).toEqual(['thing1', 'character_string2', 'thing3']);
        expect(await data.locator('dd').nth(2).textContent()).toBe('同意');
        await screenshot(page2, 'binding-message-sandbox-template');

        // And in sandbox mode an invitation has no QR code: the dialog says so and shows the code.
        await page2.goto(`${sandbox.url}/admin/#/employees`);
        await page2.locator('#emp-table tbody tr[data-employee-no="73001"]').getByRole('button', { name: '生成绑定码' }).click();
        await page2.locator('#invite-create').click();
        await page2.locator('#invite-no-qr').waitFor();
        expect(await page2.locator('#invite-no-qr').textContent()).toBe('沙箱模式无二维码');
        expect((await page2.locator('#invite-code').textContent())!.trim()).toMatch(CODE);
        expect(await page2.locator('#invite-qr').count()).toBe(0);
        await pages.close();
      } finally {
        await sandbox.stop();
        await sandboxDb.drop();
      }
    },
    TIMEOUT,
  );
});
