import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { textBlocks } from '../../src/push/format.js';
import { readPush } from '../../src/push/read.js';
import { composeParts, MAX_PART_BYTES, SHORTENED_NOTICE, splitIntoParts } from '../../src/push/split.js';
import { ADMIN_TOKEN, startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { bind } from '../support/employees.js';
import { FakeWechat } from '../support/fake-wechat.js';
import { newGuid, push, soapPush } from '../support/push.js';

// Long texts: a push becomes at most WECHAT_MAX_PARTS messages (the last saying the rest is in the
// ERP, the record saying it was shortened), and a text WeChat accepted only in part is completed,
// not repeated, by a re-push or a resend (a forced resend sends every part, and says so).

const OPENID = 'oE2XCwQb6WdYSo54avF41qKoU3rY';
const CONTENT_TYPE = 'application/soap+xml; charset=utf-8';
let db: TestDatabase;
let wechat: FakeWechat;
let bridge: TestBridge;

beforeAll(async () => {
  db = await createTestDatabase('long_texts');
  wechat = await new FakeWechat({ slowMs: 3000 }).start();
  bridge = await startBridge({ databaseUrl: db.url, wechat, env: { PUSH_MAX_BYTES: String(4 * 1024 * 1024) } });
  await bind(bridge.url, { employeeNo: '10086', openid: OPENID, name: '张伟', active: true });
});

afterAll(async () => {
  await bridge?.stop();
  await wechat?.stop();
  await db?.drop();
});

beforeEach(() => wechat.reset());

const row = (guid: string) =>
  withClient(db.url, async (c) => (await c.query(`SELECT status, shortened, parts_total, accepted_parts, texts, attempts FROM messages WHERE guid = $1 AND status <> 'rejected'`, [guid])).rows[0]);
const sentTexts = () => wechat.sends.map((s) => s.content);
/** The parts the bridge composes for a push body, by the pure functions. */
const partsOf = (body: string) => {
  const read = readPush(Buffer.from(body), CONTENT_TYPE);
  if (!read.ok) throw new Error('test push does not read');
  return { all: splitIntoParts(textBlocks(read.approval)), capped: composeParts(textBlocks(read.approval), 5) };
};
const items = (n: number, size: number) =>
  Array.from({ length: n }, (_, i) => `<lists><PI>3000${i}</PI><card_num>6222021234567890${String(i).padStart(3, '0')}</card_num><project_name>${'项目'.repeat(size)}${i}</project_name></lists>`).join('');

describe('at most WECHAT_MAX_PARTS messages per push (default 5)', () => {
  it('sends a 900 KB opinion as 5 messages, the last ending with the notice, and records it as shortened', async () => {
    const guid = newGuid();
    const body = soapPush(guid, '10086', '意见'.repeat(150_000));
    const { all } = partsOf(body);
    expect(all.length).toBeGreaterThan(100);
    const ack = await push(bridge.url, body);
    expect(ack).toMatchObject({ ackCode: 'AA', reason: '处理成功' });
    const texts = sentTexts();
    expect(texts).toHaveLength(5);
    for (const t of texts) expect(Buffer.byteLength(t)).toBeLessThanOrEqual(MAX_PART_BYTES);
    expect(texts[4]!.endsWith(`\n${SHORTENED_NOTICE}`)).toBe(true);
    expect(texts.slice(0, 4)).toEqual(all.slice(0, 4));
    expect(await row(guid)).toMatchObject({ status: 'delivered', shortened: true, parts_total: all.length, accepted_parts: [1, 2, 3, 4, 5] });
    const detail = await request(bridge.url).get(`/admin/api/messages/${guid}`).set({ Authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(detail.body).toMatchObject({ shortened: true, partsTotal: all.length });
  });

  it('sends 120,000 empty <lists/> as 5 messages, not 2,500', async () => {
    const guid = newGuid();
    expect((await push(bridge.url, soapPush(guid, '10086', '同意', '<lists/>'.repeat(120_000)))).ackCode).toBe('AA');
    expect(sentTexts()).toHaveLength(5);
    expect((await row(guid)).shortened).toBe(true);
  });

  it('leaves a text of up to 5 parts whole and unmarked', async () => {
    const guid = newGuid();
    const body = soapPush(guid, '10086', '同意', items(40, 20));
    const { all } = partsOf(body);
    expect(all.length).toBeGreaterThan(1);
    expect(all.length).toBeLessThanOrEqual(5);
    expect((await push(bridge.url, body)).ackCode).toBe('AA');
    expect(sentTexts()).toEqual(all);
    expect(await row(guid)).toMatchObject({ shortened: false, parts_total: all.length });
  });
});

describe('a text WeChat accepted in part', () => {
  /** A push of exactly 4 parts. */
  function fourParts(): { guid: string; body: string; parts: string[] } {
    for (let size = 10; size < 200; size++) {
      const guid = newGuid();
      const body = soapPush(guid, '10086', '同意', items(24, size));
      const { capped } = partsOf(body);
      if (capped.parts.length === 4 && !capped.shortened) return { guid, body, parts: capped.parts };
    }
    throw new Error('no 4-part text found');
  }

  it('re-push after part 4 timed out sends part 4 only', async () => {
    const { guid, body, parts } = fourParts();
    wechat.script.push({ errcode: 0 }, { errcode: 0 }, { errcode: 0 }, { delayMs: 3000, errcode: 0 });
    const first = await push(bridge.url, body);
    expect(first.ackCode).toBe('AE');
    expect(first.reason).toMatch(/发送结果未知/);
    expect((await row(guid)).accepted_parts).toEqual([1, 2, 3]);

    wechat.reset();
    const again = await push(bridge.url, body);
    expect(again).toMatchObject({ ackCode: 'AA', reason: '处理成功' });
    expect(sentTexts()).toEqual([parts[3]]);
    expect(await row(guid)).toMatchObject({ status: 'delivered', accepted_parts: [1, 2, 3, 4] });
  });

  it("an administrator's resend completes the text; a forced resend sends every part and says so", async () => {
    const { guid, body, parts } = fourParts();
    wechat.script.push({ errcode: 0 }, { errcode: 0 }, { errcode: 45015 });
    expect((await push(bridge.url, body)).reason).toMatch(/^微信发送失败\(45015\)/);

    wechat.reset();
    const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    const resent = await request(bridge.url).post(`/admin/api/messages/${guid}/resend`).set(auth).send({ force: false });
    expect(resent.body).toEqual({ ackCode: 'AA', reason: '处理成功', partsSent: 2, partsAlreadyAccepted: 2 });
    expect(sentTexts()).toEqual(parts.slice(2));

    wechat.reset();
    const forced = await request(bridge.url).post(`/admin/api/messages/${guid}/resend`).set(auth).send({ force: true });
    expect(forced.body).toEqual({ ackCode: 'AA', reason: '处理成功', partsSent: 4, partsAlreadyAccepted: 0 });
    expect(sentTexts()).toEqual(parts);
    const detail = await request(bridge.url).get(`/admin/api/messages/${guid}`).set(auth);
    expect(detail.body).toMatchObject({ partsTotal: 4, shortened: false, acceptedParts: [1, 2, 3, 4] });
    const attempts = (await row(guid)).attempts as Array<{ part: number; forced?: boolean; errcode?: number }>;
    expect(attempts.filter((a) => a.forced === true && a.errcode === 0).map((a) => a.part)).toEqual([1, 2, 3, 4]);
  });
});
