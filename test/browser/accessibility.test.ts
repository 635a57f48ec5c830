import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startBridge, type TestBridge } from '../support/bridge.js';
import { expectNoPageErrors, launchBrowser, openPage, screenshot, SCREENSHOTS } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { newGuid, push, soapPush } from '../support/push.js';

// Accessibility of the whole admin page (issue 11): axe-core, from npm, run in real Chromium on
// every view and dialog at 1366×768 and 390×844; a serious or critical violation fails the test
// of that view. Every violation of any impact is written to test-output/axe-report.json, with a
// screenshot of each view (test-output/a11y-*.png). Also: one h1 per view, focus on the view's
// heading after navigation, landmarks on the sign-in page, `/` → /admin/, and the cache headers
// of the page's static files.
//
// axe is injected with context.addInitScript, which Chromium runs through DevTools before the
// page's own scripts: the page's CSP (script-src 'self', no inline scripts) stays in force and is
// tested as it is; no bypassCSP is needed.

const TIMEOUT = 60_000;
const CALLBACK_TOKEN = 'a11ycallback';

interface Finding {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string; summary: string }[];
}

const VIEWPORTS = [
  { name: 'desktop', width: 1366, height: 768 },
  { name: 'phone', width: 390, height: 844 },
] as const;

let db: TestDatabase;
let bridge: TestBridge;
let browser: Browser;
let failedGuid = '';
/** Per view: axe's violations (any impact) and what it could not decide alone (for a person to look at). */
const report: Record<string, { violations: Finding[]; needsReview: string[] }> = {};
const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

beforeAll(async () => {
  db = await createTestDatabase('accessibility_ui');
  bridge = await startBridge({ databaseUrl: db.url, env: { WECHAT_CALLBACK_TOKEN: CALLBACK_TOKEN } });
  const put = (no: string, body: object) => request(bridge.url).put(`/admin/api/employees/${no}`).set(auth).send(body);
  // Bound, bound to an openid WeChat refuses with 45015, unbound, invited.
  expect((await put('80001', { openid: 'oA11yBound80001abcd', name: '张伟', active: true })).status).toBe(201);
  expect((await put('80002', { openid: 'oA11y_err45015_80002x', name: '李娜', active: true })).status).toBe(201);
  expect((await put('80003', { name: '王芳' })).status).toBe(201);
  expect((await put('80004', { name: '刘洋', active: false })).status).toBe(201);
  expect((await request(bridge.url).post('/admin/api/employees/80004/invitations').set(auth).send({})).status).toBe(201);
  expect((await push(bridge.url, soapPush(newGuid(), '80001'))).ackCode).toBe('AA');
  failedGuid = newGuid();
  expect((await push(bridge.url, soapPush(failedGuid, '80002', '同意，请尽快办理'))).ackCode).toBe('AE');
  expect((await push(bridge.url, soapPush(newGuid(), '80003'))).ackCode).toBe('AE');
  browser = await launchBrowser();
});

