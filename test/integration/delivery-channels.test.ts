import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { FakeWechat } from '../support/fake-wechat.js';
import { newGuid, push, soapPush } from '../support/push.js';
import { WechatCallbackPlayer } from '../support/wechat-callback.js';

// Reaching every employee (contract §10): the channel policy, the fallback on 45015/45047, the
// template's msgid and delivery report, and the whole story — invited, scanned, reached — with
// nobody typing an openid.

const TOKEN = 'chanToken7';
const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const TEMPLATE_ENV = {
  WECHAT_TEMPLATE_ID: 'TPL_APPROVAL_1',
  WECHAT_TEMPLATE_FIELDS: 'character_string1=bill_num,thing2=bill_type,thing3=approval_opinion,phrase4="已审批"',
  WECHAT_TEMPLATE_URL: 'https://erp.hospital.local/bill?guid={guid}',
  WECHAT_CALLBACK_TOKEN: TOKEN,
};

let db: TestDatabase;
let fake: FakeWechat;
let auto: TestBridge;

beforeAll(async () => {
  db = await createTestDatabase('channels');
  fake = await new FakeWechat().start();
  auto = await startBridge({ databaseUrl: db.url, wechat: fake, env: TEMPLATE_ENV });
});

afterAll(async () => {
  await auto?.stop();
  await fake?.stop();
  await db?.drop();
});

beforeEach(() => {
  fake.reset();
  fake.enforceWindow = false;
});

async function bindDirect(employeeNo: string, openid: string, interactedHoursAgo: number | null): Promise<void> {
  await request(auto.url).put(`/admin/api/employees/${employeeNo}`).set(auth).send({ openid, name: '测试' });
  if (interactedHoursAgo !== null) {
    await withClient(db.url, (c) =>
      c.query(
        `INSERT INTO wechat_users (openid, last_interaction_at) VALUES ($1, now() - make_interval(secs => $2::float8 * 3600))
         ON CONFLICT (openid) DO UPDATE SET last_interaction_at = EXCLUDED.last_interaction_at`,
        [openid, interactedHoursAgo],
      ),
    );
  }
}

async function detail(bridge: TestBridge, guid: string) {
  return (await request(bridge.url).get(`/admin/api/messages/${guid}`).set(auth)).body;
}

describe('auto (the default with a template)', () => {
  it('sends the template to an employee never seen by the callback, with client_msg_id = GUID and its msgid kept exactly', async () => {
    await bindDirect('A1', 'oA1neverseen0001', null);
    const guid = newGuid();
    const ack = await push(auto.url, soapPush(guid, 'A1'));
    expect(ack).toMatchObject({ ackCode: 'AA', reason: '处理成功' });
    expect(fake.sends).toHaveLength(0);
    expect(fake.templates).toHaveLength(1);
    const sent = fake.templates[0]!;
    expect(sent).toMatchObject({ touser: 'oA1neverseen0001', templateId: 'TPL_APPROVAL_1', clientMsgId: guid, url: `https://erp.hospital.local/bill?guid=${guid}` });
    expect(sent.data.phrase4).toEqual({ value: '已审批' });
    // Every value within its key type's limit.
    expect(Array.from(sent.data.thing2!.value).length).toBeLessThanOrEqual(20);
    const message = await detail(auto, guid);
    expect(message.attempts).toHaveLength(1);
    expect(message.attempts[0]).toMatchObject({ channel: 'template', errcode: 0, msgid: sent.msgid });
    expect(BigInt(sent.msgid!)).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
    expect(message.templateMsgids).toEqual([sent.msgid]);
  });

  it('sends customer-service text to an employee who interacted within 47 hours', async () => {
    await bindDirect('A2', 'oA2recent0000001', 2);
    const guid = newGuid();
    expect((await push(auto.url, soapPush(guid, 'A2'))).ackCode).toBe('AA');
    expect(fake.delivered('oA2recent0000001').length).toBeGreaterThan(0);
    expect(fake.templates).toHaveLength(0);
    expect((await detail(auto, guid)).attempts.every((a: { channel: string }) => a.channel === 'custom')).toBe(true);
  });

  it('uses the template once 47 hours have passed, though WeChat would still take text for another hour', async () => {
    await bindDirect('A3', 'oA3fortyseven001', 47.2);
    await push(auto.url, soapPush(newGuid(), 'A3'));
    expect(fake.sends).toHaveLength(0);
    expect(fake.templates).toHaveLength(1);
  });

  it.each([
    ['45015', 'oA4_nowindow_0001'],
    ['45047', 'oA5_nocount_00001'],
  ])('falls back to the template when customer service answers %s, and answers AA', async (errcode, openid) => {
    const employeeNo = `F${errcode}`;
    await bindDirect(employeeNo, openid, 1);
    const guid = newGuid();
    expect(await push(auto.url, soapPush(guid, employeeNo))).toMatchObject({ ackCode: 'AA', reason: '处理成功' });
    const { attempts } = await detail(auto, guid);
    expect(attempts.map((a: { channel: string; errcode?: number }) => [a.channel, a.errcode])).toEqual([
      ['custom', Number(errcode)],
      ['template', 0],
    ]);
    expect(fake.templatesDelivered(openid)).toHaveLength(1);
  });

  it('does not fall back on other errors (43004: not following)', async () => {
    await bindDirect('A6', 'oA6_err43004_0001', 1);
    const guid = newGuid();
    expect((await push(auto.url, soapPush(guid, 'A6'))).ackCode).toBe('AE');
    expect(fake.templates).toHaveLength(0);
  });
});

