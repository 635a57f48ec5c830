import { connect } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAck } from '../../src/cli/fixture-file.js';
import { ADMIN_TOKEN, startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { bind } from '../support/employees.js';
import { newGuid, push, soapPush } from '../support/push.js';

// Hostile and oversized input, access control for /push, the admin sign-in limiter, headers, metrics.

let db: TestDatabase;
const bridges: TestBridge[] = [];

beforeAll(async () => {
  db = await createTestDatabase('hostile');
});

afterAll(async () => {
  for (const b of bridges) await b.stop();
  await db?.drop();
});

async function bridgeWith(env: Record<string, string>): Promise<TestBridge> {
  const bridge = await startBridge({ databaseUrl: db.url, env });
  bridges.push(bridge);
  await bind(bridge.url, { employeeNo: '10086', openid: 'oE2XCwQb6WdYSo54avF41qKoU3rY', name: '', active: true });
  return bridge;
}

describe('input limits', () => {
  let bridge: TestBridge;
  beforeAll(async () => {
    bridge = await bridgeWith({ PUSH_MAX_BYTES: '4096', REQUEST_TIMEOUT_MS: '1500' });
  });

  it('answers a body over PUSH_MAX_BYTES with 413 and an AE ack in the sender\'s envelope', async () => {
    const big = soapPush(newGuid(), '10086', 'x'.repeat(5000));
    const res = await request(bridge.url).post('/push').set('Content-Type', 'application/soap+xml; charset=utf-8').send(big);
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/soap+xml; charset=utf-8');
    const ack = readAck(res.text);
    expect(ack).toMatchObject({ envelope: 'soap12', ackCode: 'AE' });
    expect(ack.reason).toMatch(/^消息格式错误：消息超过4096字节/);
  });

  it('cuts off a body that drips in slower than REQUEST_TIMEOUT_MS', async () => {
    const { port } = new URL(bridge.url);
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('POST /push HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 4000\r\n\r\n<a>');
    const drip = setInterval(() => socket.writable && socket.write('x'), 200);
    const started = Date.now();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 8000))]);
    clearInterval(drip);
    socket.destroy();
    expect(Date.now() - started).toBeLessThan(6000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(readAck(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ ackCode: 'AE', reason: expect.stringMatching(/^消息格式错误：请求体未在时限内收完/) });
  });

  it('refuses 100,000 levels of nesting as a format error without exhausting the stack', async () => {
    const deep = `<R><id extension="${newGuid()}"/>${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}</R>`;
    const roomy = await bridgeWith({});
    const res = await request(roomy.url).post('/push').set('Content-Type', 'application/xml').send(deep);
    expect(res.status).toBe(200);
    expect(readAck(res.text).reason).toMatch(/^消息格式错误/);
  });
});

