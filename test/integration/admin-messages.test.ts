import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { bind } from '../support/employees.js';
import { FakeWechat } from '../support/fake-wechat.js';
import { newGuid, push, soapPush } from '../support/push.js';

// Contract §7 for messages: find a push, see it in full, resend it (force for delivered ones), counts.

let db: TestDatabase;
let wechat: FakeWechat;
let bridge: TestBridge;
const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const api = () => request(bridge.url);
const OPENID = 'oE2XCwQb6WdYSo54avF41qKoU3rY';

const delivered = newGuid();
const unbound = newGuid();
const rejected = newGuid();

beforeAll(async () => {
  db = await createTestDatabase('adminmsg');
  wechat = await new FakeWechat().start();
  bridge = await startBridge({ databaseUrl: db.url, wechat });
  await bind(bridge.url, { employeeNo: '10086', openid: OPENID, name: '张伟', active: true });
  await push(bridge.url, soapPush(delivered, '10086'));
  await push(bridge.url, soapPush(unbound, '70001'));
  await push(bridge.url, soapPush(rejected, ''));
});

afterAll(async () => {
  await bridge?.stop();
  await wechat?.stop();
  await db?.drop();
});

describe('message log', () => {
  it('lists newest first with outcome, employee, GUID, text and date filters', async () => {
    const all = await api().get('/admin/api/messages').set(auth);
    expect(all.body.total).toBe(3);
    expect(all.body.items.map((m: { guid: string }) => m.guid)).toEqual([rejected, unbound, delivered]);
    expect(all.body.items[1]).toMatchObject({ guid: unbound, employeeNo: '70001', ackCode: 'AE', reason: '工号关联账号不存在', status: 'failed', envelope: 'soap12', action: 'GCP0001', pushCount: 1 });
    expect(typeof all.body.items[1].receivedAt).toBe('string');

    const ae = await api().get('/admin/api/messages?outcome=AE').set(auth);
    expect(ae.body.items.map((m: { guid: string }) => m.guid)).toEqual([rejected, unbound]);
    expect((await api().get('/admin/api/messages?outcome=AA').set(auth)).body.items.map((m: { guid: string }) => m.guid)).toEqual([delivered]);
    expect((await api().get('/admin/api/messages?employeeNo=70001').set(auth)).body.total).toBe(1);
    expect((await api().get(`/admin/api/messages?guid=${delivered}`).set(auth)).body.total).toBe(1);
    expect((await api().get(`/admin/api/messages?q=${encodeURIComponent('关联账号')}`).set(auth)).body.items[0].guid).toBe(unbound);
    const today = new Date();
    const day = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
    expect((await api().get(`/admin/api/messages?from=${day}&to=${day}`).set(auth)).body.total).toBe(3);
    expect((await api().get('/admin/api/messages?to=2020-01-01').set(auth)).body.total).toBe(0);
    expect((await api().get('/admin/api/messages?outcome=maybe').set(auth)).body.error).toMatch(/^outcome/);
    expect((await api().get('/admin/api/messages?from=yesterday').set(auth)).body.error).toMatch(/^from/);
  });

  it('shows one message in full, with a masked openid', async () => {
    const res = await api().get(`/admin/api/messages/${delivered}`).set(auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ guid: delivered, status: 'delivered', ackCode: 'AA', reason: '处理成功', employeeNo: '10086', openid: 'oE2X…U3rY', senderId: 'GCPERP', receiverId: 'WXBRIDGE', pushCount: 1 });
    expect(res.body.payload).toContain('HIPMessageServer');
    expect(res.body.approval).toMatchObject({ guid: delivered, employeeNo: '10086' });
    expect(res.body.texts).toEqual(wechat.delivered(OPENID));
    expect(res.body.attempts).toEqual([expect.objectContaining({ part: 1, errcode: 0, ms: expect.any(Number), at: expect.any(String) })]);
    expect(res.body.ackXml).toContain('<acknowledgement typeCode="AA">');
    expect(JSON.stringify(res.body)).not.toContain(OPENID);
    expect((await api().get(`/admin/api/messages/${newGuid()}`).set(auth)).status).toBe(404);
  });
});