describe('delivery reports (TEMPLATESENDJOBFINISH)', () => {
  it('records a failed report on the message, matched by the exact msgid, and leaves the ack alone', async () => {
    await bindDirect('R1', 'oR1reported00001', null);
    const guid = newGuid();
    await push(auto.url, soapPush(guid, 'R1'));
    const msgid = fake.templates[0]!.msgid!;
    const before = await detail(auto, guid);
    const player = new WechatCallbackPlayer({ url: `${auto.url}/wechat/callback`, token: TOKEN, appId: fake.appId });
    const interactionBefore = await withClient(db.url, async (c) => (await c.query('SELECT last_interaction_at FROM wechat_users WHERE openid = $1', ['oR1reported00001'])).rows[0]);
    expect((await player.event('oR1reported00001', 'TEMPLATESENDJOBFINISH', { MsgID: msgid, Status: 'failed: system failed' })).body).toBe('success');
    const after = await detail(auto, guid);
    expect(after.deliveryReport).toMatchObject({ status: 'failed:system failed', msgid });
    expect(after.ackCode).toBe(before.ackCode);
    expect(after.ackXml).toBe(before.ackXml);
    // A report is WeChat's, not the employee's: it opens no customer-service window.
    const interactionAfter = await withClient(db.url, async (c) => (await c.query('SELECT last_interaction_at FROM wechat_users WHERE openid = $1', ['oR1reported00001'])).rows[0]);
    expect(interactionAfter).toEqual(interactionBefore);
    // A msgid one off (as a rounded double would be) matches nothing.
    const rounded = String(Number(msgid));
    if (rounded !== msgid) {
      await player.event('oR1reported00001', 'TEMPLATESENDJOBFINISH', { MsgID: rounded, Status: 'success' });
      expect((await detail(auto, guid)).deliveryReport.status).toBe('failed:system failed');
    }
  });
});

describe('fixed policies', () => {
  it('custom: 45015 is the answer (AE), no template', async () => {
    const bridge = await startBridge({ databaseUrl: db.url, wechat: fake, env: { ...TEMPLATE_ENV, WECHAT_DELIVERY: 'custom' } });
    try {
      await bindDirect('P1', 'oP1_nowindow_0001', 1);
      const ack = await push(bridge.url, soapPush(newGuid(), 'P1'));
      expect(ack.ackCode).toBe('AE');
      expect(ack.reason).toMatch(/45015/);
      expect(fake.templates).toHaveLength(0);
    } finally {
      await bridge.stop();
    }
  });

  it('template: always the template, even inside the window', async () => {
    const bridge = await startBridge({ databaseUrl: db.url, wechat: fake, env: { ...TEMPLATE_ENV, WECHAT_DELIVERY: 'template' } });
    try {
      await bindDirect('P2', 'oP2inwindow00001', 1);
      expect((await push(bridge.url, soapPush(newGuid(), 'P2'))).ackCode).toBe('AA');
      expect(fake.sends).toHaveLength(0);
      expect(fake.templates).toHaveLength(1);
    } finally {
      await bridge.stop();
    }
  });
});

describe('done means (issue 10)', () => {
  it('an employee who never interacted is invited, scans, and is reached: by text while the window is open, by template after', async () => {
    fake.enforceWindow = true;
    const player = new WechatCallbackPlayer({ url: `${auto.url}/wechat/callback`, token: TOKEN, appId: fake.appId });
    const inv = (await request(auto.url).post('/admin/api/employees/D1/invitations').set(auth).send({ name: '周敏' })).body;
    const scene = fake.qrCodes.find((q) => q.ticket === inv.qr.ticket)!.scene;
    // The employee's phone: WeChat opens the window when they scan, and tells the bridge.
    const phone = 'oD1employeephone';
    fake.interacted(phone);
    expect((await player.scan(phone, scene, { following: false })).reply!.content).toMatch(/^绑定成功/);

    const inWindow = newGuid();
    expect(await push(auto.url, soapPush(inWindow, 'D1'))).toMatchObject({ ackCode: 'AA', reason: '处理成功' });
    expect(fake.delivered(phone).length).toBeGreaterThan(0);
    expect(fake.templates).toHaveLength(0);

    // Three days later: WeChat would refuse text, so the bridge sends the template.
    fake.closeWindow(phone);
    await withClient(db.url, (c) => c.query(`UPDATE wechat_users SET last_interaction_at = now() - interval '3 days' WHERE openid = $1`, [phone]));
    const later = newGuid();
    expect(await push(auto.url, soapPush(later, 'D1'))).toMatchObject({ ackCode: 'AA', reason: '处理成功' });
    expect(fake.templatesDelivered(phone).map((t) => t.clientMsgId)).toEqual([later]);
    expect(fake.sends.filter((s) => s.touser === phone && s.errcode !== 0)).toEqual([]);
    // Nobody typed an openid: the only mapping writes were the invitation and the scan.
    const audit = await withClient(db.url, async (c) => (await c.query(`SELECT action, actor FROM employee_audit WHERE employee_no = 'D1' ORDER BY id`)).rows);
    expect(audit).toEqual([
      { action: 'create', actor: 'admin' },
      { action: 'invite', actor: 'admin' },
      { action: 'bind', actor: 'self-service' },
    ]);
  });
});
