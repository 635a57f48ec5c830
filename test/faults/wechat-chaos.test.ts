import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../support/bridge.js';
import { createTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { bind } from '../support/employees.js';
import { FakeWechat, type ScriptedAnswer } from '../support/fake-wechat.js';
import { guidOfText, newGuid, push, soapPush } from '../support/push.js';

// WeChat misbehaving at random (-1, 5xx, 40001, slow answers, reset connections): afterwards
// every GUID's recorded outcome agrees with what the fake WeChat saw, and nothing went twice.

let db: TestDatabase;
let wechat: FakeWechat;
let bridge: TestBridge;

beforeAll(async () => {
  db = await createTestDatabase('chaos');
  wechat = await new FakeWechat({ slowMs: 800 }).start();
  bridge = await startBridge({ databaseUrl: db.url, wechat, env: { WECHAT_TIMEOUT_MS: '400' } });
  await bind(bridge.url, { employeeNo: '10086', openid: 'oE2XCwQb6WdYSo54avF41qKoU3rY', name: '', active: true });
});

afterAll(async () => {
  await bridge?.stop();
  await wechat?.stop();
  await db?.drop();
});

/** A fixed-seed generator, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1664525 + 1013904223) % 4294967296;
    return s / 4294967296;
  };
}

it('records for every GUID the outcome WeChat actually gave, with no double delivery', async () => {
  const random = seeded(20261122);
  const answers: Array<[number, () => ScriptedAnswer]> = [
    [0.4, () => ({ errcode: 0 })],
    [0.12, () => ({ errcode: -1 })],
    [0.12, () => ({ httpStatus: 503 })],
    [0.1, () => ({ errcode: 40001 })],
    [0.08, () => ({ delayMs: 800, errcode: 0 })],
    [0.08, () => ({ destroy: true })],
    [0.1, () => ({ errcode: 45015 })],
  ];
  wechat.behaviour = () => {
    let roll = random();
    for (const [weight, answer] of answers) {
      if (roll < weight) return answer();
      roll -= weight;
    }
    return { errcode: 0 };
  };
  const guids = Array.from({ length: 120 }, () => newGuid());
  const acks = new Map<string, { ackCode: string; reason: string }>();
  for (let i = 0; i < guids.length; i += 12) {
    await Promise.all(guids.slice(i, i + 12).map(async (guid) => acks.set(guid, await push(bridge.url, soapPush(guid, '10086')))));
  }

  await wechat.settled();
  const rows = await withClient(db.url, async (c) => (await c.query(`SELECT guid, status, ack_code FROM messages WHERE guid = ANY($1) AND status <> 'rejected'`, [guids])).rows);
  expect(rows).toHaveLength(guids.length);
  const accepted = wechat.delivered().map(guidOfText);
  const unanswered = new Set(wechat.lost.filter((l) => l.fate !== 'http-error').map((l) => guidOfText(l.content)));
  const statuses = new Set<string>();
  for (const row of rows) {
    const times = accepted.filter((g) => g === row.guid).length;
    statuses.add(row.status);
    expect(times, row.guid).toBeLessThanOrEqual(1);
    expect(acks.get(row.guid)!.ackCode).toBe(row.ack_code);
    if (row.status === 'delivered') expect(times, row.guid).toBe(1);
    if (row.status === 'failed') expect(times, row.guid).toBe(0);
    // Unknown means WeChat got a request whose answer the bridge never saw.
    if (row.status === 'unknown') expect(unanswered.has(row.guid), row.guid).toBe(true);
  }
  expect(statuses).toEqual(new Set(['delivered', 'failed', 'unknown']));
}, 60_000);