describe('resend', () => {
  it('delivers a failed message once the mapping is fixed, and records the attempt', async () => {
    await bind(bridge.url, { employeeNo: '70001', openid: 'oE2XCwFIXED000000000000001', name: '补绑', active: true });
    wechat.reset();
    const res = await api().post(`/admin/api/messages/${unbound}/resend`).set(auth).send({ force: false });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ackCode: 'AA', reason: '处理成功', partsSent: 1, partsAlreadyAccepted: 0 });
    expect(wechat.delivered('oE2XCwFIXED000000000000001')).toHaveLength(1);
    const detail = (await api().get(`/admin/api/messages/${unbound}`).set(auth)).body;
    expect(detail).toMatchObject({ status: 'delivered', ackCode: 'AA' });
    expect(detail.attempts.at(-1)).toMatchObject({ resend: true, actor: 'admin', forced: false, errcode: 0 });
    // The ack the ERP got is not rewritten.
    expect(detail.ackXml).toContain('工号关联账号不存在');
  });

  it('refuses to resend a delivered message unless forced, and records the forced resend', async () => {
    wechat.reset();
    const refused = await api().post(`/admin/api/messages/${delivered}/resend`).set(auth).send({});
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(/^force/);
    expect(wechat.sendRequests).toBe(0);
    const forced = await api().post(`/admin/api/messages/${delivered}/resend`).set(auth).send({ force: true });
    expect(forced.body).toEqual({ ackCode: 'AA', reason: '处理成功', partsSent: 1, partsAlreadyAccepted: 0 });
    expect(wechat.delivered(OPENID)).toHaveLength(1);
    const attempts = (await api().get(`/admin/api/messages/${delivered}`).set(auth)).body.attempts;
    expect(attempts).toHaveLength(2);
    expect(attempts[1]).toMatchObject({ resend: true, forced: true });
  });

  it('answers 404 for an unknown GUID, 409 for a refused push, 400 for a bad body', async () => {
    expect((await api().post(`/admin/api/messages/${newGuid()}/resend`).set(auth).send({})).status).toBe(404);
    const refusedPush = await api().post(`/admin/api/messages/${rejected}/resend`).set(auth).send({ force: true });
    expect(refusedPush.status).toBe(409);
    expect((await api().post(`/admin/api/messages/${unbound}/resend`).set(auth).send({ force: 'yes' })).body.error).toMatch(/^force/);
    expect((await api().post(`/admin/api/messages/${unbound}/resend`).set(auth).send({ now: true })).body.error).toMatch(/^now/);
  });
});

describe('stats', () => {
  it('counts outcomes for today, 24 hours and 7 days, and shows the token age but not the token', async () => {
    await withClient(db.url, (c) => c.query(`UPDATE messages SET received_at = now() - interval '3 days' WHERE guid = $1`, [rejected]));
    const res = await api().get('/admin/api/stats').set(auth);
    expect(res.body.last24h).toMatchObject({ total: 2, AA: 2, AE: 0, unknown: 0, sandbox: 0 });
    expect(res.body.last7d).toMatchObject({ total: 3, AA: 2, AE: 1, unknown: 0, sandbox: 0 });
    // §11: one of the two was answered AE (unbound) and resent since: the ERP was told AE, it is delivered now.
    expect(res.body.last24h).toMatchObject({ pushes: 2, messages: 2, erpTold: { AA: 1, AE: 1 }, current: { delivered: 2, failed: 0, refused: 0 } });
    expect(res.body.last7d).toMatchObject({ pushes: 3, messages: 2, current: { refused: 1 } });
    expect(res.body.sandbox).toBe(false);
    expect(res.body.token).toMatchObject({ api: 'stable', fetchCount: 1 });
    expect(JSON.stringify(res.body)).not.toContain('FAKETOKEN');
    expect((await api().get('/admin/api/whoami').set(auth)).body).toEqual({ actor: 'admin', sandbox: false, callback: false, delivery: 'custom' });
  });
});

describe('pushes refused without a GUID', () => {
  it('can be opened by their row id', async () => {
    await push(bridge.url, 'hello, this is not xml', 'text/plain');
    const listed = (await api().get('/admin/api/messages?q=%E6%B6%88%E6%81%AF%E6%A0%BC%E5%BC%8F').set(auth)).body.items;
    const noGuid = listed.find((m: { guid: string | null }) => m.guid === null);
    expect(noGuid).toMatchObject({ status: 'rejected', ackCode: 'AE' });
    const detail = await api().get(`/admin/api/messages/by-id/${noGuid.id}`).set(auth);
    expect(detail.body).toMatchObject({ guid: null, status: 'rejected', payload: 'hello, this is not xml', reason: expect.stringMatching(/^消息格式错误/) });
    expect((await api().get('/admin/api/messages/by-id/999999999').set(auth)).status).toBe(404);
    expect((await api().get('/admin/api/messages/by-id/abc').set(auth)).status).toBe(404);
  });
});

