import type { DataSource } from 'typeorm';
import type { Logger } from '../log.js';

// Several replicas may start at once: one applies the migrations while the others wait on a
// session advisory lock, then find nothing left to do.

const MIGRATION_LOCK = 0x67637062; // "gcpb"

export async function migrate(dataSource: DataSource, log: Logger): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      const names = applied.map((m) => m.name);
      if (names.length > 0) log.info({ migrations: names }, 'database migrated');
      return names;
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await runner.release();
  }
}
