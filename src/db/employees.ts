import { EntitySchema, In } from 'typeorm';
import type { EmployeeRecord, EmployeeRow, Listed, MappingInput, Page, WriteResult } from '../types.js';
import type { Database, Tx } from './data-source.js';
import { recordChange, recordChanges, type AuditChange } from './employee-audit.js';

// The employee ↔ openid mappings: every statement on `employees`. A change is written together with
// its audit entry in one transaction; a write that changes nothing leaves no trace.

export const EmployeeSchema = new EntitySchema<EmployeeRow>({
  name: 'Employee',
  tableName: 'employees',
  columns: {
    employeeNo: { name: 'employee_no', type: 'text', primary: true },
    openid: { type: 'text' },
    name: { type: 'text' },
    active: { type: 'boolean' },
    createdAt: { name: 'created_at', type: 'timestamptz' },
    updatedAt: { name: 'updated_at', type: 'timestamptz' },
  },
});

/**
 * The look-up step of the push path, as a scalar subquery for the claim to carry in its own round
 * trip (db/messages.ts): the applicant's openid, NULL without an active mapping.
 */
export function openidOfEmployeeSql(employeeNoParam: string): string {
  return `(SELECT e.openid FROM employees e WHERE e.employee_no = ${employeeNoParam} AND e.active)`;
}

export interface EmployeeFilter extends Page {
  q: string | null;
  active: boolean | null;
}

export async function listEmployees(db: Database, filter: EmployeeFilter): Promise<Listed<EmployeeRecord>> {
  const query = db.dataSource.getRepository(EmployeeSchema).createQueryBuilder('e');
  if (filter.q !== null) query.where('(e.employee_no ILIKE :q OR e.name ILIKE :q OR e.openid ILIKE :q)', { q: `%${escapeLike(filter.q)}%` });
  if (filter.active !== null) query.andWhere('e.active = :active', { active: filter.active });
  const [rows, total] = await query.orderBy('e.updated_at', 'DESC').addOrderBy('e.employee_no').take(filter.limit).skip(filter.offset).getManyAndCount();
  return { items: rows.map(toRecord), total };
}

export async function getEmployee(db: Database, employeeNo: string): Promise<EmployeeRecord | null> {
  const row = await db.dataSource.getRepository(EmployeeSchema).findOneBy({ employeeNo });
  return row ? toRecord(row) : null;
}

export async function allEmployees(db: Database): Promise<EmployeeRecord[]> {
  return (await db.dataSource.getRepository(EmployeeSchema).find({ order: { employeeNo: 'ASC' } })).map(toRecord);
}

export async function putEmployee(db: Database, input: MappingInput, actor: string): Promise<{ result: WriteResult; record: EmployeeRecord }> {
  return db.transaction(async (tx) => {
    const [before] = await lockRows(tx, [input.employeeNo]);
    if (before && sameMapping(before, input)) return { result: 'unchanged', record: toRecord(before) };
    const [after] = await upsert(tx, [{ ...input, name: input.name ?? before?.name ?? '' }]);
    const record = toRecord(after!);
    await recordChange(tx, actor, 'api', { employeeNo: input.employeeNo, action: before ? 'update' : 'create', before: before ? toRecord(before) : null, after: record });
    return { result: before ? 'updated' : 'created', record };
  });
}

/** Rows per statement when an import is written: few round trips, small statements. */
const WRITE_BATCH = 500;
/** Rows per lookup of a dry run; each batch is its own query, so the event loop gets turns between them. */
const PREVIEW_BATCH = 5000;

/**
 * Writes every mapping in one transaction (an import is applied whole or, on a fault, not at all),
 * a batch of rows per statement: a lock-and-read, one upsert of the rows that change, one insert
 * of their audit entries. Results and audit entries come out in input order, as row by row.
 */
export async function putEmployees(db: Database, inputs: MappingInput[], actor: string): Promise<WriteResult[]> {
  return db.transaction(async (tx) => {
    const results: WriteResult[] = [];
    for (const batch of batchesOf(inputs, WRITE_BATCH)) results.push(...(await writeBatch(tx, batch, actor)));
    return results;
  });
}

