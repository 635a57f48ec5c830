import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Administration, second edition (contract §11):
 * - erp_ack_code: what the ERP was told, kept apart from ack_code (the current outcome, which an
 *   administrator's resend changes); older rows read it from the ack they kept;
 * - GUID search by prefix in any letter case.
 */
export class AdminSecondEdition1764300000000 implements MigrationInterface {
  name = 'AdminSecondEdition1764300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE messages ADD COLUMN erp_ack_code text CHECK (erp_ack_code IN ('AA', 'AE'))`);
    await db.query(`
      UPDATE messages SET erp_ack_code = CASE WHEN ack_xml LIKE '%typeCode="AA"%' THEN 'AA' WHEN ack_xml LIKE '%typeCode="AE"%' THEN 'AE' END
      WHERE ack_xml IS NOT NULL`);
    await db.query(`CREATE INDEX messages_guid_lower_idx ON messages (lower(guid) text_pattern_ops)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX messages_guid_lower_idx`);
    await db.query(`ALTER TABLE messages DROP COLUMN erp_ack_code`);
  }
}
