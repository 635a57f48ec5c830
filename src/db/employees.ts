import { EntitySchema } from 'typeorm';
import { maskOpenid } from '../log.js';
import type { BindingStatus, BoundVia, EmployeeRecord, EmployeeRow, Listed, MappingInput, Page, WriteResult } from '../types.js';
import type { Database, Tx } from './data-source.js';
import { recordChange, recordChanges, type AuditChange, type AuditedMapping } from './employee-audit.js';
import { latestOpenInvitationSql, revokeInvitations } from './invitations.js';
import { lastInteractionSql } from './wechat-users.js';
import { withinWindow } from '../wechat/window.js';

// The employee ↔ openid mappings: every statement on `employees`. A change is written together with
// its audit entry in one transaction; a write that changes nothing leaves no trace. An employee may
// be known before their openid is (invited, not yet bound).

export const EmployeeSchema = new EntitySchema<EmployeeRow>({
  name: 'Employee',
  tableName: 'employees',
  columns: {
    employeeNo: { name: 'employee_no', type: 'text', primary: true },
    openid: { type: 'text', nullable: true },
    name: { type: 'text' },
    active: { type: 'boolean' },
    createdAt: { name: 'created_at', type: 'timestamptz' },
    updatedAt: { name: 'updated_at', type: 'timestamptz' },
    boundVia: { name: 'bound_via', type: 'text', nullable: true },
    unfollowedAt: { name: 'unfollowed_at', type: 'timestamptz', nullable: true },
  },
});

/** The look-up step of the push path, for the claim to carry in its own round trip (db/messages.ts). */
export function openidOfEmployeeSql(employeeNoParam: string): string {
  return `(SELECT e.openid FROM employees e WHERE e.employee_no = ${employeeNoParam} AND e.active)`;
}

/** For a statement on messages: the employee numbers whose name matches a LIKE pattern. */
export function employeeNosNamedSql(patternParam: string): string {
  return `(SELECT e.employee_no FROM employees e WHERE e.name ILIKE ${patternParam})`;
}

/** Names of the given employees, for lists of messages. */
export async function namesOf(db: Database, employeeNos: string[]): Promise<Map<string, string>> {
  if (employeeNos.length === 0) return new Map();
  const rows = await db.query<{ employee_no: string; name: string }>('SELECT employee_no, name FROM employees WHERE employee_no = ANY($1::text[])', [employeeNos]);
  return new Map(rows.map((r) => [r.employee_no, r.name]));
}

/** unbound / invited / bound / unfollowed, for the row aliased `e`. */
const BINDING = `CASE WHEN e.openid IS NULL THEN (CASE WHEN inv.code IS NOT NULL THEN 'invited' ELSE 'unbound' END)
                      WHEN e.unfollowed_at IS NOT NULL THEN 'unfollowed' ELSE 'bound' END`;
/** An employee as the admin API shows it: binding, last interaction, the open invitation. */
const RECORD_FROM = `employees e ${latestOpenInvitationSql('e.employee_no')}`;
const RECORD_COLUMNS = `e.*, ${BINDING} AS binding, ${lastInteractionSql('e.openid')} AS last_interaction_at,
                        inv.code AS invitation_code, inv.expires_at AS invitation_expires_at`;

export interface EmployeeFilter extends Page {
  q: string | null;
  active: boolean | null;
  binding: BindingStatus | null;
  /** Default: most recently updated first. */
  sort?: EmployeeSort;
}

export interface EmployeeSort {
  by: 'employeeNo' | 'name' | 'updatedAt';
  order: 'asc' | 'desc';
}

const SORT_COLUMNS: Record<EmployeeSort['by'], string> = { employeeNo: 'e.employee_no', name: 'e.name', updatedAt: 'e.updated_at' };

/** The ORDER BY of a list: the chosen column, then the employee number so pages never overlap. */
function orderBy(sort: EmployeeSort | undefined): string {
  const { by, order } = sort ?? { by: 'updatedAt', order: 'desc' };
  const direction = order === 'asc' ? 'ASC' : 'DESC';
  return by === 'employeeNo' ? `e.employee_no ${direction}` : `${SORT_COLUMNS[by]} ${direction}, e.employee_no`;
}

