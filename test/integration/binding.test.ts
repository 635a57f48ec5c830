import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { newGuid, push, soapPush } from '../support/push.js';
import { WechatCallbackPlayer } from '../support/wechat-callback.js';

// Self-service binding (contract §9) in live mode against the fake WeChat: invitations with codes
// and QR codes, binding by scan and by code, 解绑, follow state, limits, the slips.

const TOKEN = 'bindToken42';
const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const CODE = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$/;

let db: TestDatabase;
let bridge: TestBridge;
let wechat: WechatCallbackPlayer;

beforeAll(async () => {
  db = await createTestDatabase('binding');
  bridge = await startBridge({ databaseUrl: db.url, env: { WECHAT_CALLBACK_TOKEN: TOKEN } });
  wechat = new WechatCallbackPlayer({ url: `${bridge.url}/wechat/callback`, token: TOKEN, appId: bridge.wechat!.appId });
});

afterAll(async () => {
  await bridge?.stop();
  await db?.drop();
});

beforeEach(() => bridge.wechat!.reset());

const api = () => request(bridge.url);

async function invite(employeeNo: string, body: object = {}) {
  const res = await api().post(`/admin/api/employees/${encodeURIComponent(employeeNo)}/invitations`).set(auth).send(body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { employeeNo: string; name: string; code: string; expiresAt: string; qr: { url: string; ticket: string; svg: string } | null; printUrl: string };
}

/** The scene WeChat was asked to put in the invitation's QR code. */
function sceneOf(ticket: string): string {
  const qr = bridge.wechat!.qrCodes.find((q) => q.ticket === ticket);
  if (!qr) throw new Error(`no QR code with ticket ${ticket}`);
  return qr.scene;
}

async function employee(employeeNo: string) {
  return (await api().get(`/admin/api/employees/${encodeURIComponent(employeeNo)}`).set(auth)).body;
}

async function auditOf(employeeNo: string): Promise<Array<{ action: string; actor: string; via: string }>> {
  return withClient(db.url, async (c) => (await c.query('SELECT action, actor, via FROM employee_audit WHERE employee_no = $1 ORDER BY id', [employeeNo])).rows);
}

describe('invitations', () => {
  it('creates the employee without an openid and answers the code, expiry and a QR code drawn here', async () => {
    const before = Date.now();
    const inv = await invite('B100', { name: '李娜' });
    expect(inv).toMatchObject({ employeeNo: 'B100', name: '李娜' });
    expect(inv.code).toMatch(CODE);
    expect(new Date(inv.expiresAt).getTime() - before).toBeGreaterThan(71.9 * 3600_000);
    expect(new Date(inv.expiresAt).getTime() - before).toBeLessThan(72.1 * 3600_000);
    // WeChat made a temporary string-scene QR code for exactly the invitation's lifetime.
    const qr = bridge.wechat!.qrCodes.at(-1)!;
    expect(qr.scene.length).toBeGreaterThanOrEqual(16);
    expect(qr.expireSeconds).toBe(72 * 3600);
    expect(inv.qr).toMatchObject({ url: qr.url, ticket: qr.ticket });
    expect(inv.qr!.svg).toMatch(/^<svg [^>]*viewBox/);
    expect(inv.qr!.svg).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(await employee('B100')).toMatchObject({ openid: null, name: '李娜', binding: 'invited', invitation: { code: inv.code } });
    expect((await auditOf('B100')).map((a) => a.action)).toEqual(['create', 'invite']);
  });

  it('honours expiresInHours and refuses values outside 1–720', async () => {
    await invite('B101', { expiresInHours: 1 });
    expect(bridge.wechat!.qrCodes.at(-1)!.expireSeconds).toBe(3600);
    for (const bad of [0, 721, 1.5, '24']) {
      const res = await api().post('/admin/api/employees/B101/invitations').set(auth).send({ expiresInHours: bad });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/^expiresInHours:/);
    }
  });

  it('writes nothing when WeChat cannot make the QR code, and says why', async () => {
    bridge.wechat!.qrScript.push({ errcode: 40164 });
    const res = await api().post('/admin/api/employees/B102/invitations').set(auth).send({});
    expect(res.status).toBe(502);
    expect(res.body.error).toMatch(/^qr: .*40164/);
    expect((await api().get('/admin/api/employees/B102').set(auth)).status).toBe(404);
  });

  it('a new invitation replaces the older unused one', async () => {
    const first = await invite('B103');
    const second = await invite('B103');
    expect((await wechat.text('oB103replaced01', `绑定 ${first.code}`)).reply!.content).toMatch(/^绑定失败/);
    expect((await wechat.text('oB103replaced01', `绑定 ${second.code}`)).reply!.content).toMatch(/^绑定成功/);
    const listed = await api().get('/admin/api/invitations?employeeNo=B103').set(auth);
    expect(listed.body.items.map((i: { status: string }) => i.status)).toEqual(['used', 'revoked']);
  });

  it('deleting the employee revokes the invitation', async () => {
    const inv = await invite('B104');
    expect((await api().delete('/admin/api/employees/B104').set(auth)).status).toBe(204);
    expect((await wechat.text('oB104deleted0001', `绑定 ${inv.code}`)).reply!.content).toMatch(/^绑定失败/);
    expect((await api().get('/admin/api/employees/B104').set(auth)).status).toBe(404);
  });

  it('invites many at once by list or by filter, and prints them as slips', async () => {
    for (const no of ['B200', 'B201', 'B202']) await api().put(`/admin/api/employees/${no}`).set(auth).send({ name: `员工${no}` });
    const bulk = await api().post('/admin/api/invitations').set(auth).send({ employeeNos: ['B200', 'B201'], expiresInHours: 24 });
    expect(bulk.status).toBe(201);
    expect(bulk.body.items.map((i: { employeeNo: string }) => i.employeeNo)).toEqual(['B200', 'B201']);
    expect(bulk.body.errors).toEqual([]);
    const byFilter = await api().post('/admin/api/invitations').set(auth).send({ filter: { q: 'B20', binding: 'unbound' } });
    expect(byFilter.body.items.map((i: { employeeNo: string }) => i.employeeNo)).toEqual(['B202']);

    const page = await api().get(bulk.body.printUrl);
    expect(page.status).toBe(200);
    expect(page.type).toBe('text/html');
    expect(page.text.match(/<section class="slip">/g)).toHaveLength(2);
    expect(page.text.match(/<svg /g)).toHaveLength(2);
    for (const item of bulk.body.items) expect(page.text).toContain(item.code);
    expect(page.text).toContain('员工B200');
    // The link is signed: changing whom it names, or its age, makes it worthless.
    expect((await api().get(bulk.body.printUrl.replace('B201', 'B202'))).status).toBe(403);
    expect((await api().get(bulk.body.printUrl.replace(/expires=\d+/, 'expires=9999999999'))).status).toBe(403);
    expect((await api().get('/admin/invitations/print?e=B200')).status).toBe(403);
    // A script may use its bearer token instead.
    expect((await api().get('/admin/invitations/print?e=B202').set(auth)).text).toContain(byFilter.body.items[0].code);
  });

  it('invites the HR list (employee numbers and names) in one step', async () => {
    const csv = '\uFEFF工号,姓名,科室\r\nH001,王芳,药剂科\r\nH002,赵磊,GCP办公室\r\n,,\r\nH001,王芳,药剂科\r\nbad/no,坏,x\r\n';
    const res = await api().post('/admin/api/invitations/import').set(auth).set('Content-Type', 'text/csv').send(csv);
    expect(res.status).toBe(201);
    expect(res.body.created).toBe(2);
    expect(res.body.items.map((i: { employeeNo: string; name: string }) => [i.employeeNo, i.name])).toEqual([
      ['H001', '王芳'],
      ['H002', '赵磊'],
    ]);
    expect(res.body.errors.map((e: { line: number }) => e.line)).toEqual([5, 6]);
    expect(await employee('H002')).toMatchObject({ name: '赵磊', binding: 'invited', openid: null });
  });
});

