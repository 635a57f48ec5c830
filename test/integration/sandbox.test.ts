import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { bind } from '../support/employees.js';
import { newGuid, push, soapPush } from '../support/push.js';

// No WeChat credentials: every push is processed and recorded in full, nothing is sent.

let db: TestDatabase;
let bridge: TestBridge;

beforeAll(async () => {
  db = await createTestDatabase('sandbox');
  bridge = await startBridge({ databaseUrl: db.url, wechat: false });
  await bind(bridge.url, { employeeNo: '10086', openid: 'oE2XCwQb6WdYSo54avF41qKoU3rY', name: '张伟', active: true });
});

afterAll(async () => {
  await bridge?.stop();
  await db?.drop();
});

it('answers AA 处理成功… and records the texts it would have sent', async () => {
  const guid = newGuid();
  const ack = await push(bridge.url, soapPush(guid, '10086'));
  expect(ack.ackCode).toBe('AA');
  expect(ack.reason).toMatch(/^处理成功.*沙箱/);
  const row = await withClient(db.url, async (c) => (await c.query('SELECT status, texts, attempts FROM messages WHERE guid = $1', [guid])).rows[0]);
  expect(row.status).toBe('sandbox');
  expect(row.texts[0]).toMatch(/^审批消息\n\n申请人工号：10086/);
  expect(row.attempts).toEqual([]);
  // Not a single call to WeChat, not even for a token.
  expect((await request(bridge.url).get('/metrics')).text).not.toMatch(/^bridge_wechat_(calls|token_fetches)_total\{/m);
});

it('still refuses unbound employees and duplicates like the live bridge', async () => {
  expect((await push(bridge.url, soapPush(newGuid(), '77777'))).reason).toBe('工号关联账号不存在');
  const guid = newGuid();
  await push(bridge.url, soapPush(guid, '10086'));
  expect((await push(bridge.url, soapPush(guid, '10086'))).reason).toMatch(/^处理成功（重复消息/);
});