export async function listEmployees(db: Database, filter: EmployeeFilter): Promise<Listed<EmployeeRecord>> {
  const { where, params } = whereOf(filter);
  const [rows, [count]] = await Promise.all([
    db.query<RawRecord>(`SELECT ${RECORD_COLUMNS} FROM ${RECORD_FROM} WHERE ${where} ORDER BY ${orderBy(filter.sort)} LIMIT $4 OFFSET $5`, [...params, filter.limit, filter.offset]),
    db.query<{ n: string }>(`SELECT count(*) AS n FROM ${RECORD_FROM} WHERE ${where}`, params),
  ]);
  return { items: rows.map(toRecord), total: Number(count?.n ?? 0) };
}

export async function getEmployee(db: Database, employeeNo: string): Promise<EmployeeRecord | null> {
  const [row] = await db.query<RawRecord>(`SELECT ${RECORD_COLUMNS} FROM ${RECORD_FROM} WHERE e.employee_no = $1`, [employeeNo]);
  return row ? toRecord(row) : null;
}

function whereOf(filter: Pick<EmployeeFilter, 'q' | 'active' | 'binding'>): { where: string; params: unknown[] } {
  return {
    where: `($1::text IS NULL OR e.employee_no ILIKE $1 OR e.name ILIKE $1 OR e.openid ILIKE $1)
            AND ($2::boolean IS NULL OR e.active = $2) AND ($3::text IS NULL OR ${BINDING} = $3)`,
    params: [filter.q === null ? null : `%${escapeLike(filter.q)}%`, filter.active, filter.binding],
  };
}

/** Every employee matching the filter (all of them without one), by employee number: the export. */
export async function allEmployees(db: Database, filter: Pick<EmployeeFilter, 'q' | 'active' | 'binding'> = { q: null, active: null, binding: null }): Promise<EmployeeRecord[]> {
  const { where, params } = whereOf(filter);
  return (await db.query<RawRecord>(`SELECT ${RECORD_COLUMNS} FROM ${RECORD_FROM} WHERE ${where} ORDER BY e.employee_no`, params)).map(toRecord);
}

export async function putEmployee(db: Database, input: MappingInput, actor: string): Promise<{ result: WriteResult; record: EmployeeRecord }> {
  const result = await db.transaction(async (tx) => (await writeBatch(tx, [input], actor, 'api'))[0]!);
  return { result, record: (await getEmployee(db, input.employeeNo))! };
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
    for (const batch of batchesOf(inputs, WRITE_BATCH)) results.push(...(await writeBatch(tx, batch, actor, 'import')));
    return results;
  });
}

/** What an import would do, without writing. */
export async function previewEmployees(db: Database, inputs: MappingInput[]): Promise<WriteResult[]> {
  const results: WriteResult[] = [];
  for (const batch of batchesOf(inputs, PREVIEW_BATCH)) {
    const existing = await db.query<RawEmployee>('SELECT * FROM employees WHERE employee_no = ANY($1::text[])', [batch.map((i) => i.employeeNo)]);
    const byNo = new Map(existing.map((row) => [row.employee_no, fromRaw(row)]));
    for (const input of batch) results.push(resultOf(byNo.get(input.employeeNo), input));
  }
  return results;
}

export async function deleteEmployee(db: Database, employeeNo: string, actor: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [deleted] = await tx.query<RawEmployee>('DELETE FROM employees WHERE employee_no = $1 RETURNING *', [employeeNo]);
    if (!deleted) return false;
    await revokeInvitations(tx, employeeNo);
    await recordChange(tx, actor, 'api', { employeeNo, action: 'delete', before: audited(fromRaw(deleted)), after: null });
    return true;
  });
}