describe('access control for /push', () => {
  it('refuses sources outside PUSH_ALLOW_IPS with 403 and an AE ack', async () => {
    const bridge = await bridgeWith({ PUSH_ALLOW_IPS: '10.0.0.0/8, 192.168.1.20' });
    const res = await request(bridge.url).post('/push').set('Content-Type', 'text/xml').send(soapPush(newGuid(), '10086'));
    expect(res.status).toBe(403);
    expect(readAck(res.text)).toMatchObject({ ackCode: 'AE', reason: expect.stringMatching(/^拒绝访问.*127\.0\.0\.1/) });
    // Without TRUST_PROXY, X-Forwarded-For is not believed.
    const forged = await request(bridge.url).post('/push').set('X-Forwarded-For', '10.1.2.3').set('Content-Type', 'text/xml').send(soapPush(newGuid(), '10086'));
    expect(forged.status).toBe(403);
  });

  it('honours X-Forwarded-For from a trusted proxy', async () => {
    const bridge = await bridgeWith({ PUSH_ALLOW_IPS: '10.0.0.0/8', TRUST_PROXY: 'loopback' });
    const ok = await request(bridge.url).post('/push').set('X-Forwarded-For', '10.1.2.3').set('Content-Type', 'application/soap+xml').send(soapPush(newGuid(), '10086'));
    expect(ok.status).toBe(200);
    expect(readAck(ok.text).ackCode).toBe('AA');
    const outside = await request(bridge.url).post('/push').set('X-Forwarded-For', '172.16.0.9').set('Content-Type', 'text/xml').send(soapPush(newGuid(), '10086'));
    expect(outside.status).toBe(403);
  });

  it('requires PUSH_TOKEN as X-Push-Token or ?token= when set', async () => {
    const bridge = await bridgeWith({ PUSH_TOKEN: 'hip-shared-secret-1' });
    const send = (path: string, header?: string) => {
      const req = request(bridge.url).post(path).set('Content-Type', 'application/soap+xml');
      return (header ? req.set('X-Push-Token', header) : req).send(soapPush(newGuid(), '10086'));
    };
    expect((await send('/push')).status).toBe(403);
    expect(readAck((await send('/push', 'wrong')).text).reason).toBe('拒绝访问：推送令牌无效');
    expect((await send('/push', 'hip-shared-secret-1')).status).toBe(200);
    expect(readAck((await send('/push?token=hip-shared-secret-1')).text).ackCode).toBe('AA');
  });
});

describe('admin', () => {
  it('rate-limits failed sign-ins per address, but always accepts a valid token (contract §11)', async () => {
    const bridge = await bridgeWith({});
    for (let i = 0; i < 10; i++) expect((await request(bridge.url).get('/admin/api/whoami').set('Authorization', `Bearer wrong-${i}`)).status).toBe(401);
    const limited = await request(bridge.url).get('/admin/api/whoami').set('Authorization', 'Bearer wrong-again');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Administrators behind the same NAT are not locked out by someone else's typos.
    expect((await request(bridge.url).get('/admin/api/whoami').set('Authorization', `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
  });

  it('sends security headers on the page and the API', async () => {
    const bridge = bridges[0]!;
    const api = await request(bridge.url).get('/admin/api/whoami').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    expect(api.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
    expect(api.headers['content-security-policy']).toContain("default-src 'self'");
  });
});

describe('metrics', () => {
  it('exposes pushes by outcome, latency, WeChat calls by result, token fetches and the pool', async () => {
    const bridge = await bridgeWith({});
    await push(bridge.url, soapPush(newGuid(), '10086'));
    await push(bridge.url, soapPush(newGuid(), '99999'));
    const res = await request(bridge.url).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/bridge_pushes_total\{outcome="DELIVERED",ack="AA"\} 1/);
    expect(res.text).toMatch(/bridge_pushes_total\{outcome="UNBOUND",ack="AE"\} 1/);
    expect(res.text).toMatch(/bridge_push_duration_seconds_count 2/);
    expect(res.text).toMatch(/bridge_wechat_calls_total\{api="send",result="0"\} 1/);
    expect(res.text).toMatch(/bridge_wechat_token_fetches_total\{api="stable"\} 1/);
    expect(res.text).toMatch(/bridge_db_pool_in_use \d+/);
    expect(res.text).toMatch(/process_resident_memory_bytes \d+/);
  });
});

describe('control characters', () => {
  it('keeps a push with NUL bytes in the log and answers with a well-formed ack', async () => {
    const bridge = await bridgeWith({});
    const res = await request(bridge.url).post('/push').set('Content-Type', 'text/plain').send(Buffer.from('<a\u0000/>'));
    expect(res.status).toBe(200);
    expect([...res.text].some((c) => c.charCodeAt(0) < 0x09)).toBe(false);
    const ack = readAck(res.text);
    expect(ack.reason).toMatch(/^消息格式错误/);
    expect(bridge.logs.join('')).not.toContain('could not record');
  });
});
