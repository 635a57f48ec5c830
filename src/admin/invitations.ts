import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { AdminCredential } from '../config.js';
import { invite, DEFAULT_EXPIRES_HOURS, MAX_EXPIRES_HOURS, type InvitationView, type QrMaker } from '../binding/invite.js';
import { qrSvg } from '../binding/qr-svg.js';
import { slipsPage, type Slip } from '../binding/slips.js';
import type { Database } from '../db/data-source.js';
import { listEmployees, namesOf } from '../db/employees.js';
import { listInvitations, openInvitations, type InvitationStatus } from '../db/invitations.js';
import { QrCodeError } from '../wechat/qrcode.js';
import { requireAdmin } from './auth.js';
import { unprefixCell } from './csv.js';
import { actorOf, bindingParam, MAX_IMPORT_BYTES } from './employees.js';
import { objectBody } from './body.js';
import { mapBounded } from './bounded.js';
import { badRequest, HttpError } from './errors.js';
import { employeeNoProblem, nameProblem } from './mapping.js';
import { employeeNosOf, printLink, verifyPrintLink } from './print-link.js';
import { fieldOfHeader, readUpload } from './spreadsheet.js';
import { boolParam, pageOf, stringParam } from './query.js';

// Invitations to bind (contract §9): one employee, many (a selection or a filter), or the HR list
// as CSV; the list of invitations; and the printable slips, reached with the bearer token or a
// short-lived signed link (a new browser tab cannot send the token).

export interface InvitationsOptions {
  db: Database;
  makeQr: QrMaker;
  adminTokens: AdminCredential[];
}

/** Employees per bulk call: QR codes are made one WeChat call each. */
export const MAX_BULK = 500;
/** WeChat calls in flight for a bulk invitation: quick, without tripping WeChat's rate limits. */
const BULK_CONCURRENCY = 4;

const STATUSES: InvitationStatus[] = ['open', 'used', 'expired', 'revoked'];

export function invitationsApi(options: InvitationsOptions): Router {
  const { db, adminTokens } = options;
  const router = Router();

  router.post('/employees/:employeeNo/invitations', async (req, res) => {
    const employeeNo = String(req.params.employeeNo ?? '').trim();
    const problem = employeeNoProblem(employeeNo);
    if (problem) throw badRequest(problem);
    const body = objectBody(req.body ?? {}, ['name', 'expiresInHours'], '(name, expiresInHours)');
    const name = body.name === undefined || body.name === null ? null : nameOf(body.name);
    const created = await inviting(() => invite(db, options.makeQr, employeeNo, { name, expiresInHours: hoursOf(body.expiresInHours), actor: actorOf(res.locals), withSvg: true }));
    res.status(201).json({ ...created, printUrl: printLink(adminTokens, [employeeNo]) });
  });

  router.post('/invitations', async (req, res) => {
    const body = objectBody(req.body ?? {}, ['employeeNos', 'filter', 'expiresInHours'], '(employeeNos, filter, expiresInHours)');
    const expiresInHours = hoursOf(body.expiresInHours);
    const employeeNos = body.employeeNos !== undefined ? (body.filter === undefined ? listOf(body.employeeNos) : bothGiven()) : await matching(db, body.filter);
    const result = await inviteMany(options, employeeNos.map((employeeNo) => ({ employeeNo, name: null })), expiresInHours, actorOf(res.locals));
    res.status(201).json({ items: result.items, errors: result.errors, printUrl: printLink(adminTokens, result.items.map((i) => i.employeeNo)) });
  });

  router.post('/invitations/import', express.raw({ type: () => true, limit: MAX_IMPORT_BYTES }), async (req, res) => {
    const expiresInHours = hoursOf(queryHours(req));
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const { people, errors } = await readHrList(body, req.get('content-type'));
    // One query for the whole list: who exists already (the rest are created by their invitation).
    const before = await namesOf(db, people.map((p) => p.employeeNo));
    const result = await inviteMany(options, people, expiresInHours, actorOf(res.locals));
    res.status(201).json({
      created: result.items.filter((i) => !before.has(i.employeeNo)).length,
      items: result.items,
      errors: [...errors, ...result.errors.map((e) => ({ line: people.find((p) => p.employeeNo === e.employeeNo)?.line ?? 0, message: e.error }))].sort((a, b) => a.line - b.line),
      printUrl: printLink(adminTokens, result.items.map((i) => i.employeeNo)),
    });
  });

  router.get('/invitations', async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const status = stringParam(query, 'status');
    if (status !== null && !STATUSES.includes(status as InvitationStatus)) throw badRequest(`status: expected one of ${STATUSES.join(', ')}`);
    res.json(await listInvitations(db, { employeeNo: stringParam(query, 'employeeNo'), status: status as InvitationStatus | null, ...pageOf(query) }));
  });

  router.post('/invitations/print-link', (req, res) => {
    const body = objectBody(req.body ?? {}, ['employeeNos'], '(employeeNos)');
    res.json({ url: printLink(adminTokens, listOf(body.employeeNos)) });
  });

  return router;
}

