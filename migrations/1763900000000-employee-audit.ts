import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Who changed which employee ↔ openid mapping, when, from what to what. */
export class EmployeeAudit1763900000000 implements MigrationInterface {
  name = 'EmployeeAudit1763900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE employee_audit (
        id          bigserial PRIMARY KEY,
        at          timestamptz NOT NULL DEFAULT now(),
        actor       text NOT NULL,
        employee_no text NOT NULL,
        action      text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
        via         text NOT NULL DEFAULT 'api' CHECK (via IN ('api', 'import')),
        before      jsonb,
        after       jsonb
      )`);
    await db.query(`CREATE INDEX employee_audit_employee_idx ON employee_audit (employee_no, at DESC)`);
    await db.query(`CREATE INDEX employee_audit_at_idx ON employee_audit (at DESC)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE employee_audit');
  }
}
