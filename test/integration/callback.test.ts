import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { CallbackReplyError, decryptReply, WechatCallbackPlayer } from '../support/wechat-callback.js';

// The WeChat callback (contract §8) against the real service and Postgres: WeChat's side is played
// by test/support/wechat-callback.ts, which signs and encrypts with its own implementation.

const TOKEN = 'cbToken2026';
const KEY_NEW = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const KEY_OLD = 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut';

let db: TestDatabase;
let plain: TestBridge;
let safe: TestBridge;

beforeAll(async () => {
  db = await createTestDatabase('callback');
  plain = await startBridge({ databaseUrl: db.url, env: { WECHAT_CALLBACK_TOKEN: TOKEN } });
  safe = await startBridge({ databaseUrl: db.url, env: { WECHAT_CALLBACK_TOKEN: TOKEN, WECHAT_ENCODING_AES_KEY: `${KEY_NEW},${KEY_OLD}` } });
});

afterAll(async () => {
  await plain?.stop();
  await safe?.stop();
  await db?.drop();
});

const player = (bridge: TestBridge, aesKey?: string): WechatCallbackPlayer =>
  new WechatCallbackPlayer({ url: `${bridge.url}/wechat/callback`, token: TOKEN, appId: bridge.wechat!.appId, ...(aesKey ? { aesKey } : {}) });

async function traces(openid: string): Promise<{ users: number; events: number }> {
  return withClient(db.url, async (c) => ({
    users: Number((await c.query('SELECT count(*) AS n FROM wechat_users WHERE openid = $1', [openid])).rows[0].n),
    events: Number((await c.query(`SELECT count(*) AS n FROM callback_events WHERE dedupe_key LIKE $1`, [`%${openid}%`])).rows[0].n),
  }));
}

async function lastInteraction(openid: string): Promise<Date | null> {
  return withClient(db.url, async (c) => (await c.query('SELECT last_interaction_at FROM wechat_users WHERE openid = $1', [openid])).rows[0]?.last_interaction_at ?? null);
}

describe('URL verification (GET)', () => {
  it('answers echostr as text/plain when the signature is right', async () => {
    const answer = await player(plain).verify('echo-1234567890');
    expect(answer).toEqual({ status: 200, body: 'echo-1234567890' });
  });

  it.each(['bad-signature', 'missing'] as const)('answers 403 and nothing else for a %s signature', async (tamper) => {
    const answer = await player(plain).verify('echo-1234567890', tamper);
    expect(answer.status).toBe(403);
    expect(answer.body).not.toContain('echo-1234567890');
  });

  it('is 404 when WECHAT_CALLBACK_TOKEN is unset', async () => {
    const off = await startBridge({ databaseUrl: db.url, wechat: false });
    try {
      expect((await request(off.url).get('/wechat/callback?signature=a&timestamp=1&nonce=2&echostr=x')).status).toBe(404);
      expect((await request(off.url).post('/wechat/callback').send('<xml/>')).status).toBe(404);
    } finally {
      await off.stop();
    }
  });
});