/** GET /admin/invitations/print: the slips of the employees' open invitations, as a page to print. */
export function printPage(options: InvitationsOptions): Router {
  const router = Router();
  const bearer = requireAdmin(options.adminTokens);
  const signedOrBearer = (req: Request, res: Response, next: NextFunction): void => {
    const signed = verifyPrintLink(options.adminTokens, req.query as Record<string, unknown>);
    if (signed !== null) {
      res.locals.employeeNos = signed;
      next();
      return;
    }
    // A script may send the token; a person with an old link gets a page that says what to do.
    if (req.get('authorization') !== undefined) return bearer(req, res, next);
    res.status(403).type('text/plain; charset=utf-8').send('打印链接无效或已过期（5分钟内有效），请回到管理页面重新打开打印。');
  };
  router.get('/invitations/print', signedOrBearer, async (req, res) => {
    const employeeNos = (res.locals.employeeNos as string[] | undefined) ?? (employeeNosOf((req.query as Record<string, unknown>).e) ?? []);
    const invitations = await openInvitations(options.db, employeeNos);
    const byNo = new Map(invitations.map((i) => [i.employeeNo, i]));
    const names = await namesOf(options.db, invitations.map((i) => i.employeeNo));
    const slips: Slip[] = [];
    for (const employeeNo of employeeNos) {
      const invitation = byNo.get(employeeNo);
      if (!invitation) continue;
      slips.push({ employeeNo, name: names.get(employeeNo) ?? '', code: invitation.code, expiresAt: invitation.expiresAt, svg: invitation.qrUrl === null ? null : await qrSvg(invitation.qrUrl) });
    }
    res.type('text/html; charset=utf-8').send(slipsPage(slips, employeeNos.filter((no) => !byNo.has(no))));
  });
  return router;
}

interface Person {
  employeeNo: string;
  name: string | null;
  line?: number;
}

async function inviteMany(options: InvitationsOptions, people: Person[], expiresInHours: number, actor: string) {
  type Invited = { item: InvitationView } | { error: { employeeNo: string; error: string } };
  const results = await mapBounded(people, BULK_CONCURRENCY, async (person): Promise<Invited> => {
    try {
      return { item: await inviting(() => invite(options.db, options.makeQr, person.employeeNo, { name: person.name, expiresInHours, actor, withSvg: false })) };
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      return { error: { employeeNo: person.employeeNo, error: err.message } };
    }
  });
  return { items: results.flatMap((r) => ('item' in r ? [r.item] : [])), errors: results.flatMap((r) => ('error' in r ? [r.error] : [])) };
}

/** WeChat could not make the QR code: nothing was written; say why (40164: IP not whitelisted, …). */
async function inviting<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof QrCodeError) throw new HttpError(502, `qr: ${err.message}`);
    throw err;
  }
}

async function matching(db: Database, filter: unknown): Promise<string[]> {
  if (filter === undefined) throw badRequest('employeeNos: give employeeNos (a list) or filter ({"q", "binding", "active"})');
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) throw badRequest('filter: expected an object {"q", "binding", "active"}');
  const fields = Object.fromEntries(Object.entries(filter).map(([k, v]) => [k, typeof v === 'boolean' ? String(v) : v]));
  const unknown = Object.keys(fields).find((k) => !['q', 'binding', 'active'].includes(k));
  if (unknown !== undefined) throw badRequest(`filter.${unknown}: unknown field (allowed: q, binding, active)`);
  const listed = await listEmployees(db, { q: stringParam(fields, 'q'), active: boolParam(fields, 'active'), binding: bindingParam(fields), limit: MAX_BULK, offset: 0 });
  if (listed.total > MAX_BULK) throw badRequest(`filter: matches ${listed.total} employees; at most ${MAX_BULK} per call — narrow the filter`);
  return listed.items.map((e) => e.employeeNo);
}

