import { Router } from 'express';
import type { Database } from '../db/data-source.js';
import { getEmployee, namesOf } from '../db/employees.js';
import { countOutcomes, outcomeSeries, listMessages, messageById, messagesOfGuid, type MessageFilter, type OutcomeFilter } from '../db/messages.js';
import type { EmployeeRecord, MessageRow } from '../types.js';
import { tokenStatus } from '../db/wechat-tokens.js';
import type { ResendResult } from '../push/resend.js';
import { actorOf } from './employees.js';
import { objectBody } from './body.js';
import { mapBounded } from './bounded.js';
import { badRequest, conflict, notFound } from './errors.js';
import { toDetail, toSummary } from './message-views.js';
import { dateParam, pageOf, stringParam, textProblem } from './query.js';

// The message log for administrators (contract §7): find a push, see it in full, resend it, counts.

const OUTCOMES: OutcomeFilter[] = ['AA', 'AE', 'unknown', 'sandbox'];

/** An administrator's resend (push/resend.ts), as the admin API calls it. */
export type Resend = (guid: string, force: boolean, actor: string) => Promise<ResendResult>;

export function messagesRouter(db: Database, resend: Resend): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const listed = await listMessages(db, { ...messageFilterOf(query), ...pageOf(query) });
    const names = await namesOf(db, [...new Set(listed.items.flatMap((m) => (m.employeeNo ? [m.employeeNo] : [])))]);
    res.json({ items: listed.items.map((m) => toSummary({ ...m, applicantName: m.employeeNo ? (names.get(m.employeeNo) ?? null) : null })), total: listed.total });
  });

  router.get('/by-id/:id', async (req, res) => {
    const id = String(req.params.id);
    const main = /^\d{1,18}$/.test(id) ? await messageById(db, id) : null;
    if (!main) throw notFound('id: no message with this id');
    const others = main.guid === null ? [] : (await messagesOfGuid(db, main.guid)).filter((r) => r.id !== main.id);
    res.json(toDetail(main, others, await applicantOf(db, main)));
  });

  router.get('/:guid', async (req, res) => {
    const [main, ...others] = await messagesOfGuid(db, guidOf(req.params));
    if (!main) throw notFound('guid: no message with this GUID');
    res.json(toDetail(main, others, await applicantOf(db, main)));
  });

  router.post('/resend', async (req, res) => {
    const body = objectBody(req.body ?? {}, ['guids', 'filter', 'force'], '{"guids": [...]} or {"filter": {...}}, and "force"');
    const force = body.force ?? false;
    if (typeof force !== 'boolean') throw badRequest('force: must be true or false');
    const guids = body.guids !== undefined ? (body.filter === undefined ? guidList(body.guids) : both()) : await matchingGuids(db, body.filter);
    const items = await resendAll(guids, force, actorOf(res.locals), resend);
    res.json({ items, total: items.length });
  });

  router.post('/:guid/resend', async (req, res) => {
    const body = objectBody(req.body ?? {}, ['force'], '{"force": false}');
    const force = body.force ?? false;
    if (typeof force !== 'boolean') throw badRequest('force: must be true or false');
    const result = await resend(guidOf(req.params), force, actorOf(res.locals));
    if (result.kind === 'not-found') throw notFound('guid: no message with this GUID');
    if (result.kind === 'conflict') throw conflict(result.message);
    // partsSent / partsAlreadyAccepted: a resend completes a text WeChat accepted in part; a forced one sends it all again.
    res.json({ ackCode: result.ackCode, reason: result.reason, partsSent: result.partsSent, partsAlreadyAccepted: result.partsAlreadyAccepted });
  });

  return router;
}

const FILTER_KEYS = ['outcome', 'employeeNo', 'guid', 'from', 'to', 'q'];

