import supertest from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { bind } from '../support/employees.js';
import { FakeWechat } from '../support/fake-wechat.js';
import { newGuid, push, soapPush } from '../support/push.js';
import { approvalXml, request } from '../support/samples.js';

// Processing rules of the push path on a real Postgres: record before send, duplicates, the
// employee look-up, and no database connection held while WeChat is called.

const OPENID = 'oE2XCwQb6WdYSo54avF41qKoU3rY';
let db: TestDatabase;
let wechat: FakeWechat;
let bridge: TestBridge;

beforeAll(async () => {
  db = await createTestDatabase('push');
  wechat = await new FakeWechat().start();
  bridge = await startBridge({ databaseUrl: db.url, wechat });
  await bind(bridge.url, { employeeNo: '10086', openid: OPENID, name: '张伟', active: true });
});

afterAll(async () => {
  await bridge?.stop();
  await wechat?.stop();
  await db?.drop();
});

beforeEach(() => {
  wechat.reset();
  wechat.sendDelayMs = 0;
});

const message = (guid: string) =>
  withClient(db.url, async (c) => (await c.query('SELECT * FROM messages WHERE guid = $1 AND status <> $2', [guid, 'rejected'])).rows[0]);

describe('recording', () => {
  it('records the message before anything is sent, and holds no database connection while WeChat answers', async () => {
    const guid = newGuid();
    const seen: Array<{ status: string; checkedOut: number }> = [];
    // The bridge's own gauge of connections checked out of its pool, read while WeChat is answering.
    const checkedOut = async () => Number(/^bridge_db_pool_in_use (\d+)/m.exec((await supertest(bridge.url).get("/metrics")).text)![1]);
    wechat.onSend = async () => {
      const row = await message(guid);
      seen.push({ status: row?.status, checkedOut: await checkedOut() });
    };
    const ack = await push(bridge.url, soapPush(guid, '10086'));
    expect(ack.ackCode).toBe('AA');
    expect(seen).toEqual([{ status: 'processing', checkedOut: 0 }]);
    const row = await message(guid);
    expect(row).toMatchObject({ status: 'delivered', ack_code: 'AA', reason: '处理成功', envelope: 'soap12', action: 'GCP0001', employee_no: '10086', sender_id: 'GCPERP', receiver_id: 'WXBRIDGE', openid_masked: 'oE2X…U3rY' });
    expect(row.payload).toContain('HIPMessageServer');
    expect(row.approval.employeeNo).toBe('10086');
    expect(row.texts).toEqual(wechat.delivered(OPENID));
    expect(row.attempts).toHaveLength(1);
    expect(row.attempts[0]).toMatchObject({ part: 1, errcode: 0, httpStatus: 200 });
    expect(row.ack_xml).toContain(`extension="${guid}"`);
  });
});

describe('duplicates', () => {
  it('answers a repeat of a delivered GUID with AA and sends nothing again', async () => {
    const guid = newGuid();
    expect((await push(bridge.url, soapPush(guid, '10086'))).reason).toBe('处理成功');
    const again = await push(bridge.url, approvalXml(guid, request('10086', '同意', '', guid)), 'text/xml');
    expect(again.ackCode).toBe('AA');
    expect(again.reason).toMatch(/^处理成功（重复消息/);
    expect(wechat.delivered()).toHaveLength(1);
    expect((await message(guid)).push_count).toBe(2);
  });

  it('refuses the same GUID with different content, keeps the original and records the conflicting push', async () => {
    const guid = newGuid();
    await push(bridge.url, soapPush(guid, '10086', '同意'));
    const conflict = await push(bridge.url, soapPush(guid, '10086', '不同意'));
    expect(conflict.ackCode).toBe('AE');
    expect(conflict.reason).toMatch(/^消息ID重复/);
    expect(wechat.delivered()).toHaveLength(1);
    const rows = await withClient(db.url, async (c) => (await c.query('SELECT status, reason, approval FROM messages WHERE guid = $1 ORDER BY id', [guid])).rows);
    expect(rows.map((r) => [r.status, r.approval.approvalOpinion])).toEqual([
      ['delivered', '同意'],
      ['rejected', '不同意'],
    ]);
  });

  it('processes a GUID again when its earlier push ended AE (the mapping was added since)', async () => {
    const guid = newGuid();
    const first = await push(bridge.url, soapPush(guid, '55501'));
    expect(first.reason).toBe('工号关联账号不存在');
    await bind(bridge.url, { employeeNo: '55501', openid: 'oE2XCwNEWBOUND000000000001', name: '新员工', active: true });
    const second = await push(bridge.url, soapPush(guid, '55501'));
    expect(second).toMatchObject({ ackCode: 'AA', reason: '处理成功' });
    expect(wechat.delivered('oE2XCwNEWBOUND000000000001')).toHaveLength(1);
    expect(await message(guid)).toMatchObject({ status: 'delivered', push_count: 2 });
  });

  it('delivers once when the same GUID arrives many times at the same moment, and every push gets that ack', async () => {
    const guid = newGuid();
    wechat.sendDelayMs = 300;
    const acks = await Promise.all(Array.from({ length: 12 }, () => push(bridge.url, soapPush(guid, '10086'))));
    expect(wechat.delivered()).toHaveLength(1);
    for (const ack of acks) expect(ack).toMatchObject({ status: 200, ackCode: 'AA', targetGuid: guid });
    expect(acks.filter((a) => a.reason === '处理成功').length).toBeGreaterThanOrEqual(1);
    expect((await message(guid)).push_count).toBe(12);
  });

  it('serialises simultaneous duplicates across two bridge instances through the database', async () => {
    const other = await startBridge({ databaseUrl: db.url, wechat });
    try {
      const guid = newGuid();
      wechat.sendDelayMs = 300;
      const acks = await Promise.all(Array.from({ length: 8 }, (_, i) => push(i % 2 ? other.url : bridge.url, soapPush(guid, '10086'))));
      expect(wechat.delivered()).toHaveLength(1);
      for (const ack of acks) expect(ack.ackCode).toBe('AA');
    } finally {
      await other.stop();
    }
  });
});

describe('look-up', () => {
  it('refuses an inactive mapping as unbound', async () => {
    await bind(bridge.url, { employeeNo: '55502', openid: 'oE2XCwINACTIVE00000000001', name: '离职', active: false });
    const ack = await push(bridge.url, soapPush(newGuid(), '55502'));
    expect(ack.reason).toBe('工号关联账号不存在');
    expect(wechat.sendRequests).toBe(0);
  });
});
