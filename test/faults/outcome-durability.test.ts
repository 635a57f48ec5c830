import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.js';
import { createLogger } from '../../src/log.js';
import { startBridge, type TestBridge } from '../support/bridge.js';
import { withClient } from '../support/database.js';
import { bind } from '../support/employees.js';
import { freePort } from '../support/global-setup.js';
import { sleep, startLoad } from '../support/load.js';
import { guidOfText } from '../support/push.js';

// Postgres killed (kill -9) under load, twice, with production durability (fsync on): an AA tells
// the ERP the message is delivered and done, so the record of that delivery — status and the
// attempts WeChat accepted — must be on disk before the AA leaves. Otherwise the message reads
// "unknown" afterwards and an administrator's resend sends it a second time.

let dataDir: string;
let pg: EmbeddedServer;
let bridge: TestBridge;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'bridge-durable-'));
  pg = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'bridge', log: createLogger('silent') });
  bridge = await startBridge({ databaseUrl: pg.url });
  await bind(bridge.url, { employeeNo: '10086', openid: 'oE2XCwQb6WdYSo54avF41qKoU3rY', name: '', active: true });
});

afterAll(async () => {
  await bridge?.stop();
  await pg?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const postmaster = (): number => Number(readFileSync(path.join(pg.clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);

async function waitForPostgres(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await withClient(pg.url, (c) => c.query('SELECT 1')).then(() => true, () => false)) return;
    await sleep(200);
  }
  throw new Error('Postgres did not come back');
}

it('never answers AA for a delivery whose record a Postgres crash can lose', async () => {
  const load = startLoad([bridge.url], { concurrency: 16, employeeNo: '10086', maxPushes: 100_000 });
  for (let kill = 0; kill < 2; kill++) {
    await sleep(1500);
    process.kill(postmaster(), 'SIGKILL');
    await waitForPostgres();
  }
  await sleep(1500);
  const results = await load.stop();
  await waitForPostgres();

  const delivered = results.filter((r) => r.ackCode === 'AA' && r.reason === '处理成功').map((r) => r.guid);
  expect(delivered.length).toBeGreaterThan(200);
  expect(results.some((r) => r.reason.startsWith('系统繁忙'))).toBe(true); // the kills did hit pushes
  const rows = await withClient(pg.url, (c) =>
    c.query<{ guid: string; status: string; accepted: number }>(
      `SELECT guid, status, (SELECT count(*) FROM jsonb_array_elements(attempts) a WHERE (a->>'errcode')::int = 0)::int AS accepted
         FROM messages WHERE guid = ANY($1) AND status <> 'rejected'`,
      [delivered],
    ),
  );
  const byGuid = new Map(rows.rows.map((r) => [r.guid, r]));
  const lost = delivered.filter((g) => byGuid.get(g)?.status !== 'delivered' || byGuid.get(g)!.accepted < 1);
  expect(lost).toEqual([]);
  // And none went out twice.
  const sends = bridge.wechat!.delivered().map(guidOfText);
  const counts = new Map<string, number>();
  for (const g of sends) counts.set(g, (counts.get(g) ?? 0) + 1);
  expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([]);
}, 90_000);