/** The message list's filter (§7, §11), from the query string or a bulk resend's `filter`. */
function messageFilterOf(fields: Record<string, unknown>): Omit<MessageFilter, 'limit' | 'offset'> {
  const outcome = stringParam(fields, 'outcome');
  if (outcome !== null && !OUTCOMES.includes(outcome as OutcomeFilter)) throw badRequest(`outcome: expected one of ${OUTCOMES.join(', ')}`);
  return {
    outcome: outcome as OutcomeFilter | null,
    employeeNo: stringParam(fields, 'employeeNo'),
    guid: stringParam(fields, 'guid'),
    from: dateParam(fields, 'from', false),
    to: dateParam(fields, 'to', true),
    q: stringParam(fields, 'q'),
  };
}

/** Messages per bulk resend call; the page sends them in chunks to show progress. */
export const MAX_BULK_RESEND = 500;
/** Resends in flight at once: each may hold a WeChat call for seconds; pushes keep their share. */
const RESEND_CONCURRENCY = 4;

type BulkItem = { guid: string; ackCode: string; reason: string } | { guid: string; error: string };

/** Each GUID resent by the rules of one resend, a few at a time, every result reported in order. */
async function resendAll(guids: string[], force: boolean, actor: string, resend: Resend): Promise<BulkItem[]> {
  return mapBounded(guids, RESEND_CONCURRENCY, async (guid): Promise<BulkItem> => {
    const result = await resend(guid, force, actor);
    if (result.kind === 'done') return { guid, ackCode: result.ackCode, reason: result.reason };
    return { guid, error: result.kind === 'not-found' ? 'guid: no message with this GUID' : result.message };
  });
}

function both(): never {
  throw badRequest('filter: give guids or filter, not both');
}

function guidList(value: unknown): string[] {
  if (!Array.isArray(value) || value.some((g) => typeof g !== 'string')) throw badRequest('guids: expected a list of GUIDs');
  const guids = [...new Set(value as string[])];
  if (guids.length === 0) throw badRequest('guids: the list is empty');
  if (guids.length > MAX_BULK_RESEND) throw badRequest(`guids: at most ${MAX_BULK_RESEND} per call, got ${guids.length}`);
  for (const guid of guids) {
    const problem = textProblem('guids', guid);
    if (problem) throw badRequest(problem);
  }
  return guids;
}

/** The GUIDs the message list shows for a filter (its keys), oldest first so the ERP's order is kept. */
async function matchingGuids(db: Database, filter: unknown): Promise<string[]> {
  if (filter === undefined) throw badRequest('guids: give guids (a list) or filter (the message list\'s keys)');
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) throw badRequest('filter: expected an object with the message list\'s keys');
  const fields = filter as Record<string, unknown>;
  const unknown = Object.keys(fields).find((k) => !FILTER_KEYS.includes(k));
  if (unknown !== undefined) throw badRequest(`filter.${unknown}: unknown field (allowed: ${FILTER_KEYS.join(', ')})`);
  const listed = await listMessages(db, { ...messageFilterOf(fields), limit: MAX_BULK_RESEND, offset: 0 });
  if (listed.total > MAX_BULK_RESEND) throw badRequest(`filter: matches ${listed.total} messages; at most ${MAX_BULK_RESEND} per call — narrow the filter`);
  return listed.items.flatMap((m) => (m.guid ? [m.guid] : [])).reverse();
}

async function applicantOf(db: Database, message: MessageRow): Promise<EmployeeRecord | null> {
  return message.employeeNo === null ? null : getEmployee(db, message.employeeNo);
}

/** A GUID from the path, checked like the `guid` filter before it reaches Postgres. */
function guidOf(params: Record<string, string | undefined>): string {
  const guid = String(params.guid ?? '');
  const problem = textProblem('guid', guid);
  if (problem) throw badRequest(problem);
  return guid;
}

export function statsRouter(db: Database, sandbox: boolean): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    const now = new Date();
    const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate());
    const [counts, token] = await Promise.all([countOutcomes(db, startOfToday), tokenStatus(db)]);
    res.json({ ...counts, sandbox, token });
  });
  router.get('/series', async (req, res) => {
    const range = stringParam(req.query as Record<string, unknown>, 'range') ?? '7d';
    if (range !== '24h' && range !== '7d') throw badRequest('range: expected 24h or 7d');
    res.json({ range, buckets: await outcomeSeries(db, range) });
  });
  return router;
}
