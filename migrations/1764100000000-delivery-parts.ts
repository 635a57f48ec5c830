import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * - claim_token: one per claim, so an outcome written twice (a retry after a lost answer from
 *   Postgres) or late (after another push re-claimed the GUID) applies at most once, to its own claim.
 * - accepted_parts: the parts of the text WeChat accepted (1-based), so a re-push or resend sends
 *   only the rest.
 * - parts_total / shortened: how many parts the whole text needed, and whether it was cut to
 *   WECHAT_MAX_PARTS.
 */
export class DeliveryParts1764100000000 implements MigrationInterface {
  name = 'DeliveryParts1764100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE messages
        ADD COLUMN claim_token    uuid,
        ADD COLUMN accepted_parts integer[] NOT NULL DEFAULT '{}',
        ADD COLUMN parts_total    integer,
        ADD COLUMN shortened      boolean NOT NULL DEFAULT false`);
    // Messages delivered before this migration had every part accepted.
    await db.query(`
      UPDATE messages SET accepted_parts = ARRAY(SELECT generate_series(1, jsonb_array_length(texts)))
       WHERE status = 'delivered'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE messages DROP COLUMN claim_token, DROP COLUMN accepted_parts, DROP COLUMN parts_total, DROP COLUMN shortened`);
  }
}
