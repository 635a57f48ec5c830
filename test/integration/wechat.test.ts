import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { bind } from '../support/employees.js';
import { FakeWechat } from '../support/fake-wechat.js';
import { freePort } from '../support/global-setup.js';
import { newGuid, push, soapPush } from '../support/push.js';

// The WeChat delivery rules of contract §5 against a fake WeChat on loopback: one shared token,
// compare-and-invalidate with exactly one retry, which failures are retried and which are not.

const OPENID = 'oE2XCwQb6WdYSo54avF41qKoU3rY';
let db: TestDatabase;
let wechat: FakeWechat;
let bridge: TestBridge;

beforeAll(async () => {
  db = await createTestDatabase('wechat');
  wechat = await new FakeWechat().start();
  bridge = await startBridge({ databaseUrl: db.url, wechat });
  await bind(bridge.url, { employeeNo: '10086', openid: OPENID, name: '张伟', active: true });
});

afterAll(async () => {
  await bridge?.stop();
  await wechat?.stop();
  await db?.drop();
});

beforeEach(() => wechat.reset());

/** A second bridge with its own database and settings, torn down after `work`. */
async function withOwnBridge(label: string, env: Record<string, string>, work: (other: TestBridge) => Promise<void>): Promise<void> {
  const ownDb = await createTestDatabase(label);
  const other = await startBridge({ databaseUrl: ownDb.url, wechat, env });
  try {
    await bind(other.url, { employeeNo: '10086', openid: OPENID, name: '', active: true });
    wechat.reset();
    await work(other);
  } finally {
    await other.stop();
    await ownDb.drop();
  }
}

const tokenRow = () => withClient(db.url, async (c) => (await c.query('SELECT * FROM wechat_tokens')).rows);
const message = (guid: string) => withClient(db.url, async (c) => (await c.query(`SELECT * FROM messages WHERE guid = $1 AND status <> 'rejected'`, [guid])).rows[0]);
const pushOne = (employeeNo = '10086') => {
  const guid = newGuid();
  return push(bridge.url, soapPush(guid, employeeNo)).then((ack) => ({ ...ack, guid }));
};

