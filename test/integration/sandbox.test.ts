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
  // Nothing sent; the record names the channel the policy would have used (no template: custom).
  expect(row.attempts).toEqual([{ at: expect.any(String), channel: 'custom', part: 0, ms: 0, sandbox: true }]);
  // Not a single call to WeChat, not even for a token.
  expect((await request(bridge.url).get('/metrics')).text).not.toMatch(/^bridge_wechat_(calls|token_fetches)_total\{/m);
});

it('still refuses unbound employees and duplicates like the live bridge', async () => {
  expect((await push(bridge.url, soapPush(newGuid(), '77777'))).reason).toBe('工号关联账号不存在');
  const guid = newGuid();
  await push(bridge.url, soapPush(guid, '10086'));
  expect((await push(bridge.url, soapPush(guid, '10086'))).reason).toMatch(/^处理成功（重复消息/);
});

it('with a template configured, shows the template and its data for an employee outside the window (§10)', async () => {
  const templated = await startBridge({
    databaseUrl: db.url,
    wechat: false,
    env: { WECHAT_TEMPLATE_ID: 'TPL_1', WECHAT_TEMPLATE_FIELDS: 'character_string1=bill_num,thing2="审批通过"' },
  });
  try {
    const guid = newGuid();
    expect((await push(templated.url, soapPush(guid, '10086'))).reason).toMatch(/^处理成功/);
    const detail = await request(templated.url).get(`/admin/api/messages/${guid}`).set('Authorization', 'Bearer test-admin-token-0123456789');
    expect(detail.body.attempts).toHaveLength(1);
    expect(detail.body.attempts[0]).toMatchObject({ channel: 'template', sandbox: true, templateData: { thing2: { value: '审批通过' } } });
    expect(detail.body.attempts[0].templateData.character_string1.value).toMatch(/\S/);
    // An interaction within 47 hours: the text would go by the customer-service channel.
    await withClient(db.url, (c) => c.query(`INSERT INTO wechat_users (openid, last_interaction_at) VALUES ($1, now() - interval '1 hour')`, ['oE2XCwQb6WdYSo54avF41qKoU3rY']));
    const inWindow = newGuid();
    await push(templated.url, soapPush(inWindow, '10086'));
    const second = await request(templated.url).get(`/admin/api/messages/${inWindow}`).set('Authorization', 'Bearer test-admin-token-0123456789');
    expect(second.body.attempts[0]).toMatchObject({ channel: 'custom', sandbox: true });
    expect((await request(templated.url).get('/metrics')).text).not.toMatch(/^bridge_wechat_(calls|token_fetches)_total\{/m);
  } finally {
    await templated.stop();
  }
});
