import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reaching every employee (contract §8–§10):
 * - an employee may exist before anyone knows their openid (invited, not yet bound); how the
 *   binding came about, and whether the openid stopped following the account;
 * - wechat_users: per openid, the last interaction (the 48-hour customer-service window), whether
 *   it follows the account, and its failed binding codes (the brute-force limit);
 * - invitations: single-use codes and QR scenes that let an employee bind their own WeChat;
 * - callback_events: each callback acted on once, its reply kept for WeChat's retries;
 * - messages: the template msgids sent (to match TEMPLATESENDJOBFINISH) and that report.
 */
export class SelfService1764200000000 implements MigrationInterface {
  name = 'SelfService1764200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE employees ALTER COLUMN openid DROP NOT NULL`);
    await db.query(`
      ALTER TABLE employees
        ADD COLUMN bound_via     text CHECK (bound_via IN ('admin', 'import', 'self-service')),
        ADD COLUMN unfollowed_at timestamptz`);
    // Existing bindings came through the API or an import; the latest audit entry says which.
    await db.query(`
      UPDATE employees e SET bound_via = COALESCE(
        (SELECT CASE a.via WHEN 'import' THEN 'import' ELSE 'admin' END FROM employee_audit a
          WHERE a.employee_no = e.employee_no AND a.action IN ('create', 'update') ORDER BY a.at DESC, a.id DESC LIMIT 1),
        'admin')`);
    await db.query(`ALTER TABLE employee_audit DROP CONSTRAINT employee_audit_action_check`);
    await db.query(`ALTER TABLE employee_audit ADD CONSTRAINT employee_audit_action_check
      CHECK (action IN ('create', 'update', 'delete', 'invite', 'bind', 'unbind', 'unfollow', 'refollow'))`);
    await db.query(`ALTER TABLE employee_audit DROP CONSTRAINT employee_audit_via_check`);
    await db.query(`ALTER TABLE employee_audit ADD CONSTRAINT employee_audit_via_check CHECK (via IN ('api', 'import', 'self-service'))`);

    await db.query(`
      CREATE TABLE wechat_users (
        openid                text PRIMARY KEY,
        last_interaction_at   timestamptz,
        following             boolean NOT NULL DEFAULT true,
        failed_binds          integer NOT NULL DEFAULT 0,
        failed_binds_since    timestamptz,
        updated_at            timestamptz NOT NULL DEFAULT now()
      )`);

    await db.query(`
      CREATE TABLE invitations (
        id          bigserial PRIMARY KEY,
        employee_no text NOT NULL,
        code        text NOT NULL UNIQUE,
        scene       text NOT NULL UNIQUE,
        qr_ticket   text,
        qr_url      text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        created_by  text NOT NULL,
        expires_at  timestamptz NOT NULL,
        used_at     timestamptz,
        used_by     text,
        revoked_at  timestamptz
      )`);
    await db.query(`CREATE INDEX invitations_employee_idx ON invitations (employee_no, created_at DESC)`);

    await db.query(`
      CREATE TABLE callback_events (
        dedupe_key  text PRIMARY KEY,
        received_at timestamptz NOT NULL DEFAULT now(),
        answered    boolean NOT NULL DEFAULT false,
        reply       text
      )`);
    await db.query(`CREATE INDEX callback_events_received_idx ON callback_events (received_at)`);

    await db.query(`ALTER TABLE messages ADD COLUMN template_msgids text[] NOT NULL DEFAULT '{}', ADD COLUMN delivery_report jsonb`);
    await db.query(`CREATE INDEX messages_template_msgids_idx ON messages USING gin (template_msgids)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE messages DROP COLUMN template_msgids, DROP COLUMN delivery_report`);
    await db.query(`DROP TABLE callback_events`);
    await db.query(`DROP TABLE invitations`);
    await db.query(`DROP TABLE wechat_users`);
    await db.query(`ALTER TABLE employee_audit DROP CONSTRAINT employee_audit_via_check`);
    await db.query(`ALTER TABLE employee_audit ADD CONSTRAINT employee_audit_via_check CHECK (via IN ('api', 'import'))`);
    await db.query(`ALTER TABLE employee_audit DROP CONSTRAINT employee_audit_action_check`);
    await db.query(`ALTER TABLE employee_audit ADD CONSTRAINT employee_audit_action_check CHECK (action IN ('create', 'update', 'delete'))`);
    await db.query(`ALTER TABLE employees DROP COLUMN bound_via, DROP COLUMN unfollowed_at`);
    await db.query(`DELETE FROM employees WHERE openid IS NULL`);
    await db.query(`ALTER TABLE employees ALTER COLUMN openid SET NOT NULL`);
  }
}