function bothGiven(): never {
  throw badRequest('filter: give employeeNos or filter, not both');
}

function listOf(value: unknown): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw badRequest('employeeNos: expected a list of employee numbers');
  const list = [...new Set((value as string[]).map((v) => v.trim()))];
  if (list.length === 0) throw badRequest('employeeNos: the list is empty');
  if (list.length > MAX_BULK) throw badRequest(`employeeNos: at most ${MAX_BULK} per call, got ${list.length}`);
  for (const no of list) {
    const problem = employeeNoProblem(no);
    if (problem) throw badRequest(`employeeNos: "${no.slice(0, 40)}": ${problem}`);
  }
  return list;
}


function hoursOf(value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_EXPIRES_HOURS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_EXPIRES_HOURS) {
    throw badRequest(`expiresInHours: a whole number from 1 to ${MAX_EXPIRES_HOURS} (WeChat keeps a QR code at most 30 days)`);
  }
  return value;
}

function queryHours(req: Request): number | undefined {
  const raw = (req.query as Record<string, unknown>).expiresInHours;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw)) throw badRequest(`expiresInHours: a whole number from 1 to ${MAX_EXPIRES_HOURS}`);
  return Number(raw);
}

function nameOf(value: unknown): string {
  const problem = nameProblem(typeof value === 'string' ? value.trim() : value);
  if (problem) throw badRequest(problem);
  return (value as string).trim();
}

/** Lines per HR list: invitations are made one WeChat call each. */
const MAX_HR_LINES = 2000;

/**
 * The HR list: a header naming the employee-number and name columns (English or Chinese, the
 * employee import's aliases), any others ignored; read from the same files as that import (CSV in
 * UTF-8 or GBK, UTF-16 text with tabs, .xlsx).
 */
async function readHrList(body: Buffer, contentType: string | undefined): Promise<{ people: Person[]; errors: Array<{ line: number; message: string }> }> {
  const all = (await readUpload(body, contentType)).records;
  const start = all.findIndex((r) => r.problem !== undefined || r.fields.some((f) => f.trim() !== ''));
  const records = start < 0 ? [] : all.slice(start);
  const header = records[0];
  if (!header || header.problem !== undefined) return { people: [], errors: [{ line: header?.line ?? 1, message: header?.problem ?? 'header: the file is empty; expected employee_no,name (or 工号,姓名)' }] };
  const noAt = header.fields.findIndex((c) => fieldOfHeader(c) === 'employee_no');
  const nameAt = header.fields.findIndex((c) => fieldOfHeader(c) === 'name');
  if (noAt < 0) return { people: [], errors: [{ line: header.line, message: 'header: no employee number column (employee_no or 工号)' }] };
  if (records.length - 1 > MAX_HR_LINES) return { people: [], errors: [{ line: 1, message: `file: at most ${MAX_HR_LINES} employees per list, got ${records.length - 1}; split the file` }] };
  const people: Person[] = [];
  const errors: Array<{ line: number; message: string }> = [];
  const seen = new Map<string, number>();
  for (const record of records.slice(1)) {
    if (record.problem !== undefined) {
      errors.push({ line: record.line, message: record.problem });
      continue;
    }
    const employeeNo = unprefixCell(record.fields[noAt] ?? '').trim();
    const name = nameAt < 0 ? null : unprefixCell(record.fields[nameAt] ?? '').trim();
    if (employeeNo === '' && (name ?? '') === '') continue;
    const problem = employeeNoProblem(employeeNo) ?? (name === null ? null : nameProblem(name));
    const earlier = seen.get(employeeNo);
    if (problem) errors.push({ line: record.line, message: problem });
    else if (earlier !== undefined) errors.push({ line: record.line, message: `employee_no: ${employeeNo} is already on line ${earlier}; invited once` });
    else {
      seen.set(employeeNo, record.line);
      people.push({ employeeNo, name: name === '' ? null : name, line: record.line });
    }
  }
  return { people, errors };
}
