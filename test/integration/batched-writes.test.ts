import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/data-source.js';
import { claimAndLookUp, finishMessage } from '../../src/db/messages.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { sandboxDeliverer } from '../../src/push/channel-policy.js';
import type { PushContext } from '../../src/push/context.js';
import { handlePush } from '../../src/push/pipeline.js';
import type { Approval, Received } from '../../src/types.js';
import { openTestDatabase, withClient, type TestDatabase } from '../support/database.js';
import { newGuid, soapPush } from '../support/push.js';

// Claims and outcomes are written in batches (issue 12): many pushes, few statements, and the
// guarantees of one-by-one writing kept — every push recorded before anything is sent, one
// delivery per GUID however many copies share a batch, and a batch's failure confined to it.

const log = createLogger('silent');
let db: TestDatabase;
let database: Database;
let ctx: PushContext;

beforeAll(async () => {
  ({ db, database } = await openTestDatabase('batched_writes', 8));
  await withClient(db.url, (c) =>
    c.query(`INSERT INTO employees (employee_no, openid, name) SELECT 'B' || n, 'oBatch' || lpad(n::text, 22, '0'), '批量' || n FROM generate_series(1, 20) n`),
  );
  ctx = {
    db: database,
    log,
    metrics: new Metrics(database.stats),
    bridgeId: 'BATCH-TEST',
    deliverer: sandboxDeliverer('custom', null),
    maxParts: 5,
    identity: { claimant: 'batch-test:1' },
  };
});

afterAll(async () => {
  await database?.close();
  await db?.drop();
});

const body = (guid: string, employeeNo: string) => Buffer.from(soapPush(guid, employeeNo));

async function rows(guids: string[]) {
  return withClient(db.url, async (c) => (await c.query(`SELECT guid, status, push_count, openid_masked, claimed_by FROM messages WHERE guid = ANY($1) AND status <> 'rejected' ORDER BY guid`, [guids])).rows);
}