/** For an invitation: the employee, created (not yet bound) when absent; a given name is kept. */
export async function ensureEmployee(tx: Tx, employeeNo: string, name: string | null, actor: string): Promise<void> {
  const [created] = await tx.query<RawEmployee>(
    `INSERT INTO employees (employee_no, openid, name) VALUES ($1, NULL, COALESCE($2, '')) ON CONFLICT (employee_no) DO NOTHING RETURNING *`,
    [employeeNo, name],
  );
  if (created) {
    await recordChange(tx, actor, 'api', { employeeNo, action: 'create', before: null, after: audited(fromRaw(created)) });
  } else if (name !== null) {
    await tx.query(`UPDATE employees SET name = $2, updated_at = now() WHERE employee_no = $1 AND name <> $2`, [employeeNo, name]);
  }
}

/** Self-service binding (§9): the openid replaces an earlier one, and the employee counts as following. */
export async function bindSelf(tx: Tx, employeeNo: string, openid: string): Promise<EmployeeRow | null> {
  const [before] = await lockRows(tx, [employeeNo]);
  if (!before) return null;
  const [after] = await tx.query<RawEmployee>(
    `UPDATE employees SET openid = $2, bound_via = 'self-service', unfollowed_at = NULL, updated_at = now() WHERE employee_no = $1 RETURNING *`,
    [employeeNo, openid],
  );
  const row = fromRaw(after!);
  await recordChange(tx, 'self-service', 'self-service', { employeeNo, action: 'bind', before: audited(before), after: audited(row) });
  return row;
}

/** `解绑`: the openid leaves every mapping it was bound to. */
export async function unbindOpenid(tx: Tx, openid: string): Promise<EmployeeRow[]> {
  const before = (await tx.query<RawEmployee>('SELECT * FROM employees WHERE openid = $1 FOR UPDATE', [openid])).map(fromRaw);
  if (before.length === 0) return [];
  const after = (await tx.query<RawEmployee>(`UPDATE employees SET openid = NULL, bound_via = NULL, unfollowed_at = NULL, updated_at = now() WHERE openid = $1 RETURNING *`, [openid])).map(fromRaw);
  const byNo = new Map(after.map((r) => [r.employeeNo, r]));
  await recordChanges(
    tx,
    'self-service',
    'self-service',
    before.map((b) => ({ employeeNo: b.employeeNo, action: 'unbind', before: audited(b), after: audited(byNo.get(b.employeeNo)!) })),
  );
  return before;
}

