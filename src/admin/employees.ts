import { setImmediate as nextTurn } from 'node:timers/promises';
import express, { Router, type Request } from 'express';
import type { Database } from '../db/data-source.js';
import { listAudit } from '../db/employee-audit.js';
import { charsetOfContentType, decodeBytes } from '../push/charset.js';
import { exportCsv, planImportSteps } from './employee-import.js';
import { allEmployees, deleteEmployee, getEmployee, listEmployees, previewEmployees, putEmployees, putEmployee } from '../db/employees.js';
import type { BindingStatus, WriteResult } from '../types.js';
import { FormatError } from '../errors.js';
import { badRequest, notFound } from './errors.js';
import { employeeNoLookupProblem, employeeNoProblem, mappingFrom, nameProblem, openidProblem } from './mapping.js';
import { boolParam, dateParam, pageOf, stringParam } from './query.js';

// Employee ↔ openid mappings (contract §6 and §7): list and search, single-employee calls, CSV
// import and export, and the audit trail of every change.

export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;

export function employeesRouter(db: Database): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const query = req.query as Record<string, unknown>;
    res.json(await listEmployees(db, { q: stringParam(query, 'q'), active: boolParam(query, 'active'), binding: bindingParam(query), ...pageOf(query) }));
  });

  router.get('/export', async (_req, res) => {
    // The BOM makes Excel open the UTF-8 file correctly; the importer accepts it.
    res
      .type('text/csv; charset=utf-8')
      .attachment(`employees-${new Date().toISOString().slice(0, 10)}.csv`)
      .send(`\uFEFF${exportCsv(await allEmployees(db))}`);
  });

  router.post('/import', express.raw({ type: () => true, limit: MAX_IMPORT_BYTES }), async (req, res) => {
    const dryRun = boolParam(req.query as Record<string, unknown>, 'dryRun') ?? false;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const plan = await sliced(planImportSteps(decodeImport(body, req.get('content-type'))));
    const results: WriteResult[] = dryRun ? await previewEmployees(db, plan.inputs) : await putEmployees(db, plan.inputs, actorOf(res.locals));
    res.json({ ...countResults(results), errors: plan.errors, errorCount: plan.errorCount, dryRun });
  });

  router.put(['/', ''], () => {
    throw badRequest('employeeNo: must not be empty');
  });

  router.put('/:employeeNo', async (req, res) => {
    const employeeNo = employeeNoOf(req, employeeNoProblem);
    const input = parseBody(req.body);
    const { result, record } = await putEmployee(db, mappingFrom(employeeNo, input.openid, input.name, input.active), actorOf(res.locals));
    res.status(result === 'created' ? 201 : 200).json(record);
  });

  router.get('/:employeeNo', async (req, res) => {
    const record = await getEmployee(db, employeeNoOf(req, employeeNoLookupProblem));
    if (!record) throw notFound('employeeNo: no such employee');
    res.json(record);
  });

  router.delete('/:employeeNo', async (req, res) => {
    if (!(await deleteEmployee(db, employeeNoOf(req, employeeNoLookupProblem), actorOf(res.locals)))) throw notFound('employeeNo: no such employee');
    res.status(204).end();
  });

  return router;
}

export function auditRouter(db: Database): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const query = req.query as Record<string, unknown>;
    res.json(
      await listAudit(db, {
        employeeNo: stringParam(query, 'employeeNo'),
        actor: stringParam(query, 'actor'),
        from: dateParam(query, 'from', false),
        to: dateParam(query, 'to', true),
        ...pageOf(query),
      }),
    );
  });
  return router;
}

export function actorOf(locals: Record<string, unknown>): string {
  return typeof locals.actor === 'string' ? locals.actor : 'admin';
}

/** Runs a sliced computation, giving the event loop a turn between slices (pushes keep flowing). */
export async function sliced<T>(steps: Generator<void, T>): Promise<T> {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    await nextTurn();
  }
}

/** An uploaded CSV as text: UTF-8 (with or without BOM) or the charset its Content-Type names. */
export function decodeImport(body: Buffer, contentType: string | undefined): string {
  const charset = charsetOfContentType(contentType);
  try {
    return decodeBytes(body, charset);
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    throw badRequest(`charset: the file cannot be read as ${charset === null ? 'the charset it declares' : `"${charset}"`}; send UTF-8 (with or without BOM) or GBK`);
  }
}

function countResults(results: WriteResult[]): Record<WriteResult, number> {
  const counts = { created: 0, updated: 0, unchanged: 0 };
  for (const result of results) counts[result]++;
  return counts;
}

function employeeNoOf(req: Request, check: (employeeNo: string) => string | null): string {
  const employeeNo = String(req.params.employeeNo ?? '').trim();
  const problem = check(employeeNo);
  if (problem) throw badRequest(problem);
  return employeeNo;
}

const BINDINGS: readonly BindingStatus[] = ['unbound', 'invited', 'bound', 'unfollowed'];

export function bindingParam(query: Record<string, unknown>): BindingStatus | null {
  const value = stringParam(query, 'binding');
  if (value === null) return null;
  const known = BINDINGS.find((b) => b === value);
  if (!known) throw badRequest(`binding: expected one of ${BINDINGS.join(', ')}`);
  return known;
}

/** `openid` absent keeps the stored one; null leaves the employee unbound (contract §9). */
function parseBody(body: unknown): { openid: string | null | undefined; name: string | null; active: boolean } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body: expected a JSON object {"openid", "name", "active"}');
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !['openid', 'name', 'active'].includes(key));
  if (unknown !== undefined) throw badRequest(`${unknown}: unknown field (allowed: openid, name, active)`);
  const problem = openidProblem(fields.openid) ?? nameProblem(typeof fields.name === 'string' ? fields.name.trim() : fields.name);
  if (problem) throw badRequest(problem);
  if (fields.active !== undefined && typeof fields.active !== 'boolean') throw badRequest('active: must be true or false');
  return { openid: fields.openid as string | null | undefined, name: typeof fields.name === 'string' ? fields.name : null, active: (fields.active as boolean | undefined) ?? true };
}
