import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createDatabase, type Database } from '../../src/db/data-source.js';
import { createLogger } from '../../src/log.js';
import { migrate } from '../../src/db/migrate.js';

// A database of its own for each test file, on the run's Postgres, dropped at the end.

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `t_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`)).then(() => undefined),
  };
}

/** A test database with the bridge's own Database (pool, TypeORM) on it, migrated unless `migrated` is false. */
export async function openTestDatabase(label: string, poolSize: number, { migrated = true } = {}): Promise<{ db: TestDatabase; database: Database }> {
  const db = await createTestDatabase(label);
  const database = createDatabase({ url: db.url, poolSize });
  await database.dataSource.initialize();
  if (migrated) await migrate(database.dataSource, createLogger('silent'));
  return { db, database };
}

export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  // Tests kill Postgres: a client between its query and end() must not turn that into an uncaught error.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
