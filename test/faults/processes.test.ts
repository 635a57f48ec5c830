import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { bind } from '../support/employees.js';
import { FakeWechat } from '../support/fake-wechat.js';
import { freePort } from '../support/global-setup.js';
import { startLoad, sleep } from '../support/load.js';
import { spawnBridge, type BridgeProcess } from '../support/process.js';
import { guidOfText, newGuid, push, soapPush } from '../support/push.js';

// The bridge as separate processes: killed with -9 under load, three replicas on one database,
// and a graceful SIGTERM.

const OPENID = 'oE2XCwQb6WdYSo54avF41qKoU3rY';
let wechat: FakeWechat;
const running: BridgeProcess[] = [];

beforeAll(async () => {
  wechat = await new FakeWechat().start();
});

afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await wechat?.stop();
});

async function bridgeProcess(env: NodeJS.ProcessEnv): Promise<BridgeProcess> {
  const proc = spawnBridge({ ADMIN_TOKEN, WECHAT_APPID: wechat.appId, WECHAT_SECRET: wechat.secret, WECHAT_API_BASE: wechat.url, WECHAT_TIMEOUT_MS: '2000', ...env });
  running.push(proc);
  await proc.healthy();
  return proc;
}

describe('kill -9 under load', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('kill9');
  });
  afterAll(async () => db?.drop());

  it('delivers every AA exactly once, marks the interrupted as unknown at restart, and re-pushes follow the duplicate rules', async () => {
    wechat.reset();
    wechat.sendDelayMs = 150;
    const port = String(await freePort());
    const first = await bridgeProcess({ PORT: port, DATABASE_URL: db.url });
    await bind(first.url, { employeeNo: '10086', openid: OPENID, name: '', active: true });
    const load = startLoad([first.url], { concurrency: 12, employeeNo: '10086' });
    await sleep(1500);
    first.child.kill('SIGKILL');
    await first.exited;
    const results = await load.stop();
    const answeredAA = results.filter((r) => r.ackCode === 'AA').map((r) => r.guid);
    const unanswered = results.filter((r) => r.ackCode === null).map((r) => r.guid);
    expect(answeredAA.length).toBeGreaterThan(10);
    expect(unanswered.length).toBeGreaterThan(0);

    const second = await bridgeProcess({ PORT: port, DATABASE_URL: db.url });
    const interrupted = await withClient(db.url, async (c) => (await c.query(`SELECT guid, status FROM messages WHERE guid = ANY($1)`, [unanswered])).rows);
    // Recorded before sending, so each interrupted push that got as far as Postgres is there, and none is left "processing".
    expect(interrupted.every((r) => r.status !== 'processing')).toBe(true);
    const unknown = interrupted.filter((r) => r.status === 'unknown').map((r) => r.guid as string);
    expect(unknown.length).toBeGreaterThan(0);
    const listed = await request(second.url).get('/admin/api/messages?outcome=unknown&limit=500').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    expect(listed.body.items.map((m: { guid: string }) => m.guid).sort()).toEqual([...unknown].sort());

    const deliveries = wechat.delivered().map(guidOfText);
    for (const guid of answeredAA) expect(deliveries.filter((g) => g === guid)).toHaveLength(1);

    // The ERP re-pushes: an AA one is a duplicate (nothing sent), an unknown one is processed again.
    wechat.reset();
    wechat.sendDelayMs = 0;
    const again = await push(second.url, soapPush(answeredAA[0]!, '10086'));
    expect(again.reason).toMatch(/^处理成功（重复消息/);
    const retried = await push(second.url, soapPush(unknown[0]!, '10086'));
    expect(retried).toMatchObject({ ackCode: 'AA', reason: '处理成功' });
    expect(wechat.delivered().map(guidOfText)).toEqual([unknown[0]]);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 60_000);
});

describe('three replicas on one database', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('replicas');
  });
  afterAll(async () => db?.drop());

  it('fetch one token between them, and deliver simultaneous duplicates once', async () => {
    wechat.reset();
    wechat.sendDelayMs = 200;
    const replicas = await Promise.all([0, 1, 2].map(async () => bridgeProcess({ PORT: String(await freePort()), DATABASE_URL: db.url })));
    await bind(replicas[0]!.url, { employeeNo: '10086', openid: OPENID, name: '', active: true });
    const distinct = await Promise.all(Array.from({ length: 18 }, (_, i) => push(replicas[i % 3]!.url, soapPush(newGuid(), '10086'))));
    for (const ack of distinct) expect(ack.ackCode).toBe('AA');
    expect(wechat.tokenCalls).toHaveLength(1);

    const guid = newGuid();
    const same = await Promise.all(Array.from({ length: 9 }, (_, i) => push(replicas[i % 3]!.url, soapPush(guid, '10086'))));
    for (const ack of same) expect(ack.ackCode).toBe('AA');
    expect(wechat.delivered().map(guidOfText).filter((g) => g === guid)).toHaveLength(1);
    for (const r of replicas) r.child.kill('SIGTERM');
    for (const r of replicas) expect(await r.exited).toBe(0);
  }, 60_000);
});

describe('SIGTERM', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'bridge-term-'));
  });
  afterAll(async () => rm(dataDir, { recursive: true, force: true }));

  it('stops accepting, finishes in-flight pushes, then closes the pool and embedded Postgres', async () => {
    wechat.reset();
    wechat.sendDelayMs = 1500;
    const proc = await bridgeProcess({ PORT: String(await freePort()), DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) });
    await bind(proc.url, { employeeNo: '10086', openid: OPENID, name: '', active: true });
    const inFlight = Array.from({ length: 5 }, () => push(proc.url, soapPush(newGuid(), '10086')));
    await sleep(400);
    proc.child.kill('SIGTERM');
    await sleep(200);
    const refused = await request(proc.url).get('/healthz').then(() => 'answered', (err: Error) => err.message);
    expect(refused).toMatch(/ECONNREFUSED/);
    for (const ack of await Promise.all(inFlight)) expect(ack).toMatchObject({ ackCode: 'AA', reason: '处理成功' });
    expect(await proc.exited).toBe(0);
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  }, 60_000);
});
