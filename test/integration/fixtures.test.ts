import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAck, listFixtures, loadFixture, readAck, type Fixture } from '../../src/cli/fixture-file.js';
import { startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { bind, FIXTURES_DIR, fixtureEmployees } from '../support/employees.js';

// Every fixture, in name order, through the real service on a real Postgres against the fake
// WeChat: the ack, the texts WeChat received, and the row recorded must all match the fixture.
// The fake WeChat is what `requires: "fake-wechat"` asks for; only a Postgres outage is left out.

const fixtures = listFixtures(FIXTURES_DIR)
  .map(loadFixture)
  .filter((f) => f.requires === undefined || f.requires === 'fake-wechat');

let db: TestDatabase;
let bridge: TestBridge;

beforeAll(async () => {
  db = await createTestDatabase('fixtures');
  bridge = await startBridge({ databaseUrl: db.url });
  for (const employee of fixtureEmployees()) await bind(bridge.url, employee);
});

afterAll(async () => {
  await bridge?.stop();
  await db?.drop();
});

async function push(fixture: Fixture) {
  const req = request(bridge.url).post('/push').set('Content-Type', fixture.contentType);
  if (fixture.soapAction) req.set('SOAPAction', fixture.soapAction);
  // superagent re-serialises a Buffer sent as a form; a form body is ASCII, so send it as text.
  return req.send(fixture.contentType.startsWith('application/x-www-form-urlencoded') ? fixture.body.toString('latin1') : fixture.body);
}

describe('fixture replay', () => {
  it('covers every envelope and every AE row of the contract', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(40);
    const reasons = fixtures.map((f) => f.expect?.reason ?? f.expect?.reasonStartsWith ?? '');
    for (const row of ['处理成功', '推送消息不能为空', '消息格式错误', '工号关联账号不存在', '消息ID重复', '微信发送失败', '微信接口调用失败']) {
      expect(reasons.some((r) => r.startsWith(row)), row).toBe(true);
    }
    expect(new Set(fixtures.map((f) => f.expect?.envelope))).toEqual(new Set(['soap11', 'soap12', 'bare']));
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('%s', async (_name, fixture) => {
    bridge.wechat!.reset();
    const res = await push(fixture);
    expect(res.status).toBe(200);
    const ack = readAck(res.text);
    expect(checkAck(ack, fixture.expect!)).toEqual([]);
    const expectedType = ack.envelope === 'soap12' ? 'application/soap+xml; charset=utf-8' : 'text/xml; charset=utf-8';
    expect(res.headers['content-type']).toBe(expectedType);
    if (fixture.expect!.texts) expect(bridge.wechat!.sends.map((s) => s.content)).toEqual(fixture.expect!.texts);

    // The push is in the log with the ack it got (a repeat of a delivered GUID is counted on the original row).
    const rows = await withClient(db.url, (c) =>
      c.query<{ ack_code: string; reason: string; push_count: number }>(
        'SELECT ack_code, reason, push_count FROM messages WHERE guid IS NOT DISTINCT FROM $1 ORDER BY updated_at DESC, id DESC LIMIT 1',
        [ack.targetGuid || null],
      ),
    );
    const row = rows.rows[0];
    expect(row?.ack_code).toBe(ack.ackCode);
    if (ack.reason.startsWith('处理成功（重复消息')) expect(row?.push_count).toBeGreaterThan(1);
    else if (ack.targetGuid) expect(row?.reason).toBe(ack.reason);
  });

  it('never logged an access token, the AppSecret or a full openid', () => {
    const logs = bridge.logs.join('');
    expect(logs).toContain('"msg":"push"');
    const tokens = new Set(bridge.wechat!.sends.map((s) => s.token));
    for (const token of tokens) expect(logs).not.toContain(token);
    expect(logs).not.toContain(bridge.wechat!.secret);
    for (const employee of fixtureEmployees()) expect(logs).not.toContain(employee.openid);
  });
});
