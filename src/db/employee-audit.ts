import { EntitySchema } from 'typeorm';
import type { EmployeeAuditRow, Listed, Page } from '../types.js';
import type { Database, Tx } from './data-source.js';

// The audit trail of mapping changes: every statement on `employee_audit`. Entries are written in
// the transaction of the change they record (db/employees.ts).

export const EmployeeAuditSchema = new EntitySchema<EmployeeAuditRow>({
  name: 'EmployeeAudit',
  tableName: 'employee_audit',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment' },
    at: { type: 'timestamptz' },
    actor: { type: 'text' },
    employeeNo: { name: 'employee_no', type: 'text' },
    action: { type: 'text' },
    via: { type: 'text' },
    before: { type: 'jsonb', nullable: true },
    after: { type: 'jsonb', nullable: true },
  },
});

/** What the trail keeps of a mapping: what it says, not its timestamps. */
export interface AuditedMapping {
  employeeNo: string;
  openid: string | null;
  name: string;
  active: boolean;
}

export interface AuditChange {
  employeeNo: string;
  action: EmployeeAuditRow['action'];
  before: AuditedMapping | null;
  after: AuditedMapping | null;
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

export interface AuditFilter extends Page {
  employeeNo: string | null;
  actor: string | null;
  from: Date | null;
  to: Date | null;
}

export async function recordChange(tx: Tx, actor: string, via: EmployeeAuditRow['via'], change: AuditChange): Promise<void> {
  await recordChanges(tx, actor, via, [change]);
}

/** One statement for many entries, inserted in the given order (ids ascend as they did row by row). */
export async function recordChanges(tx: Tx, actor: string, via: EmployeeAuditRow['via'], changes: AuditChange[]): Promise<void> {
  await tx.query(
    `INSERT INTO employee_audit (actor, employee_no, action, via, before, after)
     SELECT $1, u.employee_no, u.action, $2, u.before::jsonb, u.after::jsonb
     FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(employee_no, action, before, after, n)
     ORDER BY u.n`,
    [actor, via, changes.map((c) => c.employeeNo), changes.map((c) => c.action), changes.map((c) => mappingJson(c.before)), changes.map((c) => mappingJson(c.after))],
  );
}

export async function listAudit(db: Database, filter: AuditFilter): Promise<Listed<AuditEntry>> {
  const query = db.dataSource.getRepository(EmployeeAuditSchema).createQueryBuilder('a');
  if (filter.employeeNo !== null) query.andWhere('a.employee_no = :employeeNo', { employeeNo: filter.employeeNo });
  if (filter.actor !== null) query.andWhere('a.actor = :actor', { actor: filter.actor });
  if (filter.from !== null) query.andWhere('a.at >= :from', { from: filter.from });
  if (filter.to !== null) query.andWhere('a.at < :to', { to: filter.to });
  const [rows, total] = await query.orderBy('a.at', 'DESC').addOrderBy('a.id', 'DESC').take(filter.limit).skip(filter.offset).getManyAndCount();
  return {
    items: rows.map((r) => ({ at: new Date(r.at).toISOString(), actor: r.actor, employeeNo: r.employeeNo, action: r.action, via: r.via, before: r.before, after: r.after })),
    total,
  };
}

function mappingJson(mapping: AuditedMapping | null): string | null {
  return mapping === null ? null : JSON.stringify({ employeeNo: mapping.employeeNo, openid: mapping.openid, name: mapping.name, active: mapping.active });
}