/** What an import would do, without writing. */
export async function previewEmployees(db: Database, inputs: MappingInput[]): Promise<WriteResult[]> {
  const results: WriteResult[] = [];
  const repository = db.dataSource.getRepository(EmployeeSchema);
  for (const batch of batchesOf(inputs, PREVIEW_BATCH)) {
    const existing = await repository.findBy({ employeeNo: In(batch.map((i) => i.employeeNo)) });
    const byNo = new Map(existing.map((row) => [row.employeeNo, row]));
    for (const input of batch) results.push(resultOf(byNo.get(input.employeeNo), input));
  }
  return results;
}

export async function deleteEmployee(db: Database, employeeNo: string, actor: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [deleted] = await tx.query<RawEmployee>('DELETE FROM employees WHERE employee_no = $1 RETURNING *', [employeeNo]);
    if (!deleted) return false;
    await recordChange(tx, actor, 'api', { employeeNo, action: 'delete', before: toRecord(fromRaw(deleted)), after: null });
    return true;
  });
}

/**
 * Consecutive slices of at most `size`. An employee number seen again starts a new slice: one
 * statement cannot upsert a row twice, and the later line must see the earlier one's write.
 */
export function batchesOf(inputs: MappingInput[], size: number): MappingInput[][] {
  const batches: MappingInput[][] = [];
  let batch: MappingInput[] = [];
  let seen = new Set<string>();
  for (const input of inputs) {
    if (batch.length >= size || seen.has(input.employeeNo)) {
      batches.push(batch);
      batch = [];
      seen = new Set();
    }
    batch.push(input);
    seen.add(input.employeeNo);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

async function writeBatch(tx: Tx, batch: MappingInput[], actor: string): Promise<WriteResult[]> {
  const before = new Map((await lockRows(tx, batch.map((i) => i.employeeNo))).map((row) => [row.employeeNo, row]));
  const results = batch.map((input) => resultOf(before.get(input.employeeNo), input));
  const changed = batch.filter((_, i) => results[i] !== 'unchanged');
  if (changed.length === 0) return results;
  // A null name keeps the stored one; the rows are locked above, so what was read is still current.
  const after = new Map((await upsert(tx, changed.map((i) => ({ ...i, name: i.name ?? before.get(i.employeeNo)?.name ?? '' })))).map((row) => [row.employeeNo, row]));
  const changes: AuditChange[] = changed.map((i) => {
    const old = before.get(i.employeeNo);
    return { employeeNo: i.employeeNo, action: old ? 'update' : 'create', before: old ? toRecord(old) : null, after: toRecord(after.get(i.employeeNo)!) };
  });
  await recordChanges(tx, actor, 'import', changes);
  return results;
}

async function lockRows(tx: Tx, employeeNos: string[]): Promise<EmployeeRow[]> {
  return (await tx.query<RawEmployee>('SELECT * FROM employees WHERE employee_no = ANY($1::text[]) FOR UPDATE', [employeeNos])).map(fromRaw);
}

async function upsert(tx: Tx, rows: Array<MappingInput & { name: string }>): Promise<EmployeeRow[]> {
  const written = await tx.query<RawEmployee>(
    `INSERT INTO employees (employee_no, openid, name, active)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[])
     ON CONFLICT (employee_no) DO UPDATE SET openid = EXCLUDED.openid, name = EXCLUDED.name, active = EXCLUDED.active, updated_at = now()
     RETURNING *`,
    [rows.map((r) => r.employeeNo), rows.map((r) => r.openid), rows.map((r) => r.name), rows.map((r) => r.active)],
  );
  return written.map(fromRaw);
}

function resultOf(before: EmployeeRow | undefined, input: MappingInput): WriteResult {
  if (!before) return 'created';
  return sameMapping(before, input) ? 'unchanged' : 'updated';
}

function sameMapping(row: EmployeeRow, input: MappingInput): boolean {
  return row.openid === input.openid && row.active === input.active && (input.name === null || row.name === input.name);
}

/** Rows as SQL returns them (column names), for the statements written as SQL. */
interface RawEmployee {
  employee_no: string;
  openid: string;
  name: string;
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

function fromRaw(row: RawEmployee): EmployeeRow {
  return { employeeNo: row.employee_no, openid: row.openid, name: row.name, active: row.active, createdAt: row.created_at, updatedAt: row.updated_at };
}

export function toRecord(row: EmployeeRow): EmployeeRecord {
  return {
    employeeNo: row.employeeNo,
    openid: row.openid,
    name: row.name,
    active: row.active,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