/** `unsubscribe` / a later `subscribe` of the same openid: the mapping is kept, its state follows. */
export async function setUnfollowed(tx: Tx, openid: string, unfollowed: boolean): Promise<EmployeeRow[]> {
  const changed = (
    await tx.query<RawEmployee>(
      `UPDATE employees SET unfollowed_at = CASE WHEN $2 THEN now() END, updated_at = now()
       WHERE openid = $1 AND (unfollowed_at IS NULL) = $2 RETURNING *`,
      [openid, unfollowed],
    )
  ).map(fromRaw);
  const action = unfollowed ? 'unfollow' : 'refollow';
  await recordChanges(
    tx,
    'self-service',
    'self-service',
    changed.map((row) => ({ employeeNo: row.employeeNo, action, before: null, after: audited(row) })),
  );
  return changed;
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

async function writeBatch(tx: Tx, batch: MappingInput[], actor: string, via: 'api' | 'import'): Promise<WriteResult[]> {
  const before = new Map((await lockRows(tx, batch.map((i) => i.employeeNo))).map((row) => [row.employeeNo, row]));
  const results = batch.map((input) => resultOf(before.get(input.employeeNo), input));
  const changed = batch.filter((_, i) => results[i] !== 'unchanged');
  if (changed.length === 0) return results;
  const boundVia: BoundVia = via === 'api' ? 'admin' : 'import';
  // A null name or an absent openid keeps the stored value; the rows are locked, so what was read is current.
  const rows = changed.map((i) => {
    const old = before.get(i.employeeNo);
    const openid = i.openid === undefined ? (old?.openid ?? null) : i.openid;
    const sameOpenid = old !== undefined && old.openid === openid;
    return { ...i, openid, name: i.name ?? old?.name ?? '', boundVia: openid === null ? null : sameOpenid ? (old.boundVia ?? boundVia) : boundVia };
  });
  const after = new Map((await upsert(tx, rows)).map((row) => [row.employeeNo, row]));
  const changes: AuditChange[] = changed.map((i) => {
    const old = before.get(i.employeeNo);
    return { employeeNo: i.employeeNo, action: old ? 'update' : 'create', before: old ? audited(old) : null, after: audited(after.get(i.employeeNo)!) };
  });
  await recordChanges(tx, actor, via, changes);
  return results;
}

async function lockRows(tx: Tx, employeeNos: string[]): Promise<EmployeeRow[]> {
  return (await tx.query<RawEmployee>('SELECT * FROM employees WHERE employee_no = ANY($1::text[]) FOR UPDATE', [employeeNos])).map(fromRaw);
}

async function upsert(tx: Tx, rows: Array<{ employeeNo: string; openid: string | null; name: string; active: boolean; boundVia: BoundVia | null }>): Promise<EmployeeRow[]> {
  const written = await tx.query<RawEmployee>(
    `INSERT INTO employees (employee_no, openid, name, active, bound_via)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::text[])
     ON CONFLICT (employee_no) DO UPDATE SET openid = EXCLUDED.openid, name = EXCLUDED.name, active = EXCLUDED.active,
       bound_via = EXCLUDED.bound_via, unfollowed_at = CASE WHEN employees.openid IS DISTINCT FROM EXCLUDED.openid THEN NULL ELSE employees.unfollowed_at END,
       updated_at = now()
     RETURNING *`,
    [rows.map((r) => r.employeeNo), rows.map((r) => r.openid), rows.map((r) => r.name), rows.map((r) => r.active), rows.map((r) => r.boundVia)],
  );
  return written.map(fromRaw);
}

function resultOf(before: EmployeeRow | undefined, input: MappingInput): WriteResult {
  if (!before) return 'created';
  return sameMapping(before, input) ? 'unchanged' : 'updated';
}

function sameMapping(row: EmployeeRow, input: MappingInput): boolean {
  return (input.openid === undefined || row.openid === input.openid) && row.active === input.active && (input.name === null || row.name === input.name);
}

/** What the audit trail keeps of a mapping: what it says, not its timestamps. */
function audited(row: EmployeeRow): AuditedMapping {
  return { employeeNo: row.employeeNo, openid: row.openid, name: row.name, active: row.active };
}

/** Rows as SQL returns them (column names). */
interface RawEmployee {
  employee_no: string;
  openid: string | null;
  name: string;
  active: boolean;
  created_at: Date;
  updated_at: Date;
  bound_via: BoundVia | null;
  unfollowed_at: Date | null;
}

interface RawRecord extends RawEmployee {
  binding: BindingStatus;
  last_interaction_at: Date | null;
  invitation_code: string | null;
  invitation_expires_at: Date | null;
}

function fromRaw(row: RawEmployee): EmployeeRow {
  return {
    employeeNo: row.employee_no,
    openid: row.openid,
    name: row.name,
    active: row.active,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    boundVia: row.bound_via,
    unfollowedAt: row.unfollowed_at,
  };
}

function toRecord(row: RawRecord): EmployeeRecord {
  return {
    employeeNo: row.employee_no,
    openid: row.openid,
    name: row.name,
    active: row.active,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    binding: row.binding,
    boundVia: row.bound_via,
    lastInteractionAt: row.last_interaction_at ? new Date(row.last_interaction_at).toISOString() : null,
    windowOpen: withinWindow(row.last_interaction_at, Date.now()),
    invitation: row.invitation_code === null ? null : { code: row.invitation_code, expiresAt: new Date(row.invitation_expires_at!).toISOString() },
  };
}

/** For logs: which employees an openid touched, without the openid. */
export function describeRows(rows: EmployeeRow[]): Array<{ employeeNo: string; openid: string }> {
  return rows.map((r) => ({ employeeNo: r.employeeNo, openid: maskOpenid(r.openid) }));
}

export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
