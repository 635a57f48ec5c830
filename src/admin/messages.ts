import { Router } from 'express';
import type { Database } from '../db/data-source.js';
import { countOutcomes, listMessages, messageById, messagesOfGuid, type OutcomeFilter } from '../db/messages.js';
import { tokenStatus } from '../db/wechat-tokens.js';
import type { ResendResult } from '../push/resend.js';
import { actorOf } from './employees.js';
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
    const outcome = stringParam(query, 'outcome');
    if (outcome !== null && !OUTCOMES.includes(outcome as OutcomeFilter)) throw badRequest(`outcome: expected one of ${OUTCOMES.join(', ')}`);
    const listed = await listMessages(db, {
        outcome: outcome as OutcomeFilter | null,
        employeeNo: stringParam(query, 'employeeNo'),
        guid: stringParam(query, 'guid'),
        from: dateParam(query, 'from', false),
        to: dateParam(query, 'to', true),
        q: stringParam(query, 'q'),
        ...pageOf(query),
      });
    res.json({ items: listed.items.map(toSummary), total: listed.total });
  });

  router.get('/by-id/:id', async (req, res) => {
    const id = String(req.params.id);
    const main = /^\d{1,18}$/.test(id) ? await messageById(db, id) : null;
    if (!main) throw notFound('id: no message with this id');
    const others = main.guid === null ? [] : (await messagesOfGuid(db, main.guid)).filter((r) => r.id !== main.id);
    res.json(toDetail(main, others));
  });

  router.get('/:guid', async (req, res) => {
    const [main, ...others] = await messagesOfGuid(db, guidOf(req.params));
    if (!main) throw notFound('guid: no message with this GUID');
    res.json(toDetail(main, others));
  });

  router.post('/:guid/resend', async (req, res) => {
    const body: unknown = req.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body: expected a JSON object {"force": false}');
    const unknown = Object.keys(body).find((key) => key !== 'force');
    if (unknown !== undefined) throw badRequest(`${unknown}: unknown field (allowed: force)`);
    const force = (body as { force?: unknown }).force ?? false;
    if (typeof force !== 'boolean') throw badRequest('force: must be true or false');
    const result = await resend(guidOf(req.params), force, actorOf(res.locals));
    if (result.kind === 'not-found') throw notFound('guid: no message with this GUID');
    if (result.kind === 'conflict') throw conflict(result.message);
    // partsSent / partsAlreadyAccepted: a resend completes a text WeChat accepted in part; a forced one sends it all again.
    res.json({ ackCode: result.ackCode, reason: result.reason, partsSent: result.partsSent, partsAlreadyAccepted: result.partsAlreadyAccepted });
  });

  return router;
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
  return router;
}
