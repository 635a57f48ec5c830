import { Router } from 'express';
import type { Db } from '../db/database.js';
import type { PushPipeline } from '../push/pipeline.js';
import { actorOf } from './employees.js';
import { badRequest, conflict, notFound } from './errors.js';
import { countOutcomes, getMessage, getMessageById, listMessages, tokenStatus, type OutcomeFilter } from './message-store.js';
import { dateParam, pageOf, stringParam, textProblem } from './query.js';

// The message log for administrators (contract §7): find a push, see it in full, resend it, counts.

const OUTCOMES: OutcomeFilter[] = ['AA', 'AE', 'unknown', 'sandbox'];

export function messagesRouter(db: Db, pipeline: PushPipeline): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const outcome = stringParam(query, 'outcome');
    if (outcome !== null && !OUTCOMES.includes(outcome as OutcomeFilter)) throw badRequest(`outcome: expected one of ${OUTCOMES.join(', ')}`);
    res.json(
      await listMessages(db, {
        outcome: outcome as OutcomeFilter | null,
        employeeNo: stringParam(query, 'employeeNo'),
        guid: stringParam(query, 'guid'),
        from: dateParam(query, 'from', false),
        to: dateParam(query, 'to', true),
        q: stringParam(query, 'q'),
        ...pageOf(query),
      }),
    );
  });

  router.get('/by-id/:id', async (req, res) => {
    const message = await getMessageById(db, String(req.params.id));
    if (!message) throw notFound('id: no message with this id');
    res.json(message);
  });

  router.get('/:guid', async (req, res) => {
    const message = await getMessage(db, guidOf(req.params));
    if (!message) throw notFound('guid: no message with this GUID');
    res.json(message);
  });

  router.post('/:guid/resend', async (req, res) => {
    const body: unknown = req.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body: expected a JSON object {"force": false}');
    const unknown = Object.keys(body).find((key) => key !== 'force');
    if (unknown !== undefined) throw badRequest(`${unknown}: unknown field (allowed: force)`);
    const force = (body as { force?: unknown }).force ?? false;
    if (typeof force !== 'boolean') throw badRequest('force: must be true or false');
    const result = await pipeline.resend(guidOf(req.params), force, actorOf(res.locals));
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

export function statsRouter(db: Db, sandbox: boolean): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    const now = new Date();
    const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate());
    const [counts, token] = await Promise.all([countOutcomes(db, startOfToday), tokenStatus(db)]);
    res.json({ ...counts, sandbox, token });
  });
  return router;
}
