import { connect } from 'node:net';
import { Agent, request as undiciRequest } from 'undici';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAck } from '../../src/cli/fixture-file.js';
import { startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { bind } from '../support/employees.js';
import { FakeWechat } from '../support/fake-wechat.js';
import { newGuid, soapPush } from '../support/push.js';

// The HTTP edge of /push under pressure: a declared oversize body refused at once, broken framing
// and unknown encodings answered with an ack, push bytes in flight bounded (answers stay prompt),
// pool exhaustion told apart from an outage, X-Forwarded-For read from the right, and a shutdown
// that tells keep-alive clients to go.

let db: TestDatabase;
const bridges: TestBridge[] = [];

beforeAll(async () => {
  db = await createTestDatabase('http_edge');
});

afterAll(async () => {
  for (const b of bridges) await b.stop();
  await db?.drop();
});

async function bridgeWith(env: Record<string, string>, wechat?: FakeWechat): Promise<TestBridge> {
  const bridge = await startBridge({ databaseUrl: db.url, env, ...(wechat ? { wechat } : {}) });
  bridges.push(bridge);
  await bind(bridge.url, { employeeNo: '10086', openid: 'oE2XCwQb6WdYSo54avF41qKoU3rY', name: '', active: true });
  return bridge;
}

/** Writes raw bytes to the bridge and collects the answer until the server closes or `waitMs` passes. */
async function raw(url: string, bytes: string, waitMs = 3000): Promise<{ text: string; ms: number }> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const started = Date.now();
  socket.write(bytes);
  await Promise.race([closed, new Promise((r) => setTimeout(r, waitMs))]);
  socket.destroy();
  return { text, ms: Date.now() - started };
}

const ackIn = (httpText: string) => readAck(httpText.slice(httpText.indexOf('\r\n\r\n') + 4));

