import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Which bridge (host:port) holds a message's claim, so a restarted bridge can release its own at once. */
export class MessageClaimant1764000000000 implements MigrationInterface {
  name = 'MessageClaimant1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE messages ADD COLUMN claimed_by text`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE messages DROP COLUMN claimed_by`);
  }
}