describe('plain mode', () => {
  it('answers other text with the help reply and records the interaction', async () => {
    const openid = 'oPlainHelp000001';
    const before = Date.now();
    const answer = await player(plain).text(openid, '你好');
    expect(answer.status).toBe(200);
    expect(answer.reply).toMatchObject({ toUserName: openid, msgType: 'text' });
    expect(answer.reply!.content).toMatch(/绑定/);
    expect((await lastInteraction(openid))!.getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  it.each(['bad-signature', 'missing-signature', 'stale-timestamp'] as const)('refuses a %s with 403 and records nothing', async (tamper) => {
    const openid = `oPlainTamper${tamper.length}x${tamper.slice(0, 3)}`;
    const answer = await player(plain).post(
      `<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[${openid}]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[解绑]]></Content><MsgId>77001</MsgId></xml>`,
      { tamper },
    );
    expect(answer.status).toBe(403);
    expect(await traces(openid)).toEqual({ users: 0, events: 0 });
  });

  it('refuses broken XML, a DOCTYPE and a huge body without recording anything', async () => {
    const openid = 'oPlainHostile0001';
    const p = player(plain);
    expect((await p.post(`<xml><FromUserName>${openid}</FromUserName><MsgType>text`)).status).toBe(400);
    const doctype = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x "绑定 AAAA2222">]><xml><ToUserName>gh</ToUserName><FromUserName>${openid}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&x;</Content><MsgId>1</MsgId></xml>`;
    expect((await p.post(doctype)).status).toBe(400);
    const huge = `<xml><ToUserName>gh</ToUserName><FromUserName>${openid}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>${'a'.repeat(100_000)}</Content><MsgId>2</MsgId></xml>`;
    expect((await p.post(huge)).status).toBe(413);
    expect(await traces(openid)).toEqual({ users: 0, events: 0 });
  });

  it('acts on a message once however often WeChat retries it, answering each retry the same', async () => {
    const openid = 'oPlainRetry000001';
    await withClient(db.url, (c) => c.query(`INSERT INTO employees (employee_no, openid, name, bound_via) VALUES ('R1', $1, '重试', 'admin')`, [openid]));
    const xml = `<xml><ToUserName><![CDATA[gh_fakeaccount01]]></ToUserName><FromUserName><![CDATA[${openid}]]></FromUserName><CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[解绑]]></Content><MsgId>880000000000000001</MsgId></xml>`;
    const answers = await player(plain).deliverRepeatedly(xml, 3);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers[0]!.reply!.content).toMatch(/^已解绑/);
    // The retries get the first answer, not "nothing bound, nothing to unbind".
    expect(answers.map((a) => a.reply?.content)).toEqual([answers[0]!.reply!.content, answers[0]!.reply!.content, answers[0]!.reply!.content]);
    const audit = await withClient(db.url, async (c) => (await c.query(`SELECT action, actor FROM employee_audit WHERE employee_no = 'R1' AND action = 'unbind'`)).rows);
    expect(audit).toEqual([{ action: 'unbind', actor: 'self-service' }]);
    const metrics = (await request(plain.url).get('/metrics')).text;
    expect(Number(/^bridge_wechat_callbacks_total\{result="repeat"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
  });

  it('deduplicates events by FromUserName + CreateTime + Event', async () => {
    const openid = 'oPlainEventDup01';
    const createTime = Math.floor(Date.now() / 1000);
    const p = player(plain);
    await p.event(openid, 'unsubscribe', {}, { createTime });
    await p.event(openid, 'subscribe', {}, { createTime: createTime + 1 });
    // A retry of the unsubscribe arriving late must not unfollow again.
    await p.event(openid, 'unsubscribe', {}, { createTime });
    const following = await withClient(db.url, async (c) => (await c.query('SELECT following FROM wechat_users WHERE openid = $1', [openid])).rows[0].following);
    expect(following).toBe(true);
  });
});

describe('safe mode (AES)', () => {
  it('decrypts the message and encrypts the reply with the current key', async () => {
    const openid = 'oSafeHelp0000001';
    const answer = await player(safe, KEY_NEW).text(openid, 'hello');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/<Encrypt>/);
    expect(answer.body).not.toMatch(/绑定/);
    expect(answer.reply!.content).toMatch(/绑定/);
    expect(await lastInteraction(openid)).not.toBeNull();
  });

  it('reads messages encrypted with the old key during a key change, and replies with the new one', async () => {
    const openid = 'oSafeOldKey00001';
    const xml = `<xml><ToUserName><![CDATA[gh_fakeaccount01]]></ToUserName><FromUserName><![CDATA[${openid}]]></FromUserName><CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content><MsgId>990001</MsgId></xml>`;
    // The reply is under the new key, so a player holding only the old one refuses it…
    const refused = await player(safe, KEY_OLD).post(xml).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(CallbackReplyError);
    const { status, body } = refused as CallbackReplyError;
    expect(status).toBe(200);
    // …and it reads under the new one, signed with our token.
    expect(decryptReply(body, { token: TOKEN, appId: safe.wechat!.appId, aesKey: KEY_NEW })).toMatch(/绑定/);
    expect(await lastInteraction(openid)).not.toBeNull();
  });

  it.each(['bad-signature', 'bad-msg-signature', 'missing-signature', 'wrong-appid', 'bad-padding', 'stale-timestamp'] as const)('refuses a %s with 403 and records nothing', async (tamper) => {
    const openid = `oSafeTamper${createHash('sha1').update(tamper).digest('hex').slice(0, 8)}`;
    const answer = await player(safe, KEY_NEW).post(
      `<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[${openid}]]></FromUserName><CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content><MsgId>66001</MsgId></xml>`,
      { tamper },
    );
    expect(answer.status).toBe(403);
    expect(await traces(openid)).toEqual({ users: 0, events: 0 });
  });

  it('refuses a safe-mode message on a bridge without a key', async () => {
    const openid = 'oSafeNoKey000001';
    const answer = await player(plain, KEY_NEW).text(openid, 'hi');
    expect(answer.status).toBe(403);
    expect(await traces(openid)).toEqual({ users: 0, events: 0 });
  });
});

describe('CALLBACK_PORT', () => {
  it('serves the callback, and nothing else, on a second listener', async () => {
    const port = await freePort();
    const bridge = await startBridge({ databaseUrl: db.url, env: { WECHAT_CALLBACK_TOKEN: TOKEN, CALLBACK_PORT: String(port) } });
    try {
      const outside = `http://127.0.0.1:${port}`;
      const p = new WechatCallbackPlayer({ url: `${outside}/wechat/callback`, token: TOKEN, appId: bridge.wechat!.appId });
      expect(await p.verify('from-the-internet')).toEqual({ status: 200, body: 'from-the-internet' });
      expect((await p.text('oPortHelp0000001', '?')).reply!.content).toMatch(/绑定/);
      for (const path of ['/push', '/admin/', '/admin/api/whoami', '/healthz', '/metrics', '/push?wsdl']) {
        expect((await request(outside).get(path)).status, path).toBe(404);
      }
      expect((await request(outside).post('/push').send('<x/>')).status).toBe(404);
      // The main port still has everything.
      expect((await request(bridge.url).get('/healthz')).status).toBe(200);
    } finally {
      await bridge.stop();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
