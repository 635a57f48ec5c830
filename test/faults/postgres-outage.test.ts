import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.js';
import { createLogger } from '../../src/log.js';
import { startBridge, type TestBridge } from '../support/bridge.js';
import { withClient } from '../support/database.js';
import { bind } from '../support/employees.js';
import { freePort } from '../support/global-setup.js';
import { startLoad, sleep } from '../support/load.js';
import { guidOfText } from '../support/push.js';

// Postgres stops under load and comes back: pushes during the outage get AE 系统繁忙 within 2 s,
// /readyz says 503, the bridge recovers without a restart, and no push answered AA is missing.

let dataDir: string;
let pg: EmbeddedServer;
let bridge: TestBridge;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'bridge-outage-'));
  pg = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'bridge', log: createLogger('silent') });
  bridge = await startBridge({ databaseUrl: pg.url });
  await bind(bridge.url, { employeeNo: '10086', openid: 'oE2XCwQb6WdYSo54avF41qKoU3rY', name: '', active: true });
  bridge.wechat!.sendDelayMs = 20;
});

afterAll(async () => {
  await bridge?.stop();
  await pg?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

it('answers 系统繁忙 during the outage, recovers after it, and loses no AA', async () => {
  const load = startLoad([bridge.url], { concurrency: 8, employeeNo: '10086' });
  await sleep(800);
  const downAt = Date.now();
  await pg.stop();
  await sleep(300);
  const readyDuring = (await request(bridge.url).get('/readyz')).status;
  // Long enough that pushes caught mid-delivery (they give Postgres a second to come back before
  // answering 系统繁忙) are done and new pushes meet the outage.
  await sleep(2500);
  const upAt = Date.now();
  await pg.restart();
  await sleep(1500);
  const results = await load.stop();

  expect(readyDuring).toBe(503);
  expect((await request(bridge.url).get('/readyz')).status).toBe(200);
  // Every push got an answer, as an ack.
  expect(results.filter((r) => r.ackCode === null)).toEqual([]);
  const duringOutage = results.filter((r) => r.startedAt > downAt + 100 && r.startedAt + r.ms < upAt);
  expect(duringOutage.length).toBeGreaterThan(0);
  for (const r of duringOutage) {
    expect(r.reason).toMatch(/^系统繁忙/);
    expect(r.ms).toBeLessThan(2000);
  }
  const after = results.filter((r) => r.startedAt > upAt + 1000);
  expect(after.length).toBeGreaterThan(0);
  for (const r of after) expect(r.ackCode).toBe('AA');

  // Outcomes that could not be written during the outage are written once Postgres is back.
  const aa = results.filter((r) => r.ackCode === 'AA').map((r) => r.guid);
  let missing: string[] = aa;
  for (let i = 0; i < 100 && missing.length > 0; i++) {
    const rows = await withClient(pg.url, (c) => c.query(`SELECT guid FROM messages WHERE guid = ANY($1) AND status = 'delivered'`, [aa]));
    const found = new Set(rows.rows.map((r) => r.guid as string));
    missing = aa.filter((g) => !found.has(g));
    if (missing.length > 0) await sleep(200);
  }
  expect(missing).toEqual([]);
  // And each AA was delivered exactly once.
  const deliveries = bridge.wechat!.delivered().map(guidOfText);
  for (const guid of aa) expect(deliveries.filter((g) => g === guid)).toHaveLength(1);
}, 60_000);