describe('refusals before the body is read carry an ack', () => {
  let bridge: TestBridge;
  beforeAll(async () => {
    bridge = await bridgeWith({ PUSH_MAX_BYTES: '65536' });
  });

  it('answers a declared Content-Length over PUSH_MAX_BYTES with 413 at once, without waiting for the body', async () => {
    const { text, ms } = await raw(bridge.url, 'POST /push HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\nContent-Length: 10000000\r\n\r\n<soap:Env');
    expect(ms).toBeLessThan(2000);
    expect(text).toMatch(/^HTTP\/1\.1 413/);
    expect(text).toMatch(/connection: close/i);
    expect(ackIn(text)).toMatchObject({ envelope: 'soap12', ackCode: 'AE', reason: '消息格式错误：消息超过65536字节上限' });
  });

  it('answers broken chunked framing with 400 and a bare AE ack', async () => {
    const { text } = await raw(bridge.url, 'POST /push HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nnot a chunk\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 400/);
    expect(ackIn(text)).toMatchObject({ envelope: 'bare', ackCode: 'AE', reason: '消息格式错误：HTTP请求格式错误' });
  });

  it('answers a content encoding it cannot read with 415 and an AE ack, and reads gzip', async () => {
    const odd = await request(bridge.url).post('/push').set('Content-Type', 'text/xml').set('Content-Encoding', 'compress').send('x');
    expect(odd.status).toBe(415);
    expect(readAck(odd.text).reason).toBe('消息格式错误：不支持的内容编码 compress');
    const { gzipSync } = await import('node:zlib');
    const zipped = await request(bridge.url).post('/push').set('Content-Type', 'application/soap+xml').set('Content-Encoding', 'gzip').send(gzipSync(soapPush(newGuid(), '10086')));
    expect(readAck(zipped.text).ackCode).toBe('AA');
  });
});

describe('push bytes in flight are bounded (PUSH_MAX_INFLIGHT_BYTES)', () => {
  it('turns a push away with 503 and AE 系统繁忙 once it waited 5 s for room, without reading it', async () => {
    const bridge = await bridgeWith({ PUSH_MAX_INFLIGHT_BYTES: '65536', REQUEST_TIMEOUT_MS: '12000' });
    // A slow sender holds the whole budget with its declared 64 KB body.
    const hog = connect(Number(new URL(bridge.url).port), '127.0.0.1');
    hog.on('error', () => undefined);
    hog.write('POST /push HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 65536\r\n\r\n<a>');
    try {
      await new Promise((r) => setTimeout(r, 200));
      const started = Date.now();
      const res = await request(bridge.url).post('/push').set('Content-Type', 'application/soap+xml').send(soapPush(newGuid(), '10086'));
      expect(Date.now() - started).toBeGreaterThanOrEqual(4900);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(readAck(res.text)).toMatchObject({ ackCode: 'AE', reason: '系统繁忙，请稍后重试' });
    } finally {
      hog.destroy();
    }
    // Room again: pushes go through.
    const after = await request(bridge.url).post('/push').set('Content-Type', 'application/soap+xml').send(soapPush(newGuid(), '10086'));
    expect(readAck(after.text).ackCode).toBe('AA');
  }, 20_000);

  it('answers 60 simultaneous 1 MB pushes each with an ack within 15 s', async () => {
    const bridge = await bridgeWith({ PUSH_MAX_INFLIGHT_BYTES: String(4 * 1024 * 1024) });
    const big = () => soapPush(newGuid(), '10086', '意见'.repeat(170_000)); // ~1 MB as UTF-8, escaped
    const results = await Promise.all(
      Array.from({ length: 60 }, async () => {
        const started = Date.now();
        const res = await request(bridge.url).post('/push').set('Content-Type', 'application/soap+xml; charset=utf-8').send(big());
        return { status: res.status, ack: readAck(res.text), ms: Date.now() - started };
      }),
    );
    for (const r of results) {
      expect(r.ms).toBeLessThan(15_000);
      expect([200, 503]).toContain(r.status);
      if (r.status === 503) expect(r.ack.reason).toBe('系统繁忙，请稍后重试');
      else expect(r.ack.ackCode).toBe('AA');
    }
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
  }, 60_000);
});

describe('the database', () => {
  it('answers 系统繁忙 when every pool connection is busy, and says pool_exhausted, not unavailable', async () => {
    const bridge = await bridgeWith({ DB_POOL_SIZE: '2' });
    // Postgres is healthy, but the messages table is locked: the two connections block on it and
    // the other pushes wait for a connection until the pool gives up on them.
    const blocked = withClient(db.url, async (c) => {
      await c.query('BEGIN');
      await c.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
      await new Promise((r) => setTimeout(r, 7000)); // longer than the pool's 5 s wait for a connection
      await c.query('COMMIT');
    });
    await new Promise((r) => setTimeout(r, 200));
    const acks = await Promise.all(Array.from({ length: 6 }, () => request(bridge.url).post('/push').set('Content-Type', 'application/soap+xml').send(soapPush(newGuid(), '10086'))));
    await blocked;
    expect(acks.some((r) => readAck(r.text).reason === '系统繁忙，请稍后重试')).toBe(true);
    const metrics = (await request(bridge.url).get('/metrics')).text;
    expect(metrics).toMatch(/bridge_db_failures_total\{cause="pool_exhausted"\} [1-9]/);
    expect(metrics).not.toMatch(/bridge_db_failures_total\{cause="unavailable"\} [1-9]/);
    expect(bridge.logs.join('')).toMatch(/"cause":"pool_exhausted"/);
  }, 40_000);
});

describe('TRUST_PROXY=true', () => {
  it('believes only the right-most X-Forwarded-For hop, so a client cannot choose its address', async () => {
    const bridge = await bridgeWith({ PUSH_ALLOW_IPS: '10.0.0.0/8', TRUST_PROXY: 'true' });
    const forged = await request(bridge.url).post('/push').set('X-Forwarded-For', '10.1.2.3, 172.16.0.9').set('Content-Type', 'application/soap+xml').send(soapPush(newGuid(), '10086'));
    expect(forged.status).toBe(403);
    expect(readAck(forged.text).reason).toMatch(/172\.16\.0\.9/);
    const real = await request(bridge.url).post('/push').set('X-Forwarded-For', '172.16.0.9, 10.1.2.3').set('Content-Type', 'application/soap+xml').send(soapPush(newGuid(), '10086'));
    expect(readAck(real.text).ackCode).toBe('AA');
  });
});

describe('the push path beside the Express app', () => {
  let bridge: TestBridge;
  beforeAll(async () => {
    bridge = await bridgeWith({});
  });
  const post = (path: string) => request(bridge.url).post(path).set('Content-Type', 'application/soap+xml').send(soapPush(newGuid(), '10086'));

  it('takes a push at every path Express matched for POST /push: any case, a trailing slash, a query, the absolute form', async () => {
    for (const path of ['/push', '/PUSH', '/Push/', '/push?wsdl=no&x=1']) {
      const res = await post(path);
      expect(res.status, path).toBe(200);
      expect(readAck(res.text).ackCode, path).toBe('AA');
    }
    const body = soapPush(newGuid(), '10086');
    const absolute = await raw(bridge.url, `POST http://bridge.example/push HTTP/1.1\r\nHost: bridge.example\r\nContent-Type: application/soap+xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    expect(absolute.text).toMatch(/^HTTP\/1\.1 200/);
    expect(ackIn(absolute.text).ackCode).toBe('AA');
  });

  it('answers with the headers an ack needs: its content type, its length in bytes, nosniff', async () => {
    const res = await post('/push');
    expect(res.headers['content-type']).toBe('application/soap+xml; charset=utf-8');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.text));
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('leaves other paths and methods to the app: 404 for /pushes and /push/x, 404 for PUT /push, 405 for GET /push', async () => {
    for (const path of ['/pushes', '/push/x']) {
      const res = await post(path);
      expect(res.status, path).toBe(404);
      expect(res.body, path).toEqual({ error: 'not found' });
    }
    expect((await request(bridge.url).put('/push').send('x')).status).toBe(404);
    const get = await request(bridge.url).get('/push');
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
  });
});

describe('shutdown', () => {
  it('answers a push in flight with Connection: close, so the client sends nothing more on that connection', async () => {
    const wechat = await new FakeWechat({ sendDelayMs: 300 }).start();
    const own = await createTestDatabase('http_edge_stop');
    const bridge = await startBridge({ databaseUrl: own.url, wechat });
    await bind(bridge.url, { employeeNo: '10086', openid: 'oE2XCwQb6WdYSo54avF41qKoU3rY', name: '', active: true });
    const agent = new Agent({ keepAliveTimeout: 30_000, connections: 1 });
    try {
      const warm = await undiciRequest(`${bridge.url}/healthz`, { dispatcher: agent });
      expect(warm.headers.connection).toBe('keep-alive');
      await warm.body.dump();
      const inFlight = undiciRequest(`${bridge.url}/push`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/soap+xml' }, body: soapPush(newGuid(), '10086') });
      await new Promise((r) => setTimeout(r, 100));
      const stopped = bridge.stop();
      const res = await inFlight;
      expect(res.headers.connection).toBe('close');
      expect(readAck(await res.body.text()).ackCode).toBe('AA');
      await stopped;
    } finally {
      await agent.close();
      await wechat.stop();
      await own.drop();
    }
  });
});
