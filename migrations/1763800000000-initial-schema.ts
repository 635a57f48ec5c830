import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1763800000000 implements MigrationInterface {
  name = 'InitialSchema1763800000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE employees (
        employee_no text PRIMARY KEY CHECK (employee_no <> '' AND length(employee_no) <= 64),
        openid      text NOT NULL CHECK (openid ~ '^[A-Za-z0-9_-]{6,64}$'),
        name        text NOT NULL DEFAULT '',
        active      boolean NOT NULL DEFAULT true,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX employees_openid_idx ON employees (openid)`);

    // One row per GUID that reached processing; pushes that never owned a GUID (unreadable,
    // conflicting content) are kept too, as 'rejected' rows outside the uniqueness rule.
    await db.query(`
      CREATE TABLE messages (
        id             bigserial PRIMARY KEY,
        guid           text,
        status         text NOT NULL CHECK (status IN ('processing', 'delivered', 'sandbox', 'failed', 'unknown', 'rejected')),
        received_at    timestamptz NOT NULL DEFAULT now(),
        updated_at     timestamptz NOT NULL DEFAULT now(),
        finished_at    timestamptz,
        delivered_at   timestamptz,
        envelope       text NOT NULL,
        action         text,
        sender_id      text NOT NULL DEFAULT '',
        receiver_id    text NOT NULL DEFAULT '',
        employee_no    text,
        content_type   text,
        payload        text NOT NULL,
        approval       jsonb,
        fingerprint    text,
        openid_masked  text,
        ack_code       text CHECK (ack_code IN ('AA', 'AE')),
        reason         text,
        ack_xml        text,
        texts          jsonb NOT NULL DEFAULT '[]',
        wechat_errcode integer,
        wechat_errmsg  text,
        attempts       jsonb NOT NULL DEFAULT '[]',
        push_count     integer NOT NULL DEFAULT 1,
        last_push_at   timestamptz NOT NULL DEFAULT now(),
        lease_until    timestamptz
      )`);
    await db.query(`CREATE UNIQUE INDEX messages_guid_key ON messages (guid) WHERE status <> 'rejected'`);
    await db.query(`CREATE INDEX messages_guid_any_idx ON messages (guid)`);
    await db.query(`CREATE INDEX messages_received_at_idx ON messages (received_at DESC)`);
    await db.query(`CREATE INDEX messages_employee_idx ON messages (employee_no, received_at DESC)`);
    await db.query(`CREATE INDEX messages_open_idx ON messages (lease_until) WHERE status = 'processing'`);

    // The access token every replica shares (contract §5); one row per account and token API.
    await db.query(`
      CREATE TABLE wechat_tokens (
        app_id       text NOT NULL,
        api          text NOT NULL CHECK (api IN ('stable', 'classic')),
        access_token text NOT NULL,
        expires_at   timestamptz NOT NULL,
        fetched_at   timestamptz NOT NULL,
        fetched_by   text NOT NULL,
        fetch_count  bigint NOT NULL DEFAULT 1,
        PRIMARY KEY (app_id, api)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE wechat_tokens');
    await db.query('DROP TABLE messages');
    await db.query('DROP TABLE employees');
  }
}
