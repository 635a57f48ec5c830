import type { Db, TxQuery } from '../db/database.js';

// The employee ↔ openid mappings and their audit trail. Every change is written together with its
// audit entry in one transaction; a write that changes nothing leaves no trace.

export interface EmployeeRecord {
  employeeNo: string;
  openid: string;
  name: string;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface MappingInput {
  employeeNo: string;
  openid: string;
  /** Null keeps the stored name (or '' for a new mapping). */
  name: string | null;
  active: boolean;
}

export type WriteResult = 'created' | 'updated' | 'unchanged';

export interface EmployeeFilter {
  q: string | null;
  active: boolean | null;
  limit: number;
  offset: number;
}

interface EmployeeRow {
  employee_no: string;
  openid: string;
  name: string;
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

export async function listEmployees(db: Db, filter: EmployeeFilter): Promise<{ items: EmployeeRecord[]; total: number }> {
  const where = `($1::text IS NULL OR employee_no ILIKE $1 OR name ILIKE $1 OR openid ILIKE $1) AND ($2::boolean IS NULL OR active = $2)`;
  const params = [filter.q === null ? null : `%${escapeLike(filter.q)}%`, filter.active];
  const [rows, count] = await Promise.all([
    db.rows<EmployeeRow>(`SELECT * FROM employees WHERE ${where} ORDER BY updated_at DESC, employee_no LIMIT $3 OFFSET $4`, [...params, filter.limit, filter.offset]),
    db.one<{ n: string }>(`SELECT count(*) AS n FROM employees WHERE ${where}`, params),
  ]);
  return { items: rows.map(toRecord), total: Number(count?.n ?? 0) };
}

export async function getEmployee(db: Db, employeeNo: string): Promise<EmployeeRecord | null> {
  const row = await db.one<EmployeeRow>('SELECT * FROM employees WHERE employee_no = $1', [employeeNo]);
  return row ? toRecord(row) : null;
}

export async function allEmployees(db: Db): Promise<EmployeeRecord[]> {
  return (await db.rows<EmployeeRow>('SELECT * FROM employees ORDER BY employee_no')).map(toRecord);
}

export async function putEmployee(db: Db, input: MappingInput, actor: string): Promise<{ result: WriteResult; record: EmployeeRecord }> {
  return db.transaction((query) => writeMapping(query, input, actor, 'api'));
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
export async function putEmployees(db: Db, inputs: MappingInput[], actor: string): Promise<WriteResult[]> {
  return db.transaction(async (query) => {
    const results: WriteResult[] = [];
    for (const batch of batchesOf(inputs, WRITE_BATCH)) results.push(...(await writeBatch(query, batch, actor, 'import')));
    return results;
  });
}

/** What an import would do, without writing. */
export async function previewEmployees(db: Db, inputs: MappingInput[]): Promise<WriteResult[]> {
  const results: WriteResult[] = [];
  for (const batch of batchesOf(inputs, PREVIEW_BATCH)) {
    const existing = await db.rows<EmployeeRow>('SELECT * FROM employees WHERE employee_no = ANY($1::text[])', [batch.map((i) => i.employeeNo)]);
    const byNo = new Map(existing.map((row) => [row.employee_no, row]));
    for (const input of batch) results.push(resultOf(byNo.get(input.employeeNo), input));
  }
  return results;
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

async function writeBatch(query: TxQuery, batch: MappingInput[], actor: string, via: 'api' | 'import'): Promise<WriteResult[]> {
  const locked = await query<EmployeeRow>('SELECT * FROM employees WHERE employee_no = ANY($1::text[]) FOR UPDATE', [batch.map((i) => i.employeeNo)]);
  const before = new Map(locked.map((row) => [row.employee_no, row]));
  const results = batch.map((input) => resultOf(before.get(input.employeeNo), input));
  const changed = batch.filter((_, i) => results[i] !== 'unchanged');
  if (changed.length === 0) return results;
  const written = await query<EmployeeRow>(
    `INSERT INTO employees (employee_no, openid, name, active)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[])
     ON CONFLICT (employee_no) DO UPDATE SET openid = EXCLUDED.openid, name = EXCLUDED.name, active = EXCLUDED.active, updated_at = now()
     RETURNING *`,
    [
      changed.map((i) => i.employeeNo),
      changed.map((i) => i.openid),
      // A null name keeps the stored one; the row is locked above, so what was read is still current.
      changed.map((i) => i.name ?? before.get(i.employeeNo)?.name ?? ''),
      changed.map((i) => i.active),
    ],
  );
  const after = new Map(written.map((row) => [row.employee_no, row]));
  await auditMany(
    query,
    actor,
    via,
    changed.map((i) => {
      const old = before.get(i.employeeNo);
      return { employeeNo: i.employeeNo, action: old ? 'update' : 'create', before: old ? toRecord(old) : null, after: toRecord(after.get(i.employeeNo)!) };
    }),
  );
  return results;
}

function resultOf(before: EmployeeRow | undefined, input: MappingInput): WriteResult {
  if (!before) return 'created';
  return sameMapping(before, input) ? 'unchanged' : 'updated';
}

export async function deleteEmployee(db: Db, employeeNo: string, actor: string): Promise<boolean> {
  return db.transaction(async (query) => {
    const [deleted] = await query<EmployeeRow>('DELETE FROM employees WHERE employee_no = $1 RETURNING *', [employeeNo]);
    if (!deleted) return false;
    await audit(query, actor, employeeNo, 'delete', 'api', toRecord(deleted), null);
    return true;
  });
}

async function writeMapping(query: TxQuery, input: MappingInput, actor: string, via: 'api' | 'import'): Promise<{ result: WriteResult; record: EmployeeRecord }> {
  const [before] = await query<EmployeeRow>('SELECT * FROM employees WHERE employee_no = $1 FOR UPDATE', [input.employeeNo]);
  if (before && sameMapping(before, input)) return { result: 'unchanged', record: toRecord(before) };
  const [after] = await query<EmployeeRow>(
    `INSERT INTO employees (employee_no, openid, name, active) VALUES ($1, $2, COALESCE($3, ''), $4)
     ON CONFLICT (employee_no) DO UPDATE SET openid = EXCLUDED.openid, name = COALESCE($3, employees.name),
       active = EXCLUDED.active, updated_at = now()
     RETURNING *`,
    [input.employeeNo, input.openid, input.name, input.active],
  );
  const record = toRecord(after!);
  await audit(query, actor, input.employeeNo, before ? 'update' : 'create', via, before ? toRecord(before) : null, record);
  return { result: before ? 'updated' : 'created', record };
}

function sameMapping(row: EmployeeRow, input: MappingInput): boolean {
  return row.openid === input.openid && row.active === input.active && (input.name === null || row.name === input.name);
}

async function audit(query: TxQuery, actor: string, employeeNo: string, action: string, via: string, before: EmployeeRecord | null, after: EmployeeRecord | null): Promise<void> {
  await query('INSERT INTO employee_audit (actor, employee_no, action, via, before, after) VALUES ($1, $2, $3, $4, $5, $6)', [
    actor,
    employeeNo,
    action,
    via,
    before === null ? null : JSON.stringify(mappingOf(before)),
    after === null ? null : JSON.stringify(mappingOf(after)),
  ]);
}

interface AuditChange {
  employeeNo: string;
  action: 'create' | 'update';
  before: EmployeeRecord | null;
  after: EmployeeRecord;
}

/** One statement for many entries, inserted in the given order (ids ascend as they did row by row). */
async function auditMany(query: TxQuery, actor: string, via: string, changes: AuditChange[]): Promise<void> {
  await query(
    `INSERT INTO employee_audit (actor, employee_no, action, via, before, after)
     SELECT $1, u.employee_no, u.action, $2, u.before::jsonb, u.after::jsonb
     FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(employee_no, action, before, after, n)
     ORDER BY u.n`,
    [
      actor,
      via,
      changes.map((c) => c.employeeNo),
      changes.map((c) => c.action),
      changes.map((c) => (c.before === null ? null : JSON.stringify(mappingOf(c.before)))),
      changes.map((c) => JSON.stringify(mappingOf(c.after))),
    ],
  );
}

/** The audited part of a record: what the mapping says, not its timestamps. */
function mappingOf(record: EmployeeRecord): Pick<EmployeeRecord, 'employeeNo' | 'openid' | 'name' | 'active'> {
  return { employeeNo: record.employeeNo, openid: record.openid, name: record.name, active: record.active };
}

export interface AuditFilter {
  employeeNo: string | null;
  actor: string | null;
  from: Date | null;
  to: Date | null;
  limit: number;
  offset: number;
}

export interface AuditEntry {
  at: string;
  actor: string;
  employeeNo: string;
  action: string;
  via: string;
  before: unknown;
  after: unknown;
}

export async function listAudit(db: Db, filter: AuditFilter): Promise<{ items: AuditEntry[]; total: number }> {
  const where = `($1::text IS NULL OR employee_no = $1) AND ($2::text IS NULL OR actor = $2)
                 AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)`;
  const params = [filter.employeeNo, filter.actor, filter.from, filter.to];
  const [rows, count] = await Promise.all([
    db.rows<{ at: Date; actor: string; employee_no: string; action: string; via: string; before: unknown; after: unknown }>(
      `SELECT at, actor, employee_no, action, via, before, after FROM employee_audit WHERE ${where} ORDER BY at DESC, id DESC LIMIT $5 OFFSET $6`,
      [...params, filter.limit, filter.offset],
    ),
    db.one<{ n: string }>(`SELECT count(*) AS n FROM employee_audit WHERE ${where}`, params),
  ]);
  return {
    items: rows.map((r) => ({ at: new Date(r.at).toISOString(), actor: r.actor, employeeNo: r.employee_no, action: r.action, via: r.via, before: r.before, after: r.after })),
    total: Number(count?.n ?? 0),
  };
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

export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