describe('binding by the employee', () => {
  it('binds by scanning as a new follower (subscribe with qrscene_) and uses the invitation up', async () => {
    const inv = await invite('S100', { name: '孙悦' });
    const answer = await wechat.scan('oS100scanner0001', sceneOf(inv.qr!.ticket), { following: false });
    expect(answer.reply!.content).toMatch(/^绑定成功/);
    expect(await employee('S100')).toMatchObject({ openid: 'oS100scanner0001', binding: 'bound', boundVia: 'self-service', invitation: null });
    expect((await auditOf('S100')).at(-1)).toEqual({ action: 'bind', actor: 'self-service', via: 'self-service' });
    // The slip is single use: someone else scanning it binds nothing…
    expect((await wechat.scan('oS100intruder001', sceneOf(inv.qr!.ticket), { following: true })).reply!.content).toMatch(/^绑定失败/);
    expect((await employee('S100')).openid).toBe('oS100scanner0001');
    // …while the employee scanning it again is told it is done.
    expect((await wechat.scan('oS100scanner0001', sceneOf(inv.qr!.ticket), { following: true })).reply!.content).toMatch(/^绑定成功/);
  });

  it('binds by scanning as a follower (SCAN), replacing an earlier openid', async () => {
    await api().put('/admin/api/employees/S101').set(auth).send({ openid: 'oS101oldphone001' });
    const inv = await invite('S101');
    expect((await wechat.scan('oS101newphone001', sceneOf(inv.qr!.ticket), { following: true })).reply!.content).toMatch(/^绑定成功/);
    expect(await employee('S101')).toMatchObject({ openid: 'oS101newphone001', boundVia: 'self-service' });
  });

  it.each([
    ['绑定 %s', 'with a space'],
    ['绑定%s', 'without a space'],
    ['绑定\u3000%s', 'with a full-width space'],
    ['  绑定 %l  ', 'in lower case'],
  ])('binds by the code sent as "%s" (%s)', async (pattern, _what) => {
    const no = `C${Math.random().toString(36).slice(2, 8)}`;
    const inv = await invite(no);
    const openid = `o${no}codebind01`;
    const text = pattern.replace('%s', inv.code).replace('%l', inv.code.toLowerCase());
    expect((await wechat.text(openid, text)).reply!.content).toMatch(/^绑定成功/);
    expect((await employee(no)).openid).toBe(openid);
    expect((await wechat.text(`${openid}x`, `绑定 ${inv.code}`)).reply!.content).toMatch(/^绑定失败/);
  });

  it('refuses an expired code', async () => {
    const inv = await invite('E100');
    await withClient(db.url, (c) => c.query(`UPDATE invitations SET expires_at = now() - interval '1 second' WHERE code = $1`, [inv.code]));
    expect((await wechat.text('oE100expired0001', `绑定 ${inv.code}`)).reply!.content).toMatch(/^绑定失败/);
    expect(await employee('E100')).toMatchObject({ openid: null, binding: 'unbound' });
  });

  it('after 5 failed codes in an hour, answers 绑定失败 without checking the code', async () => {
    const inv = await invite('F100');
    const guesser = 'oF100guesser0001';
    for (let i = 0; i < 5; i++) expect((await wechat.text(guesser, `绑定 ${i === 0 ? 'SHORT' : 'ZZZZZZZ' + (i + 1)}`)).reply!.content).toMatch(/^绑定失败/);
    expect((await wechat.text(guesser, `绑定 ${inv.code}`)).reply!.content).toMatch(/^绑定失败/);
    expect(await employee('F100')).toMatchObject({ openid: null, binding: 'invited' });
    // Another openid is not affected, and the code still works.
    expect((await wechat.text('oF100rightful001', `绑定 ${inv.code}`)).reply!.content).toMatch(/^绑定成功/);
    // An hour later the guesser may try again.
    await withClient(db.url, (c) => c.query(`UPDATE wechat_users SET failed_binds_since = now() - interval '61 minutes' WHERE openid = $1`, [guesser]));
    const next = await invite('F101');
    expect((await wechat.text(guesser, `绑定 ${next.code}`)).reply!.content).toMatch(/^绑定成功/);
  });

  it('解绑 removes the openid (audit self-service), and pushes then answer 工号关联账号不存在', async () => {
    const inv = await invite('U100');
    await wechat.text('oU100unbinder001', `绑定 ${inv.code}`);
    expect((await wechat.text('oU100unbinder001', '解绑')).reply!.content).toMatch(/^已解绑/);
    expect(await employee('U100')).toMatchObject({ openid: null, binding: 'unbound', boundVia: null });
    expect((await auditOf('U100')).at(-1)).toEqual({ action: 'unbind', actor: 'self-service', via: 'self-service' });
    expect((await push(bridge.url, soapPush(newGuid(), 'U100'))).reason).toBe('工号关联账号不存在');
  });

  it('unsubscribe marks the employee unfollowed (openid kept); a later subscribe marks them bound again', async () => {
    const inv = await invite('F200');
    await wechat.text('oF200follower001', `绑定 ${inv.code}`);
    expect((await wechat.event('oF200follower001', 'unsubscribe')).body).toBe('success');
    expect(await employee('F200')).toMatchObject({ openid: 'oF200follower001', binding: 'unfollowed' });
    const filtered = await api().get('/admin/api/employees?binding=unfollowed&q=F200').set(auth);
    expect(filtered.body.total).toBe(1);
    await wechat.event('oF200follower001', 'subscribe');
    expect(await employee('F200')).toMatchObject({ openid: 'oF200follower001', binding: 'bound' });
    expect((await auditOf('F200')).slice(-2).map((a) => [a.action, a.actor])).toEqual([
      ['unfollow', 'self-service'],
      ['refollow', 'self-service'],
    ]);
  });
});

describe('sandbox mode', () => {
  it('invites with a code and no QR code; the code binds', async () => {
    const sandbox = await startBridge({ databaseUrl: db.url, wechat: false, env: { WECHAT_CALLBACK_TOKEN: TOKEN } });
    try {
      const res = await request(sandbox.url).post('/admin/api/employees/SB1/invitations').set(auth).send({});
      expect(res.status).toBe(201);
      expect(res.body.qr).toBeNull();
      const page = await request(sandbox.url).get(res.body.printUrl);
      expect(page.text).toContain(res.body.code);
      expect(page.text).toContain('无二维码');
      const player = new WechatCallbackPlayer({ url: `${sandbox.url}/wechat/callback`, token: TOKEN, appId: 'wxsandbox' });
      expect((await player.text('oSB1sandbox00001', `绑定 ${res.body.code}`)).reply!.content).toMatch(/^绑定成功/);
      // A used invitation is no longer printed.
      expect((await request(sandbox.url).get(res.body.printUrl)).text).not.toContain(res.body.code);
    } finally {
      await sandbox.stop();
    }
  });
});
