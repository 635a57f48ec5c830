import { Router, type Request, type Response } from 'express';
import type { Db } from '../db/database.js';

// Contract §6: one employee ↔ openid mapping per employee number.

export const OPENID_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;
const MAX_EMPLOYEE_NO = 64;
const MAX_NAME = 100;

export interface EmployeeRecord {
  employeeNo: string;
  openid: string;
  name: string;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

interface EmployeeRow {
  employee_no: string;
  openid: string;
  name: string;
  active: boolean;
  created_at: Date;
  updated_at: Date;
  inserted?: boolean;
}

export class BadRequest extends Error {}

export function employeesRouter(db: Db): Router {
  const router = Router();

  router.put(['/', ''], (_req, res) => {
    res.status(400).json({ error: 'employeeNo: must not be empty' });
  });

  router.put('/:employeeNo', async (req, res) => {
    const input = parseBody(req.body);
    const employeeNo = employeeNoOf(req);
    const row = await db.one<EmployeeRow>(
      `INSERT INTO employees (employee_no, openid, name, active) VALUES ($1, $2, $3, $4)
       ON CONFLICT (employee_no) DO UPDATE SET openid = EXCLUDED.openid, name = COALESCE($5, employees.name),
         active = EXCLUDED.active, updated_at = now()
       RETURNING *, (xmax = 0) AS inserted`,
      [employeeNo, input.openid, input.name ?? '', input.active, input.name],
    );
    res.status(row!.inserted ? 201 : 200).json(toRecord(row!));
  });

  router.get('/:employeeNo', async (req, res) => {
    const row = await db.one<EmployeeRow>('SELECT * FROM employees WHERE employee_no = $1', [employeeNoOf(req)]);
    if (!row) return notFound(res);
    res.json(toRecord(row));
  });

  router.delete('/:employeeNo', async (req, res) => {
    const rows = await db.rows('DELETE FROM employees WHERE employee_no = $1 RETURNING employee_no', [employeeNoOf(req)]);
    if (rows.length === 0) return notFound(res);
    res.status(204).end();
  });

  return router;
}

function employeeNoOf(req: Request): string {
  const employeeNo = String(req.params.employeeNo ?? '').trim();
  if (employeeNo === '') throw new BadRequest('employeeNo: must not be empty');
  if (employeeNo.length > MAX_EMPLOYEE_NO) throw new BadRequest(`employeeNo: at most ${MAX_EMPLOYEE_NO} characters`);
  return employeeNo;
}

function parseBody(body: unknown): { openid: string; name: string | null; active: boolean } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('body: expected a JSON object {"openid", "name", "active"}');
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!['openid', 'name', 'active'].includes(key)) throw new BadRequest(`${key}: unknown field (allowed: openid, name, active)`);
  }
  const { openid, name, active } = fields;
  if (typeof openid !== 'string' || !OPENID_PATTERN.test(openid)) throw new BadRequest('openid: must be 6–64 characters of A-Z a-z 0-9 _ -');
  if (name !== undefined && name !== null && (typeof name !== 'string' || name.length > MAX_NAME)) throw new BadRequest(`name: must be a string of at most ${MAX_NAME} characters`);
  if (active !== undefined && typeof active !== 'boolean') throw new BadRequest('active: must be true or false');
  return { openid, name: typeof name === 'string' ? name.trim() : null, active: active ?? true };
}

function toRecord(row: EmployeeRow): EmployeeRecord {
  return {
    employeeNo: row.employee_no,
    openid: row.openid,
    name: row.name,
    active: row.active,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

function notFound(res: Response): void {
  res.status(404).json({ error: 'employeeNo: no such employee' });
}