describe('filters and paths that cannot reach Postgres', () => {
  it.each([
    ['from=-271821-04-20', /^from: /],
    ['from=%2B275760-09-13T00:00:00.000Z', /^from: /],
    ['to=10000-01-01', /^to: /],
    ['from=1969-12-31', /^from: the year must be from 1970 to 9999/],
    ['from=0001-01-01', /^from: /],
    ['from=2026-02-31', /^from: 2026-02-31 is not a calendar day/],
    ['to=2026-11-22T24:00', /^to: /],
    ['from=2026-11-22T08:00%2B25:00', /^from: /],
    ['from=Nov%2022%202026', /^from: expected a date/],
    ['employeeNo=a%00b', /^employeeNo: must not contain control characters \(U\+0000/],
    ['guid=a%00b', /^guid: /],
    ['q=a%00b', /^q: /],
    ['outcome=AA%00', /^outcome: /],
    ['guid=<257 characters>', /^guid: at most 256 characters/],
    ['q=<10,000 characters>', /^q: at most 256 characters/],
    ['limit=1e2', /^limit: /],
    ['offset=99999999999', /^offset: /],
  ])('GET /admin/api/messages?%s answers 400 naming the parameter', async (query, error) => {
    const res = await api().get(`/admin/api/messages?${expand(query)}`).set(auth);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(error);
  });

  it.each(['from=1970-01-01', 'to=9999-12-31', 'from=2026-11-22T08:30:00%2B08:00', 'from=2026-11-22T08:30', 'to=2026-11-22T00:30:00.123Z', 'from=2028-02-29'])(
    'GET /admin/api/messages?%s is a valid filter',
    async (query) => {
      expect((await api().get(`/admin/api/messages?${query}`).set(auth)).status).toBe(200);
    },
  );

  it('reads an ISO timestamp with an offset as that instant', async () => {
    const received = (await api().get(`/admin/api/messages/${delivered}`).set(auth)).body.receivedAt as string;
    const at = new Date(received);
    const local = (ms: number) => {
      const d = new Date(at.getTime() + ms + 8 * 3600_000);
      return `${d.toISOString().slice(0, 19)}.${String(d.getUTCMilliseconds()).padStart(3, '0')}+08:00`;
    };
    const ids = async (q: string) => (await api().get(`/admin/api/messages?${q}`).set(auth)).body.items.map((m: { guid: string }) => m.guid);
    expect(await ids(`guid=${delivered}&from=${encodeURIComponent(local(0))}`)).toEqual([delivered]);
    expect(await ids(`guid=${delivered}&from=${encodeURIComponent(local(1))}`)).toEqual([]);
    expect(await ids(`guid=${delivered}&to=${encodeURIComponent(local(0))}`)).toEqual([delivered]);
    expect(await ids(`guid=${delivered}&to=${encodeURIComponent(local(-1))}`)).toEqual([]);
  });

  it.each([
    ['GET', '/admin/api/messages/%', /^path: /],
    ['GET', '/admin/api/messages/%E0%A4%A', /^path: /],
    ['POST', '/admin/api/messages/%/resend', /^path: /],
    ['GET', '/admin/api/messages/a%00b', /^guid: /],
    ['POST', '/admin/api/messages/a%00b/resend', /^guid: /],
    ['GET', '/admin/api/messages/<300 characters>', /^guid: at most 256/],
  ])('%s %s answers 400', async (method, path, error) => {
    const res = method === 'GET' ? await api().get(expand(path)).set(auth) : await api().post(expand(path)).set(auth).send({});
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(error);
  });
});

/** `<N characters>` in a test's query or path stands for that many letters (keeps test names short). */
function expand(text: string): string {
  return text.replace(/<([\d,]+) characters>/, (_m, n: string) => 'g'.repeat(Number(n.replace(/,/g, ''))));
}
