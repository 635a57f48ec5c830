import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LiveWechatConfig } from '../../src/config.js';
import type { Database } from '../../src/db/data-source.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import type { Delivery, Notice } from '../../src/push/deliver.js';
import type { Approval } from '../../src/types.js';
import { WechatApi } from '../../src/wechat/api.js';
import { createQrScene, QrCodeError } from '../../src/wechat/qrcode.js';
import { parseTemplateFields } from '../../src/wechat/template-fields.js';
import { TemplateChannel, type TemplateChannelConfig } from '../../src/wechat/template.js';
import { TokenProvider } from '../../src/wechat/token.js';
import { openTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { FakeWechat, QR_INVALID_ARGS } from '../support/fake-wechat.js';
import { newGuid } from '../support/push.js';

// The template channel (contract §10) and QR-code creation (contract §9) against the fake WeChat on
// loopback, through the real HTTP client and the token shared in a real Postgres: what is sent,
// the msgid kept digit for digit, the one resend after a lost answer that WeChat's client_msg_id
// deduplication makes safe, and the retry rules of contract §5. Last, the fake's own
// 48-hour-window, template and QR behaviour, which other tests rely on.

const OPENID = 'oTPLx9Qb6WdYSo54avF41qKoU3rY';
const TEMPLATE_ID = 'Tz1_e6WkYp0aN0tXm3V8bqLrC5dJfHgKsUoIyEwRtQ4';
const TIMEOUT_MS = 500;
const log = createLogger('silent');

let db: TestDatabase;
let database: Database;
let wechat: FakeWechat;
let config: LiveWechatConfig;
let metrics: Metrics;
let api: WechatApi;
let tokens: TokenProvider;

beforeAll(async () => {
  ({ db, database } = await openTestDatabase('template_channel', 4));
  // Slow answers take 1.5 s: three times the channel's timeout.
  wechat = await new FakeWechat({ slowMs: 1500 }).start();
  config = {
    mode: 'live',
    appId: wechat.appId,
    secret: wechat.secret,
    apiBase: wechat.url,
    tokenApi: 'stable',
    timeoutMs: TIMEOUT_MS,
    maxRetries: 3,
    maxConnections: 16,
    maxParts: 5,
    delivery: 'template',
    template: null,
  };
  metrics = new Metrics();
  api = new WechatApi(config, metrics);
  tokens = new TokenProvider(database, api, config, 'template-channel-test', log, metrics);
});

afterAll(async () => {
  await api?.close();
  await wechat?.stop();
  await database?.close();
  await db?.drop();
});

beforeEach(() => wechat.reset());
// Slow answers still being held would land in the next test's logs.
afterEach(async () => wechat.settled());

const FIELDS = 'thing1=project_name, character_string2=bill_num, phrase3=approval_opinion, time4=approval_date, thing5="审批结果通知", character_string6=guid';

function channel(overrides: Partial<TemplateChannelConfig> = {}): TemplateChannel {
  return new TemplateChannel(
    api,
    tokens,
    { templateId: TEMPLATE_ID, fields: parseTemplateFields(FIELDS), url: 'https://erp.example.cn/approval?id={guid}&from=wechat', timeoutMs: TIMEOUT_MS, maxRetries: 3, ...overrides },
    metrics,
  );
}

function notice(guid = newGuid(), approval: Partial<Approval> = {}): Notice {
  return {
    guid,
    approval: {
      guid,
      senderId: 'HIP',
      receiverId: 'WECHAT-BRIDGE',
      employeeNo: '10086',
      operator: '李娜',
      billType: '差旅报销',
      billNum: 'BX20261122000123',
      approvalDate: '2026-11-22 14:05:09',
      approvalOpinion: '同意',
      items: [{ pi: '王教授', cardNum: 'C-001', projectName: '一项评价新型口服抗凝药在房颤患者中安全性的多中心随机对照临床试验' }],
      ...approval,
    },
    parts: ['(customer-service text, unused by the template channel)'],
    lastInteractionAt: null,
  };
}

const send = (ch: TemplateChannel, openid: string, n: Notice): Promise<Delivery> => ch.send(openid, n, Date.now() + 15_000, new Set());

/** Every attempt of the template channel says so, and is part 0: a template is one message. */
function expectTemplateAttempts(delivery: Delivery, count: number): void {
  expect(delivery.attempts).toHaveLength(count);
  for (const attempt of delivery.attempts) expect(attempt).toMatchObject({ channel: 'template', part: 0 });
  expect(delivery.accepted).toEqual([]);
}

describe('TemplateChannel: what is sent', () => {
  it('sends touser, template_id, client_msg_id = GUID, the data cut per key type and the url with the GUID', async () => {
    const n = notice(newGuid(), { billNum: 'BX-2026-11-22-000123-ABCDEFGHIJKLMNOPQRST', approvalOpinion: '同意，请尽快付款' });
    const delivery = await send(channel(), OPENID, n);
    expect(delivery.outcome).toEqual({ code: 'DELIVERED' });
    expectTemplateAttempts(delivery, 1);
    expect(wechat.templates).toHaveLength(1);
    const sent = wechat.templates[0]!;
    expect(sent).toMatchObject({ touser: OPENID, templateId: TEMPLATE_ID, clientMsgId: n.guid, errcode: 0, duplicate: false });
    expect(sent.url).toBe(`https://erp.example.cn/approval?id=${encodeURIComponent(n.guid)}&from=wechat`);
    expect(sent.data).toEqual({
      // thing: 20 characters, the last one `…`
      thing1: { value: '一项评价新型口服抗凝药在房颤患者中安全…' },
      // character_string: 32
      character_string2: { value: 'BX-2026-11-22-000123-ABCDEFGHIJ…' },
      // phrase: 5
      phrase3: { value: '同意，请…' },
      // time: a format, not a length: as it is
      time4: { value: '2026-11-22 14:05:09' },
      thing5: { value: '审批结果通知' },
      // A GUID has 36 characters: in a character_string it is cut too.
      character_string6: { value: `${n.guid.slice(0, 31)}…` },
    });
    expect(Array.from(sent.data.thing1!.value)).toHaveLength(20);
    expect(sent.data.character_string2!.value).toHaveLength(32);
    expect(wechat.templatesDelivered(OPENID)).toEqual([sent]);
    // The message record shows what the template said.
    expect(delivery.attempts[0]!.templateData).toEqual(sent.data);
  });

  it('leaves out the url when there is none, and adds 等N项 to the project of a push with several items', async () => {
    const n = notice(newGuid(), {
      items: [
        { pi: 'A', cardNum: '1', projectName: '房颤研究' },
        { pi: 'B', cardNum: '2', projectName: '糖尿病' },
        { pi: 'C', cardNum: '3', projectName: '高血压' },
      ],
    });
    const delivery = await send(channel({ url: null }), OPENID, n);
    expect(delivery.outcome).toEqual({ code: 'DELIVERED' });
    const sent = wechat.templates[0]!;
    expect(sent.url).toBeUndefined();
    expect(sent.data.thing1).toEqual({ value: '房颤研究 等3项' });
  });

  it('keeps the msgid above 2^53 exactly, as text, in the attempt', async () => {
    const ch = channel();
    const first = await send(ch, OPENID, notice());
    const second = await send(ch, OPENID, notice());
    const msgids = [first, second].map((d) => d.attempts[0]!.msgid);
    expect(msgids).toEqual(wechat.templates.map((t) => t.msgid));
    for (const msgid of msgids) {
      expect(msgid).toMatch(/^\d+$/);
      expect(BigInt(msgid!)).toBeGreaterThan(2n ** 53n);
      // What JSON.parse would have made of it: a different number.
      expect(BigInt(Number(msgid))).not.toBe(BigInt(msgid!));
    }
    expect(msgids[0]).not.toBe(msgids[1]);
    expect(first.attempts[0]).toMatchObject({ errcode: 0, errmsg: 'ok', httpStatus: 200 });
  });
});

describe('TemplateChannel: an answer lost after sending is asked again once, with the same client_msg_id', () => {
  it('a timeout whose send WeChat had delivered: the repeat is deduplicated, one delivery, DELIVERED', async () => {
    const n = notice();
    wechat.templateScript.push({ delayMs: 1500 });
    const delivery = await send(channel(), OPENID, n);
    expect(delivery.outcome).toEqual({ code: 'DELIVERED' });
    expectTemplateAttempts(delivery, 2);
    expect(delivery.attempts[0]!.error).toMatch(/超时/);
    expect(delivery.attempts[0]!.msgid).toBeUndefined();
    expect(wechat.templateRequests).toBe(2);
    expect(wechat.templates.map((t) => [t.clientMsgId, t.duplicate])).toEqual([
      [n.guid, false],
      [n.guid, true],
    ]);
    expect(wechat.templatesDelivered(OPENID)).toHaveLength(1);
    // WeChat answers the repeat with the first send's msgid: the one the delivery report will name.
    expect(delivery.attempts[1]).toMatchObject({ errcode: 0, msgid: wechat.templates[0]!.msgid });
  });

  it('a connection dropped before WeChat acted: the repeat is the delivery', async () => {
    const n = notice();
    wechat.templateScript.push({ destroy: true });
    const delivery = await send(channel(), OPENID, n);
    expect(delivery.outcome).toEqual({ code: 'DELIVERED' });
    expectTemplateAttempts(delivery, 2);
    expect(wechat.templateRequests).toBe(2);
    expect(wechat.templates).toEqual([expect.objectContaining({ clientMsgId: n.guid, duplicate: false, errcode: 0 })]);
  });

  it('a second timeout ends WECHAT_UNREACHABLE, maybe delivered, after exactly two requests (_tplslow_)', async () => {
    const openid = 'oTPLx9Qb6WdY_tplslow_41qKoU3rY';
    const delivery = await send(channel(), openid, notice());
    expect(delivery.outcome).toMatchObject({ code: 'WECHAT_UNREACHABLE', maybeDelivered: true });
    expectTemplateAttempts(delivery, 2);
    for (const attempt of delivery.attempts) expect(attempt.error).toMatch(/超时/);
    expect(wechat.templateRequests).toBe(2);
    await wechat.settled();
    // The fake did deliver the first: the silence hid a delivery, which is why the ack says "maybe".
    expect(wechat.templatesDelivered(openid)).toHaveLength(1);
  });

  it('after a lost answer, a busy WeChat leaves the outcome unknown rather than failed', async () => {
    wechat.templateScript.push({ delayMs: 1500 }, { errcode: -1 }, { errcode: -1 }, { errcode: -1 }, { errcode: -1 });
    const delivery = await send(channel(), OPENID, notice());
    expect(delivery.outcome).toMatchObject({ code: 'WECHAT_UNREACHABLE', maybeDelivered: true });
    expect(wechat.templateRequests).toBe(5);
  });

  it('after a lost answer, a token API that refuses leaves the outcome unknown rather than rejected', async () => {
    const n = notice();
    // The first send times out; then WeChat refuses the token, and the token API refuses the secret.
    wechat.templateScript.push({ delayMs: 1500 }, { errcode: 40001 });
    const rejectingTokens = new TokenProvider(database, api, { ...config, secret: 'not-the-secret-wechat-has' }, 'template-channel-test-2', log, metrics);
    const ch = new TemplateChannel(api, rejectingTokens, { templateId: TEMPLATE_ID, fields: parseTemplateFields(FIELDS), url: null, timeoutMs: TIMEOUT_MS, maxRetries: 3 }, metrics);
    const delivery = await ch.send(OPENID, n, Date.now() + 15_000, new Set());
    // Three attempts: the timeout, the repeat refused with 40001, the token fetch refused with 40125.
    expect(delivery.attempts.map((a) => a.errcode ?? a.error)).toEqual([expect.stringMatching(/超时/), 40001, 40125]);
    expect(delivery.outcome).toMatchObject({ code: 'WECHAT_UNREACHABLE', maybeDelivered: true });
    expect(wechat.templatesDelivered(OPENID)).toHaveLength(1);
  });
});

describe('TemplateChannel: token and retry rules (contract §5)', () => {
  it('on 40001 drops the token, fetches a fresh one and retries once', async () => {
    await send(channel(), OPENID, notice()); // a token in hand
    wechat.reset();
    wechat.invalidateTokens();
    const delivery = await send(channel(), OPENID, notice());
    expect(delivery.outcome).toEqual({ code: 'DELIVERED' });
    expectTemplateAttempts(delivery, 2);
    expect(delivery.attempts.map((a) => a.errcode)).toEqual([40001, 0]);
    expect(wechat.templates.map((t) => t.errcode)).toEqual([40001, 0]);
    expect(wechat.tokenCalls).toEqual([expect.objectContaining({ api: 'stable', forceRefresh: false })]);
    const stored = await withClient(db.url, async (c) => (await c.query('SELECT access_token FROM wechat_tokens')).rows);
    expect(stored).toHaveLength(1);
    expect(await tokens.get()).toBe(stored[0].access_token);
  });

  it('a token refused twice is retried once only, and ends WECHAT_REJECTED 40001', async () => {
    wechat.templateScript.push({ errcode: 40001 }, { errcode: 40001 }, { errcode: 0 });
    const delivery = await send(channel(), OPENID, notice());
    expect(delivery.outcome).toMatchObject({ code: 'WECHAT_REJECTED', errcode: 40001 });
    expectTemplateAttempts(delivery, 2);
    expect(wechat.templateRequests).toBe(2);
    expect(wechat.templateScript).toHaveLength(1);
  });

  it('retries -1 and HTTP 503 with growing backoff, then delivers', async () => {
    wechat.templateScript.push({ errcode: -1 }, { httpStatus: 503 });
    const delivery = await send(channel(), OPENID, notice());
    expect(delivery.outcome).toEqual({ code: 'DELIVERED' });
    expectTemplateAttempts(delivery, 3);
    expect(delivery.attempts.map((a) => a.errcode ?? a.httpStatus)).toEqual([-1, 503, 0]);
    expect(wechat.templatesDelivered(OPENID)).toHaveLength(1);
    const at = delivery.attempts.map((a) => Date.parse(a.at));
    // Backoff 200 ms then 400 ms, ±25 %.
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(150);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(300);
  });

  it('gives up after maxRetries retries of -1', async () => {
    wechat.templateScript.push(...Array.from({ length: 6 }, () => ({ errcode: -1 })));
    const delivery = await send(channel({ maxRetries: 2 }), OPENID, notice());
    expect(delivery.outcome).toMatchObject({ code: 'WECHAT_REJECTED', errcode: -1 });
    expectTemplateAttempts(delivery, 3);
    expect(wechat.templateRequests).toBe(3);
  });

  it('gives up after maxRetries retries of HTTP 503: unreachable, not delivered', async () => {
    wechat.templateScript.push(...Array.from({ length: 6 }, () => ({ httpStatus: 503 })));
    const delivery = await send(channel({ maxRetries: 1 }), OPENID, notice());
    expect(delivery.outcome).toMatchObject({ code: 'WECHAT_UNREACHABLE', maybeDelivered: false });
    expect(wechat.templateRequests).toBe(2);
  });

  it('does not retry 43004 (not following), and says so (_tplerr43004_)', async () => {
    const openid = 'oTPLx9Qb6WdY_tplerr43004_qKoU3rY';
    const delivery = await send(channel(), openid, notice());
    expect(delivery.outcome).toMatchObject({ code: 'WECHAT_REJECTED', errcode: 43004, errmsg: expect.stringMatching(/^require subscribe/) });
    expectTemplateAttempts(delivery, 1);
    expect(wechat.templateRequests).toBe(1);
    expect(wechat.templatesDelivered()).toEqual([]);
  });
});

describe('createQrScene', () => {
  it('creates a QR_STR_SCENE code for the scene and answers ticket, url and lifetime', async () => {
    const scene = 'inv_7Kq2mXw9PzR4tYb8';
    const qr = await createQrScene(api, tokens, scene, 72 * 3600, TIMEOUT_MS);
    expect(wechat.qrCodes).toEqual([expect.objectContaining({ scene, expireSeconds: 259_200 })]);
    expect(qr).toEqual({ ticket: wechat.qrCodes[0]!.ticket, url: wechat.qrCodes[0]!.url, expireSeconds: 259_200 });
    expect(qr.url).toMatch(/^http:\/\/weixin\.qq\.com\/q\/[\w-]+$/);
  });

  it('throws QrCodeError with the errcode, without retrying', async () => {
    wechat.qrScript.push({ errcode: 45009 });
    const error = await createQrScene(api, tokens, 'inv_scene_0000000001', 3600, TIMEOUT_MS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QrCodeError);
    expect(error).toMatchObject({ errcode: 45009, errmsg: expect.stringMatching(/^reach max api daily quota limit/) });
    expect(wechat.qrRequests).toBe(1);
    expect(wechat.qrCodes).toEqual([]);
  });

  it('throws QrCodeError without errcode on HTTP 503 or a timeout', async () => {
    wechat.qrScript.push({ httpStatus: 503 }, { delayMs: 1500 });
    await expect(createQrScene(api, tokens, 'inv_scene_0000000002', 3600, TIMEOUT_MS)).rejects.toMatchObject({ name: 'QrCodeError', errcode: null, httpStatus: 503 });
    await expect(createQrScene(api, tokens, 'inv_scene_0000000003', 3600, TIMEOUT_MS)).rejects.toMatchObject({ name: 'QrCodeError', errcode: null, errmsg: expect.stringMatching(/超时/) });
    expect(wechat.qrRequests).toBe(2);
  });

  it('on 40001 drops the token, fetches a fresh one and asks once more', async () => {
    await tokens.get();
    wechat.invalidateTokens();
    const qr = await createQrScene(api, tokens, 'inv_scene_0000000004', 600, TIMEOUT_MS);
    expect(qr.expireSeconds).toBe(600);
    expect(wechat.qrRequests).toBe(2);
    expect(wechat.tokenCalls).toHaveLength(1);
    expect(wechat.qrCodes).toHaveLength(1);
  });

  it('a token refused twice: QrCodeError 40001 after two requests', async () => {
    wechat.qrScript.push({ errcode: 40001 }, { errcode: 40001 }, { errcode: 0 });
    await expect(createQrScene(api, tokens, 'inv_scene_0000000005', 600, TIMEOUT_MS)).rejects.toMatchObject({ name: 'QrCodeError', errcode: 40001 });
    expect(wechat.qrRequests).toBe(2);
  });

  it('refuses a scene or lifetime WeChat would refuse, before asking', async () => {
    await expect(createQrScene(api, tokens, 'x'.repeat(65), 600, TIMEOUT_MS)).rejects.toBeInstanceOf(RangeError);
    await expect(createQrScene(api, tokens, '', 600, TIMEOUT_MS)).rejects.toBeInstanceOf(RangeError);
    await expect(createQrScene(api, tokens, 'inv_scene_0000000006', 2_592_001, TIMEOUT_MS)).rejects.toBeInstanceOf(RangeError);
    await expect(createQrScene(api, tokens, 'inv_scene_0000000006', 0, TIMEOUT_MS)).rejects.toBeInstanceOf(RangeError);
    expect(wechat.qrRequests).toBe(0);
  });
});

describe('the fake WeChat itself', () => {
  const post = async (path: string, body: unknown, token: string): Promise<{ text: string; json: { errcode?: number; [k: string]: unknown } }> => {
    const res = await fetch(`${wechat.url}${path}?access_token=${encodeURIComponent(token)}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    return { text, json: JSON.parse(text) as { errcode?: number } };
  };
  const custom = (touser: string, token: string) => post('/cgi-bin/message/custom/send', { touser, msgtype: 'text', text: { content: 'hi' } }, token).then((r) => r.json.errcode);
  const template = (body: Record<string, unknown>, token: string) => post('/cgi-bin/message/template/send', { template_id: TEMPLATE_ID, data: { thing1: { value: 'x' } }, ...body }, token);

  it('_nowindow_ and _nocount_ refuse customer-service text (45015, 45047) but not templates', async () => {
    const token = wechat.issue();
    expect(await custom('oABC_nowindow_xyz', token)).toBe(45015);
    expect(await custom('oABC_nocount_xyz', token)).toBe(45047);
    expect(await custom('oABC_plain_xyz', token)).toBe(0);
    expect((await template({ touser: 'oABC_nowindow_xyz' }, token)).json.errcode).toBe(0);
    expect((await template({ touser: 'oABC_nocount_xyz' }, token)).json.errcode).toBe(0);
    expect(wechat.delivered()).toEqual(['hi']);
    expect(wechat.templatesDelivered().map((t) => t.touser)).toEqual(['oABC_nowindow_xyz', 'oABC_nocount_xyz']);
  });

  it('enforceWindow: customer-service text only within 48 hours of an interaction; closeWindow closes one', async () => {
    const token = wechat.issue();
    expect(await custom(OPENID, token)).toBe(0);
    wechat.enforceWindow = true;
    expect(await custom(OPENID, token)).toBe(45015);
    wechat.interacted(OPENID, Date.now() - 49 * 3600_000);
    expect(await custom(OPENID, token)).toBe(45015);
    wechat.interacted(OPENID, Date.now() - 47 * 3600_000);
    expect(await custom(OPENID, token)).toBe(0);
    expect((await template({ touser: 'oNeverInteracted01' }, token)).json.errcode).toBe(0);
    wechat.closeWindow(OPENID);
    expect(await custom(OPENID, token)).toBe(45015);
    wechat.enforceWindow = false;
    expect(await custom(OPENID, token)).toBe(45015); // closed whatever enforceWindow says
    wechat.interacted(OPENID);
    expect(await custom(OPENID, token)).toBe(0);
    wechat.closeWindow(OPENID);
    wechat.enforceWindow = true;
    wechat.reset();
    expect(wechat.enforceWindow).toBe(false);
    expect(await custom(OPENID, token)).toBe(0);
  });

  it('template sends: msgid with all its digits, dedup by openid + client_msg_id, 47001, 47003, 40001', async () => {
    const token = wechat.issue();
    const first = await template({ touser: 'oDedup0001', client_msg_id: 'G1' }, token);
    expect(first.text).toMatch(/^\{"errcode":0,"errmsg":"ok","msgid":\d{17,}\}$/);
    const msgid = /"msgid":(\d+)/.exec(first.text)![1]!;
    expect(String(first.json.msgid)).not.toBe(msgid); // JSON.parse rounds it
    const again = await template({ touser: 'oDedup0001', client_msg_id: 'G1' }, token);
    expect(again.text).toContain(`"msgid":${msgid}}`);
    const otherUser = await template({ touser: 'oDedup0002', client_msg_id: 'G1' }, token);
    const noId = [await template({ touser: 'oDedup0001' }, token), await template({ touser: 'oDedup0001' }, token)];
    expect(otherUser.text).not.toContain(msgid);
    expect(new Set(noId.map((r) => /"msgid":(\d+)/.exec(r.text)![1])).size).toBe(2);
    expect(wechat.templates.map((t) => t.duplicate)).toEqual([false, true, false, false, false]);
    expect(wechat.templatesDelivered('oDedup0001')).toHaveLength(3);

    expect((await template({ touser: '' }, token)).json.errcode).toBe(47001);
    expect((await post('/cgi-bin/message/template/send', { touser: 'oX00001', template_id: TEMPLATE_ID }, token)).json.errcode).toBe(47001);
    expect((await post('/cgi-bin/message/template/send', 'not json', token)).json.errcode).toBe(47001);
    const long = await template({ touser: 'oX00001', data: { thing1: { value: '一二三四五六七八九十一二三四五六七八九十一' } } }, token);
    expect(long.json).toMatchObject({ errcode: 47003, errmsg: expect.stringMatching(/data\.thing1\.value/) });
    expect((await template({ touser: 'oX00001' }, 'FAKETOKEN_bogus')).json.errcode).toBe(40001);
    expect(wechat.templates.slice(5).map((t) => [t.errcode, t.msgid])).toEqual([
      [47001, null],
      [47001, null],
      [47001, null],
      [47003, null],
      [40001, null],
    ]);
    expect(wechat.templateRequests).toBe(10);
  });

  it('QR codes: token checked, QR_STR_SCENE with scene_str 1–64 and expire_seconds 1–2592000, else 40097', async () => {
    const token = wechat.issue();
    const qr = (body: Record<string, unknown>, t = token) =>
      post('/cgi-bin/qrcode/create', { expire_seconds: 600, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 's1' } }, ...body }, t).then((r) => r.json);
    expect(await qr({})).toMatchObject({ ticket: expect.any(String), expire_seconds: 600, url: expect.stringMatching(/^http:\/\/weixin\.qq\.com\/q\//) });
    expect(await qr({}, 'FAKETOKEN_bogus')).toMatchObject({ errcode: 40001 });
    expect(QR_INVALID_ARGS).toBe(40097);
    for (const bad of [
      { action_name: 'QR_SCENE' },
      { action_info: { scene: { scene_str: '' } } },
      { action_info: { scene: { scene_str: 'x'.repeat(65) } } },
      { action_info: { scene: { scene_id: 7 } } },
      { expire_seconds: 0 },
      { expire_seconds: 2_592_001 },
      { expire_seconds: 1.5 },
      { expire_seconds: undefined },
    ]) {
      expect(await qr(bad), JSON.stringify(bad)).toMatchObject({ errcode: QR_INVALID_ARGS });
    }
    expect(await qr({ expire_seconds: 2_592_000, action_info: { scene: { scene_str: 'x'.repeat(64) } } })).toMatchObject({ expire_seconds: 2_592_000 });
    expect(wechat.qrCodes.map((q) => [q.scene.length, q.expireSeconds])).toEqual([
      [2, 600],
      [64, 2_592_000],
    ]);
    expect(wechat.qrRequests).toBe(11);
  });
});
