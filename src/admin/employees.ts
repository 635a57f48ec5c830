import { setImmediate as nextTurn } from 'node:timers/promises';
import express, { Router, type Request } from 'express';
import type { Database } from '../db/data-source.js';
import { listAudit } from '../db/employee-audit.js';
import { exportCsv, planRecords, templateCsv } from './employee-import.js';
import { allEmployees, deleteEmployee, type EmployeeSort, getEmployee, listEmployees, previewEmployees, putEmployees, putEmployee } from '../db/employees.js';
import type { BindingStatus, WriteResult } from '../types.js';
import { objectBody } from './body.js';
import { badRequest, notFound } from './errors.js';
import { employeeNoLookupProblem, employeeNoProblem, mappingFrom, nameProblem, openidProblem } from './mapping.js';
import { boolParam, dateParam, pageOf, stringParam } from './query.js';
import { parseColumnMap, readUpload } from './spreadsheet.js';

// Employee ↔ openid mappings (contract §6 and §7): list and search, single-employee calls, CSV
// import and export, and the audit trail of every change.

export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;

export function employeesRouter(db: Database): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const query = req.query as Record<string, unknown>;
    res.json(await listEmployees(db, { ...filterOf(query), sort: sortParam(query), ...pageOf(query) }));
  });

  router.get('/export', async (req, res) => {
    // The list's filter, if any: export what the administrator is looking at.
    const employees = await allEmployees(db, filterOf(req.query as Record<string, unknown>));
    // The BOM makes Excel open the UTF-8 file correctly; the importer accepts it.
    res
      .type('text/csv; charset=utf-8')
      .set('X-Total-Count', String(employees.length))
      .attachment(`employees-${new Date().toISOString().slice(0, 10)}.csv`)
      .send(`\uFEFF${exportCsv(employees)}`);
  });

  // Contract §7 and §11: CSV (UTF-8, GBK), tab-separated UTF-16 text or .xlsx; `map` names the
  // columns the page could not recognise. The report adds `columns`, `headers` and, when the
  // header cannot be used, `missing` (the fields to pick a column for).
  router.post('/import', express.raw({ type: () => true, limit: MAX_IMPORT_BYTES }), async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const dryRun = boolParam(query, 'dryRun') ?? false;
    const map = parseColumnMap(query.map);
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const { records } = await readUpload(body, req.get('content-type'));
    const plan = await sliced(planRecords(records, map));
    const results: WriteResult[] = dryRun ? await previewEmployees(db, plan.inputs) : await putEmployees(db, plan.inputs, actorOf(res.locals));
    const { errors, errorCount, columns, headers, missing } = plan;
    res.json({ ...countResults(results), errors, errorCount, dryRun, columns, headers, ...(missing ? { missing } : {}) });
  });

  router.get('/import-template', (_req, res) => {
    // UTF-8 with a BOM, so that Excel opens the Chinese header correctly.
    res.type('text/csv; charset=utf-8').attachment('员工绑定导入模板.csv').send(`\uFEFF${templateCsv()}`);
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
const SORTS: ReadonlyArray<EmployeeSort['by']> = ['employeeNo', 'name', 'updatedAt'];

function filterOf(query: Record<string, unknown>): { q: string | null; active: boolean | null; binding: BindingStatus | null } {
  return { q: stringParam(query, 'q'), active: boolParam(query, 'active'), binding: bindingParam(query) };
}

/** `sort=employeeNo|name|updatedAt&order=asc|desc` (§11); default: most recently updated first. */
function sortParam(query: Record<string, unknown>): EmployeeSort {
  const by = stringParam(query, 'sort') ?? 'updatedAt';
  const order = stringParam(query, 'order') ?? (by === 'updatedAt' ? 'desc' : 'asc');
  const known = SORTS.find((s) => s === by);
  if (!known) throw badRequest(`sort: expected one of ${SORTS.join(', ')}`);
  if (order !== 'asc' && order !== 'desc') throw badRequest('order: expected asc or desc');
  return { by: known, order };
}

export function bindingParam(query: Record<string, unknown>): BindingStatus | null {
  const value = stringParam(query, 'binding');
  if (value === null) return null;
  const known = BINDINGS.find((b) => b === value);
  if (!known) throw badRequest(`binding: expected one of ${BINDINGS.join(', ')}`);
  return known;
}

/** `openid` absent keeps the stored one; null leaves the employee unbound (contract §9). */
function parseBody(body: unknown): { openid: string | null | undefined; name: string | null; active: boolean } {
  const fields = objectBody(body, ['openid', 'name', 'active'], '{"openid", "name", "active"}');
  const problem = openidProblem(fields.openid) ?? nameProblem(typeof fields.name === 'string' ? fields.name.trim() : fields.name);
  if (problem) throw badRequest(problem);
  if (fields.active !== undefined && typeof fields.active !== 'boolean') throw badRequest('active: must be true or false');
  return { openid: fields.openid as string | null | undefined, name: typeof fields.name === 'string' ? fields.name : null, active: (fields.active as boolean | undefined) ?? true };
}