describe('access token', () => {
  it('fetches one stable token for many pushes and keeps it in Postgres', async () => {
    await withClient(db.url, (c) => c.query('DELETE FROM wechat_tokens'));
    const acks = await Promise.all(Array.from({ length: 15 }, () => pushOne()));
    for (const ack of acks) expect(ack.ackCode, ack.reason).toBe('AA');
    expect(wechat.tokenCalls).toEqual([expect.objectContaining({ api: 'stable', forceRefresh: false })]);
    const rows = await tokenRow();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ api: 'stable', app_id: wechat.appId, access_token: wechat.sends[0]!.token });
    expect(new Date(rows[0].expires_at).getTime() - Date.now()).toBeGreaterThan(7000_000);
  });

  it('shares the token with another instance, and two instances starting cold fetch it once between them', async () => {
    await withClient(db.url, (c) => c.query('DELETE FROM wechat_tokens'));
    const a = await startBridge({ databaseUrl: db.url, wechat });
    const b = await startBridge({ databaseUrl: db.url, wechat });
    try {
      wechat.reset();
      const acks = await Promise.all(Array.from({ length: 10 }, (_, i) => push(i % 2 ? a.url : b.url, soapPush(newGuid(), '10086'))));
      for (const ack of acks) expect(ack.ackCode, ack.reason).toBe('AA');
      expect(wechat.tokenCalls).toHaveLength(1);
      expect(new Set(wechat.sends.map((s) => s.token)).size).toBe(1);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('on 40001 drops the token, fetches a fresh one and retries once', async () => {
    await pushOne();
    wechat.reset();
    wechat.invalidateTokens();
    const ack = await pushOne();
    expect(ack).toMatchObject({ ackCode: 'AA', reason: '处理成功' });
    expect(wechat.sends.map((s) => s.errcode)).toEqual([40001, 0]);
    expect(wechat.tokenCalls).toHaveLength(1);
    expect((await tokenRow())[0].access_token).toBe(wechat.sends[1]!.token);
  });

  it('retries a token error exactly once, then answers AE with the errcode', async () => {
    await pushOne();
    wechat.reset();
    wechat.script.push({ errcode: 40001 }, { errcode: 40001 }, { errcode: 0 });
    const ack = await pushOne();
    expect(ack.ackCode).toBe('AE');
    expect(ack.reason).toMatch(/^微信发送失败\(40001\): invalid credential/);
    expect(wechat.sendRequests).toBe(2);
    expect(await message(ack.guid)).toMatchObject({ status: 'failed', wechat_errcode: 40001 });
  });

  it('does not discard a fresher token that another instance stored (compare-and-invalidate)', async () => {
    await pushOne();
    const stale = (await tokenRow())[0].access_token as string;
    const fresh = wechat.issue();
    wechat.revoke(stale);
    await withClient(db.url, (c) => c.query('UPDATE wechat_tokens SET access_token = $1', [fresh]));
    wechat.reset();
    const ack = await pushOne();
    expect(ack.ackCode).toBe('AA');
    expect(wechat.sends.map((s) => [s.token, s.errcode])).toEqual([
      [stale, 40001],
      [fresh, 0],
    ]);
    expect(wechat.tokenCalls).toHaveLength(0);
    expect((await tokenRow())[0].access_token).toBe(fresh);
  });

  it('answers AE with the token API errcode when the credentials are wrong', async () => {
    await withOwnBridge('wrongsecret', { WECHAT_SECRET: 'not-the-secret' }, async (wrong) => {
      const ack = await push(wrong.url, soapPush(newGuid(), '10086'));
      expect(ack.ackCode).toBe('AE');
      expect(ack.reason).toBe('微信发送失败(40125): invalid appsecret');
      expect(wechat.sendRequests).toBe(0);
      expect(wrong.logs.join('')).not.toContain('not-the-secret');
    });
  });

  it('uses the classic token API when WECHAT_TOKEN_API=classic', async () => {
    await withOwnBridge('classic', { WECHAT_TOKEN_API: 'classic' }, async (classic) => {
      for (let i = 0; i < 3; i++) expect((await push(classic.url, soapPush(newGuid(), '10086'))).ackCode).toBe('AA');
      expect(wechat.tokenCalls.map((c) => c.api)).toEqual(['classic']);
    });
  });
});

describe('retries', () => {
  it('retries HTTP 5xx and delivers when WeChat recovers', async () => {
    wechat.script.push({ httpStatus: 502 }, { httpStatus: 503 }, { errcode: 0 });
    const ack = await pushOne();
    expect(ack).toMatchObject({ ackCode: 'AA', reason: '处理成功' });
    expect(wechat.sendRequests).toBe(3);
    const row = await message(ack.guid);
    expect(row.attempts.map((a: { httpStatus: number }) => a.httpStatus)).toEqual([502, 503, 200]);
  });

  it('retries errcode -1 at most WECHAT_MAX_RETRIES times', async () => {
    wechat.script.push({ errcode: -1 }, { errcode: -1 }, { errcode: -1 }, { errcode: -1 }, { errcode: 0 });
    const ack = await pushOne();
    expect(ack.reason).toMatch(/^微信发送失败\(-1\): system error/);
    expect(wechat.sendRequests).toBe(4);
  });

  it('does not retry other errcodes', async () => {
    wechat.script.push({ errcode: 45015 }, { errcode: 0 });
    const ack = await pushOne();
    expect(ack.reason).toMatch(/^微信发送失败\(45015\)/);
    expect(wechat.sendRequests).toBe(1);
  });

  it('never retries a send whose connection was lost after sending; the outcome is unknown', async () => {
    wechat.script.push({ destroy: true }, { errcode: 0 });
    const ack = await pushOne();
    expect(ack.ackCode).toBe('AE');
    expect(ack.reason).toMatch(/^微信接口调用失败.*发送结果未知/);
    expect(wechat.sendRequests).toBe(1);
    expect((await message(ack.guid)).status).toBe('unknown');
  });

  it('does not retry a timed-out send; the outcome is unknown', async () => {
    wechat.script.push({ delayMs: 1500, errcode: 0 }, { errcode: 0 });
    const ack = await pushOne();
    expect(ack.reason).toMatch(/^微信接口调用失败：请求超时/);
    expect(wechat.sendRequests).toBe(1);
    expect((await message(ack.guid)).status).toBe('unknown');
  });

  it('retries when WeChat cannot be reached at all, then answers AE; nothing may have been delivered', async () => {
    const closedPort = await freePort();
    await withOwnBridge('offline', { WECHAT_API_BASE: `http://127.0.0.1:${closedPort}`, WECHAT_MAX_RETRIES: '2' }, async (offline) => {
      const guid = newGuid();
      const ack = await push(offline.url, soapPush(guid, '10086'));
      expect(ack.ackCode).toBe('AE');
      expect(ack.reason).toMatch(/^微信接口调用失败/);
      expect(ack.reason).not.toContain('未知');
      const row = await withClient(offline.config.databaseUrl!, async (c) => (await c.query('SELECT status, attempts FROM messages WHERE guid = $1', [guid])).rows[0]);
      expect(row.status).toBe('failed');
      expect(row.attempts).toHaveLength(3);
    });
  });
});
