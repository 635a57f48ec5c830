import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { newGuid, push, soapPush } from '../support/push.js';
import { approvalXml, request as requestXml } from '../support/samples.js';

// The admin API additions of contract §11 that the page's failure-fixing and search rely on:
// search by bill number and name, GUID prefixes, hints, the applicant on a message, bulk resend,
// sorting and filtered export, and dashboard counts that say what they mean.

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
let db: TestDatabase;
let bridge: TestBridge;

beforeAll(async () => {
  db = await createTestDatabase('admin_second');
  bridge = await startBridge({ databaseUrl: db.url });
});

afterAll(async () => {
  await bridge?.stop();
  await db?.drop();
});

beforeEach(() => bridge.wechat!.reset());

const api = () => request(bridge.url);

/** A push whose bill number is not its GUID. */
function pushWithBill(guid: string, employeeNo: string, billNum: string): string {
  const escaped = approvalXml(guid, requestXml(employeeNo, '同意', '', billNum)).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:urn="urn:hl7-org:v3"><soap:Body><urn:HIPMessageServer><action>GCP0001</action><message>${escaped}</message></urn:HIPMessageServer></soap:Body></soap:Envelope>`;
}

async function bindEmployee(employeeNo: string, openid: string | null, name: string): Promise<void> {
  const res = await api().put(`/admin/api/employees/${employeeNo}`).set(auth).send({ openid, name });
  expect([200, 201]).toContain(res.status);
}

describe('message search (§11)', () => {
  it('matches the bill number, the applicant name, and a GUID prefix in any letter case', async () => {
    await bindEmployee('S1', 'oSearch00000001', '欧阳娜娜');
    const guid = newGuid();
    await push(bridge.url, pushWithBill(guid, 'S1', 'BX-2026-000917'));
    const other = newGuid();
    await push(bridge.url, soapPush(other, 'S1'));
    const ids = async (query: string): Promise<string[]> => (await api().get(`/admin/api/messages?${query}`).set(auth)).body.items.map((m: { guid: string }) => m.guid);
    expect(await ids('q=000917')).toEqual([guid]);
    expect((await ids(`q=${encodeURIComponent('欧阳')}`)).sort()).toEqual([guid, other].sort());
    expect(await ids(`guid=${guid.slice(0, 8).toLowerCase()}`)).toEqual([guid]);
    expect(await ids(`guid=${guid.slice(0, 8)}`)).toEqual([guid]);
    // A prefix, not a substring: the middle of a GUID finds nothing.
    expect(await ids(`guid=${guid.slice(4, 12)}`)).toEqual([]);
    // LIKE wildcards are text, not patterns.
    expect(await ids('guid=%25')).toEqual([]);
    const item = (await api().get(`/admin/api/messages?guid=${guid}`).set(auth)).body.items[0];
    expect(item).toMatchObject({ billNum: 'BX-2026-000917', applicantName: '欧阳娜娜', hint: null });
  });
});

describe('hints and the applicant (§11)', () => {
  it('explains 45015 with the next step, and unbound with how to bind; the detail carries the applicant', async () => {
    await bindEmployee('H1', 'oH1_err45015_0001', '窗口外');
    const failed = newGuid();
    expect((await push(bridge.url, soapPush(failed, 'H1'))).reason).toMatch(/45015/);
    const detail = (await api().get(`/admin/api/messages/${failed}`).set(auth)).body;
    expect(detail.hint).toMatch(/48 小时/);
    expect(detail.hint).toMatch(/模板消息/);
    expect(detail.employee).toMatchObject({ employeeNo: 'H1', name: '窗口外', binding: 'bound', openid: 'oH1_…0001' });
    const listed = (await api().get(`/admin/api/messages?guid=${failed}`).set(auth)).body.items[0];
    expect(listed.hint).toBe(detail.hint);

    const unbound = newGuid();
    await push(bridge.url, soapPush(unbound, 'H2-nobody'));
    const unboundDetail = (await api().get(`/admin/api/messages/${unbound}`).set(auth)).body;
    expect(unboundDetail.hint).toMatch(/绑定码/);
    expect(unboundDetail.employee).toBeNull();
  });
});

describe('bulk resend (§11)', () => {
  it('resends each GUID by the rules of one resend and reports each result in order', async () => {
    await bindEmployee('R1', null, '待绑定');
    const guids = [newGuid(), newGuid()];
    for (const guid of guids) expect((await push(bridge.url, soapPush(guid, 'R1'))).reason).toBe('工号关联账号不存在');
    const delivered = newGuid();
    await bindEmployee('R2', 'oR2delivered0001', '已送达');
    await push(bridge.url, soapPush(delivered, 'R2'));
    await bindEmployee('R1', 'oR1fixed00000001', '待绑定');

    const res = await api()
      .post('/admin/api/messages/resend')
      .set(auth)
      .send({ guids: [...guids, delivered, 'NO-SUCH-GUID'] });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(4);
    expect(res.body.items).toEqual([
      { guid: guids[0], ackCode: 'AA', reason: '处理成功' },
      { guid: guids[1], ackCode: 'AA', reason: '处理成功' },
      { guid: delivered, error: expect.stringMatching(/^force:/) },
      { guid: 'NO-SUCH-GUID', error: expect.stringMatching(/^guid:/) },
    ]);
    expect(bridge.wechat!.delivered('oR1fixed00000001')).toHaveLength(2);
    const attempts = (await api().get(`/admin/api/messages/${guids[0]}`).set(auth)).body.attempts;
    expect(attempts.at(-1)).toMatchObject({ resend: true, actor: 'admin' });
  });

  it('resends everything matching a filter', async () => {
    await bindEmployee('R3', null, '批量');
    const guids = [newGuid(), newGuid(), newGuid()];
    for (const guid of guids) await push(bridge.url, soapPush(guid, 'R3'));
    await bindEmployee('R3', 'oR3fixed00000001', '批量');
    const res = await api().post('/admin/api/messages/resend').set(auth).send({ filter: { outcome: 'AE', employeeNo: 'R3' } });
    expect(res.body.items.map((i: { guid: string; ackCode: string }) => [i.guid, i.ackCode])).toEqual(guids.map((g) => [g, 'AA']));
    // The ERP was told AE; the outcome now is AA. The dashboard counts both, apart.
    const stats = (await api().get('/admin/api/stats').set(auth)).body;
    expect(stats.today.erpTold.AE).toBeGreaterThanOrEqual(3);
    expect(stats.today.current.delivered).toBeGreaterThanOrEqual(3);
  });

  it.each([
    [{}, /^guids:/],
    [{ guids: [] }, /^guids:/],
    [{ guids: 'x' }, /^guids:/],
    [{ guids: ['a'], filter: {} }, /^filter:/],
    [{ filter: { outcome: 'OK' } }, /^outcome:/],
    [{ filter: { color: 'red' } }, /^filter\.color:/],
    [{ guids: ['a'], force: 'yes' }, /^force:/],
    [{ guids: ['a'], extra: 1 }, /^extra:/],
  ])('answers 400 naming the field for %o', async (body, error) => {
    const res = await api().post('/admin/api/messages/resend').set(auth).send(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(error);
  });
});

describe('employees: sorting and filtered export (§11)', () => {
  it('sorts by employee number, name or update time, either way', async () => {
    for (const [no, name] of [
      ['Z03', '乙'],
      ['Z01', '丙'],
      ['Z02', '甲'],
    ]) {
      await bindEmployee(no!, null, name!);
    }
    const order = async (query: string): Promise<string[]> => (await api().get(`/admin/api/employees?q=Z0&${query}`).set(auth)).body.items.map((e: { employeeNo: string }) => e.employeeNo);
    expect(await order('sort=employeeNo')).toEqual(['Z01', 'Z02', 'Z03']);
    expect(await order('sort=employeeNo&order=desc')).toEqual(['Z03', 'Z02', 'Z01']);
    expect(await order('sort=updatedAt&order=asc')).toEqual(['Z03', 'Z01', 'Z02']);
    expect(await order('')).toEqual(['Z02', 'Z01', 'Z03']);
    const byName = await order('sort=name');
    expect(byName).toHaveLength(3);
    expect((await api().get('/admin/api/employees?sort=salary').set(auth)).body.error).toMatch(/^sort:/);
    expect((await api().get('/admin/api/employees?order=up').set(auth)).body.error).toMatch(/^order:/);
  });

  it('exports only the rows matching the search, and says how many', async () => {
    await bindEmployee('X01', 'oX01export00001', '导出一');
    await bindEmployee('X02', 'oX02export00001', '导出二');
    const res = await api().get('/admin/api/employees/export?q=X0').set(auth);
    expect(res.headers['x-total-count']).toBe('2');
    const lines = res.text.replace(/^\uFEFF/, '').trim().split(/\r\n/);
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['X01', 'X02']);
  });
});

describe('dashboard counts (§11)', () => {
  it('counts pushes apart from messages, sandbox apart from success, and a series of buckets', async () => {
    await bindEmployee('D1', 'oD1dashboard0001', '统计');
    const guid = newGuid();
    await push(bridge.url, soapPush(guid, 'D1'));
    await push(bridge.url, soapPush(guid, 'D1')); // a duplicate: a push, not a message
    const stats = (await api().get('/admin/api/stats').set(auth)).body;
    expect(stats.today.pushes - stats.today.messages).toBeGreaterThanOrEqual(1);
    const counted = await withClient(db.url, async (c) => (await c.query(`SELECT coalesce(sum(push_count),0)::int AS p, count(*) FILTER (WHERE status <> 'rejected')::int AS m FROM messages`)).rows[0]);
    expect(stats.last7d.pushes).toBe(counted.p);
    expect(stats.last7d.messages).toBe(counted.m);
    const day = (await api().get('/admin/api/stats/series?range=7d').set(auth)).body.buckets;
    const hour = (await api().get('/admin/api/stats/series?range=24h').set(auth)).body.buckets;
    expect(day).toHaveLength(7);
    expect(hour).toHaveLength(24);
    const sum = (buckets: Array<{ AA: number }>) => buckets.reduce((n, b) => n + b.AA, 0);
    expect(sum(day)).toBe(stats.last7d.current.delivered);
    expect(sum(hour)).toBeGreaterThanOrEqual(1);
    expect((await api().get('/admin/api/stats/series?range=1y').set(auth)).body.error).toMatch(/^range:/);
  });
});
