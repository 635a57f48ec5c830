import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkAck, loadFixture, readAck } from '../../src/cli/fixture-file.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.js';
import { createLogger } from '../../src/log.js';
import { startBridge, type TestBridge } from '../support/bridge.js';
import { bind, FIXTURES_DIR, fixtureEmployees } from '../support/employees.js';
import { freePort } from '../support/global-setup.js';

// Postgres of its own, stopped under the running bridge: pushes get AE 系统繁忙 quickly and
// /readyz says 503; when Postgres returns, the bridge recovers without a restart.

let dataDir: string;
let pg: EmbeddedServer;
let bridge: TestBridge;
const fixture = loadFixture(path.join(FIXTURES_DIR, '45-database-down.xml'));

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'bridge-down-'));
  pg = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'bridge', log: createLogger('silent') });
  bridge = await startBridge({ databaseUrl: pg.url });
  for (const employee of fixtureEmployees()) await bind(bridge.url, employee);
});

afterAll(async () => {
  await bridge?.stop();
  await pg?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const send = () => request(bridge.url).post('/push').set('Content-Type', fixture.contentType).send(fixture.body);

it('answers 系统繁忙 while Postgres is down, and delivers once it is back', async () => {
  expect(fixture.requires).toBe('database-down');
  await pg.stop();
  try {
    const started = Date.now();
    const res = await send();
    expect(res.status).toBe(200);
    expect(checkAck(readAck(res.text), fixture.expect!)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(bridge.wechat!.sendRequests).toBe(0);
    expect((await request(bridge.url).get('/readyz')).status).toBe(503);
    expect((await request(bridge.url).get('/healthz')).status).toBe(200);
  } finally {
    await pg.restart().catch(() => undefined);
  }
  expect((await request(bridge.url).get('/readyz')).status).toBe(200);
  const again = readAck((await send()).text);
  expect(again).toMatchObject({ ackCode: 'AA', reason: '处理成功', targetGuid: fixture.expect!.guid });
  expect(bridge.wechat!.delivered()).toHaveLength(1);
});