describe('batched claims and outcomes', () => {
  it('writes 40 simultaneous pushes with a handful of statements instead of two each', async () => {
    const guids = Array.from({ length: 40 }, () => newGuid());
    const before = database.stats.statements();
    const results = await Promise.all(guids.map((guid, i) => handlePush(ctx, body(guid, `B${(i % 20) + 1}`), 'application/soap+xml')));
    const statements = database.stats.statements() - before;
    expect(results.map((r) => r.outcome.code)).toEqual(guids.map(() => 'SANDBOX'));
    const written = await rows(guids);
    expect(written).toHaveLength(40);
    expect(written.every((r) => r.status === 'sandbox' && r.push_count === 1 && r.openid_masked.startsWith('oBat'))).toBe(true);
    // One by one this is 80 statements (a claim and an outcome per push).
    expect(statements).toBeLessThanOrEqual(8);
  });

  it('times each batch round trip by statement in the metrics', async () => {
    const batches = async () => {
      const values = await ctx.metrics.registry.getSingleMetric('bridge_db_batch_duration_seconds')!.get();
      const pick = (suffix: string, statement: string) => values.values.find((v) => (v as { metricName?: string }).metricName === `bridge_db_batch_duration_seconds_${suffix}` && v.labels.statement === statement)?.value ?? 0;
      return { claims: pick('count', 'bridge_claim_batch'), finishes: pick('count', 'bridge_finish_batch'), seconds: pick('sum', 'bridge_claim_batch') + pick('sum', 'bridge_finish_batch') };
    };
    const before = await batches();
    const statementsBefore = database.stats.statements();
    const guids = Array.from({ length: 12 }, () => newGuid());
    await Promise.all(guids.map((guid, i) => handlePush(ctx, body(guid, `B${(i % 20) + 1}`), 'application/soap+xml')));
    const after = await batches();
    const claims = after.claims - before.claims;
    const finishes = after.finishes - before.finishes;
    // Every statement of these pushes is a timed batch: at least one of each kind, at most one per push.
    expect(claims).toBeGreaterThanOrEqual(1);
    expect(finishes).toBeGreaterThanOrEqual(1);
    expect(claims + finishes).toBe(database.stats.statements() - statementsBefore);
    expect(claims).toBeLessThanOrEqual(12);
    expect(after.seconds).toBeGreaterThan(before.seconds);
  });

  it('delivers each GUID once when its copies arrive in the same batch as other pushes', async () => {
    const twice = newGuid();
    const thrice = newGuid();
    const others = Array.from({ length: 6 }, () => newGuid());
    const sent = [twice, thrice, ...others, twice, thrice, thrice];
    const results = await Promise.all(sent.map((guid) => handlePush(ctx, body(guid, 'B7'), 'application/soap+xml')));
    const codes = (guid: string) => results.filter((r) => r.guid === guid).map((r) => r.outcome.code).sort();
    // One copy owns the GUID and is delivered; the others see it delivered (or still delivering).
    for (const [guid, copies] of [[twice, 2], [thrice, 3]] as const) {
      expect(codes(guid).filter((c) => c === 'SANDBOX')).toHaveLength(1);
      expect(codes(guid).filter((c) => c === 'DUPLICATE' || c === 'CONCURRENT')).toHaveLength(copies - 1);
    }
    const written = await rows([twice, thrice, ...others]);
    expect(written.map((r) => [r.guid, r.push_count])).toEqual(
      [twice, thrice, ...others].sort().map((g) => [g, g === twice ? 2 : g === thrice ? 3 : 1]),
    );
  });

  it('fails only the push whose values Postgres refuses; the rest of its batch is claimed and finished', async () => {
    const received: Received = { envelope: 'soap12', action: 'GCP0001', contentType: 'application/soap+xml', bodyText: '<x/>' };
    const approval = (guid: string): Approval => ({ guid, senderId: 'S', receiverId: 'R', employeeNo: 'B3', operator: '', billType: '', billNum: guid, approvalDate: '', approvalOpinion: '同意', items: [] });
    const good = Array.from({ length: 5 }, () => newGuid());
    // The readers never produce a NUL; a direct call can, and Postgres refuses it in JSON text.
    const bad = `${newGuid()}\u0000`;
    const claims = await Promise.allSettled([...good.slice(0, 2), bad, ...good.slice(2)].map((guid) => claimAndLookUp(database, received, approval(guid), 'fp', 'batch-test:1')));
    expect(claims.map((c) => c.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    const claimed = claims.flatMap((c) => (c.status === 'fulfilled' && c.value.kind === 'claimed' ? [c.value] : []));
    expect(claimed).toHaveLength(5);
    const finish = (token: string, errmsg: string | null) => ({
      token, status: 'sandbox' as const, ackCode: 'AA' as const, reason: '处理成功', ackXml: '<ack/>', erpAckCode: 'AA' as const, texts: ['t'],
      attempts: [], errcode: null, errmsg, openidMasked: null, acceptedParts: [1], partsTotal: 1, shortened: false,
    });
    const finishes = await Promise.allSettled(claimed.map((c, i) => finishMessage(database, c.id, finish(c.token, i === 1 ? 'bad\u0000' : null))));
    expect(finishes.map((f) => f.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    const written = await rows(good);
    expect(written.filter((r) => r.status === 'sandbox')).toHaveLength(4);
    expect(written.filter((r) => r.status === 'processing')).toHaveLength(1);
  });

  it('writes an outcome only for its own claim, and only once', async () => {
    const received: Received = { envelope: 'raw', action: null, contentType: null, bodyText: '<x/>' };
    const guid = newGuid();
    const approval: Approval = { guid, senderId: '', receiverId: '', employeeNo: 'B4', operator: '', billType: '', billNum: '', approvalDate: '', approvalOpinion: '', items: [] };
    const claim = await claimAndLookUp(database, received, approval, 'fp', 'batch-test:1');
    if (claim.kind !== 'claimed') throw new Error('not claimed');
    const finish = (token: string) => ({
      token, status: 'delivered' as const, ackCode: 'AA' as const, reason: '处理成功', ackXml: null, erpAckCode: null, texts: [],
      attempts: [], errcode: 0, errmsg: 'ok', openidMasked: null, acceptedParts: [], partsTotal: 0, shortened: false,
    });
    const [wrong, right, again] = await Promise.all([finishMessage(database, claim.id, finish('00000000-0000-4000-8000-000000000000')), finishMessage(database, claim.id, finish(claim.token)), finishMessage(database, claim.id, finish(claim.token))]);
    // The two identical finishes go in separate statements that may run side by side: exactly one applies.
    expect(wrong).toBe(false);
    expect([right, again].sort()).toEqual([false, true]);
  });
});