afterAll(async () => {
  writeFileSync(path.join(SCREENSHOTS, 'axe-report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await browser?.close();
  await bridge?.stop();
  await db?.drop();
});

/** Runs axe on the page as it is now; records every finding, answers the serious and critical ones. */
async function audit(page: Page, key: string): Promise<string[]> {
  const { findings, review } = (await page.evaluate(`axe.run(document, { resultTypes: ['violations', 'incomplete'] }).then((r) => ({
    findings: r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    })),
    review: r.incomplete.map((v) => v.id + ' ×' + v.nodes.length + ': ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' (' + (n.any.concat(n.all, n.none)[0] || {}).message + ')').join('; ')),
  }))`)) as { findings: Finding[]; review: string[] };
  report[key] = { violations: findings, needsReview: review };
  await screenshot(page, `a11y-${key}`, { viewport: true });
  return findings
    .filter((f) => f.impact === 'serious' || f.impact === 'critical')
    .flatMap((f) => f.nodes.map((n) => `${f.impact} ${f.id} (${f.help}): ${n.target}`));
}

const h1Count = (page: Page) => page.evaluate(`[...document.querySelectorAll('h1')].filter((h) => h.getClientRects().length > 0).length`) as Promise<number>;

/** The focused element's tag and text. */
const focused = (page: Page) => page.evaluate(`document.activeElement ? document.activeElement.tagName + ' ' + document.activeElement.textContent.trim() : ''`) as Promise<string>;

for (const viewport of VIEWPORTS) {
  describe(`axe at ${viewport.width}×${viewport.height}`, () => {
    let context: BrowserContext;
    let page: Page;
    let pageErrors: string[] = [];
    const check = async (view: string): Promise<void> => {
      expect(await audit(page, `${viewport.name}-${view}`), `${view}: serious or critical axe violations`).toEqual([]);
    };
    const go = async (nav: string, ready: string): Promise<void> => {
      await page.locator(`[data-nav=${nav}]`).click();
      await page.locator(ready).first().waitFor();
    };
    const closeDialog = async (id: string): Promise<void> => {
      await page.keyboard.press('Escape');
      await page.locator(id).waitFor({ state: 'detached' });
    };

    beforeAll(async () => {
      ({ context, page, errors: pageErrors } = await openPage(browser, { viewport: { width: viewport.width, height: viewport.height }, axe: true }));
    });

    afterAll(async () => {
      await context?.close();
    });

    afterEach(() => {
      // Each test its own errors, on the one page of this viewport.
      expectNoPageErrors(pageErrors.splice(0));
    });

    it(
      'sign-in: landmarks, one h1, no serious violation',
      async () => {
        await page.goto(`${bridge.url}/admin/`);
        await page.locator('#login-token').waitFor();
        expect(await page.evaluate('typeof axe')).toBe('object');
        expect(await page.locator('main').count()).toBe(1);
        expect(await page.locator('main #login-form').count()).toBe(1);
        expect(await h1Count(page)).toBe(1);
        await check('sign-in');
        // A wrong token: the error shown is checked as well.
        await page.locator('#login-token').fill('wrong-token');
        await page.locator('#login-submit').click();
        await page.locator('#login-error').waitFor({ state: 'visible' });
        await check('sign-in-error');
        await page.locator('#login-token').fill(ADMIN_TOKEN);
        await page.locator('#login-submit').click();
        await page.locator('#app-view').waitFor();
      },
      TIMEOUT,
    );

    it(
      'dashboard',
      async () => {
        await page.locator('#card-today').waitFor();
        await page.locator('#dash-failures tbody tr').first().waitFor();
        expect(await h1Count(page)).toBe(1);
        await check('dashboard');
      },
      TIMEOUT,
    );

    it(
      'employees, and focus on the heading after navigating there',
      async () => {
        await go('employees', '#emp-table tbody tr[data-employee-no="80004"]');
        expect(await focused(page)).toBe('H1 员工绑定');
        expect(await h1Count(page)).toBe(1);
        await check('employees');
      },
      TIMEOUT,
    );

    it(
      'employee dialogs: edit, invite (form and result), batch invite, CSV import, HR list import, confirmation',
      async () => {
        const row = (no: string) => page.locator(`#emp-table tbody tr[data-employee-no="${no}"]`);
        await row('80001').getByRole('button', { name: '编辑 80001 张伟', exact: true }).click();
        await page.locator('#emp-dialog').waitFor();
        await check('employee-dialog');
        await closeDialog('#emp-dialog');

        await row('80003').getByRole('button', { name: '生成绑定码 80003 王芳', exact: true }).click();
        await page.locator('#invite-form').waitFor();
        await check('invite-dialog');
        await page.locator('#invite-create').click();
        await page.locator('#invite-code').waitFor();
        await check('invite-result');
        await closeDialog('#invite-dialog');

        await page.locator('#emp-batch-invite').click();
        await page.locator('#batch-dialog').waitFor();
        await check('batch-invite-dialog');
        await closeDialog('#batch-dialog');

        await page.locator('#emp-import').click();
        await page.locator('#import-dialog').waitFor();
        await check('import-dialog');
        await closeDialog('#import-dialog');

        await page.locator('#emp-roster').click();
        await page.locator('#roster-dialog').waitFor();
        await check('roster-dialog');
        await closeDialog('#roster-dialog');

        await row('80001').getByRole('button', { name: '删除 80001 张伟', exact: true }).click();
        await page.locator('#confirm-dialog').waitFor();
        await check('confirm-dialog');
        await page.locator('#confirm-cancel').click();
        await page.locator('#confirm-dialog').waitFor({ state: 'detached' });
      },
      TIMEOUT,
    );

    it(
      'messages, and focus on the heading after navigating there',
      async () => {
        await go('messages', `#msg-table tbody tr[data-guid="${failedGuid}"]`);
        expect(await focused(page)).toBe('H1 消息记录');
        expect(await h1Count(page)).toBe(1);
        await check('messages');
        // The bulk resend dialog, with the failed message ticked.
        await page.locator(`#msg-table tbody tr[data-guid="${failedGuid}"] input.row-check`).check();
        await page.locator('#msg-resend-selected').click();
        await page.locator('#bulk-dialog').waitFor();
        await page.locator('#bulk-start').waitFor();
        await check('bulk-resend-dialog');
        await page.locator('#bulk-cancel').click();
        await page.locator('#bulk-dialog').waitFor({ state: 'detached' });
      },
      TIMEOUT,
    );

    it(
      'message detail (a 45015 failure: attempts, payload and ack as code blocks)',
      async () => {
        await page.evaluate(`window.location.hash = '#/messages/${failedGuid}'`);
        await page.locator('#detail-guid').waitFor();
        await page.locator('#detail-payload').waitFor();
        expect(await focused(page)).toBe('H1 消息详情');
        expect(await h1Count(page)).toBe(1);
        await check('message-detail');
        // The applicant's binding, edited from the failed message.
        await page.locator('#applicant-edit').click();
        await page.locator('#emp-dialog').waitFor();
        await check('message-detail-edit-binding');
        await closeDialog('#emp-dialog');
        // Code blocks that scroll must be reachable by keyboard and say what they hold: tabindex=0,
        // and a name, which a <pre> may only carry with a role (axe: aria-prohibited-attr).
        const blocks = (await page.locator('pre').evaluateAll((pres) =>
          pres.map((p) => ({
            pre: p.id || p.className,
            tabindex: p.getAttribute('tabindex'),
            role: p.getAttribute('role'),
            named: Boolean(p.getAttribute('aria-label') || p.getAttribute('aria-labelledby')),
          })),
        )) as { pre: string; tabindex: string | null; role: string | null; named: boolean }[];
        expect(blocks.length).toBeGreaterThan(0);
        for (const block of blocks) {
          expect(block, `pre ${block.pre}`).toMatchObject({ tabindex: '0', named: true });
          expect(block.role ?? 'no role attribute', `pre ${block.pre}: role`).toMatch(/^(region|group|document)$/);
        }
      },
      TIMEOUT,
    );

    it(
      'audit log, and focus on the heading after navigating there',
      async () => {
        await go('audit', '#audit-table tbody tr');
        expect(await focused(page)).toBe('H1 操作记录');
        expect(await h1Count(page)).toBe(1);
        await check('audit');
      },
      TIMEOUT,
    );

    it(
      'dashboard again, reached from the navigation: focus on its heading',
      async () => {
        await go('dashboard', '#card-today');
        expect(await focused(page)).toMatch(/^H1 /);
        expect(await h1Count(page)).toBe(1);
      },
      TIMEOUT,
    );
  });
}

describe('the page as served', () => {
  it('redirects / to /admin/', async () => {
    const res = await request(bridge.url).get('/');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/admin/');
  });

  it('lets the browser keep the static files, revalidated by content ETag (304), while the API and the print page stay no-store', async () => {
    for (const file of ['/admin/', '/admin/index.html', '/admin/style.css', '/admin/js/main.js', '/admin/js/views/employees.js', '/admin/vendor/htm-preact.js']) {
      const first = await request(bridge.url).get(file);
      expect(first.status, file).toBe(200);
      expect(first.headers['cache-control'], file).toBe('no-cache');
      const etag = first.headers.etag as string;
      expect(etag, file).toMatch(/^"[A-Za-z0-9_-]{20,}"$/);
      // The page's security headers are kept.
      expect(first.headers['content-security-policy'], file).toContain("script-src 'self'");
      const again = await request(bridge.url).get(file).set('If-None-Match', etag);
      expect(again.status, file).toBe(304);
      const changed = await request(bridge.url).get(file).set('If-None-Match', '"something-else"');
      expect(changed.status, file).toBe(200);
    }
    // The same bytes, the same tag; different files, different tags.
    const a = await request(bridge.url).get('/admin/index.html');
    const b = await request(bridge.url).get('/admin/');
    expect(a.headers.etag).toBe(b.headers.etag);
    expect((await request(bridge.url).get('/admin/style.css')).headers.etag).not.toBe(a.headers.etag);

    const api = await request(bridge.url).get('/admin/api/employees').set(auth);
    expect(api.status).toBe(200);
    expect(api.headers['cache-control']).toBe('no-store');
    expect(api.headers.etag).toBeUndefined();
    const unauthorised = await request(bridge.url).get('/admin/api/employees');
    expect(unauthorised.headers['cache-control']).toBe('no-store');
    const print = await request(bridge.url).get('/admin/invitations/print');
    expect(print.headers['cache-control']).toBe('no-store');
    const missing = await request(bridge.url).get('/admin/no-such-file.js');
    expect(missing.status).toBe(404);
    expect(missing.headers['cache-control']).toBe('no-store');
  });
});
