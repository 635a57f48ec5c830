import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/data-source.js';
import { openTestDatabase, withClient, type TestDatabase } from '../support/database.js';

// A pooled connection whose server goes away while it is checked out but not querying (Postgres
// killed, or a DBA's pg_terminate_backend) makes the pg client emit 'error'. Neither pg-pool nor
// TypeORM listens at that moment; without a listener of ours the whole bridge crashed.

let db: TestDatabase;
let database: Database;

beforeAll(async () => {
  ({ db, database } = await openTestDatabase('client_errors', 2, { migrated: false }));
});

afterAll(async () => {
  await database?.close();
  await db?.drop();
});

it('survives a connection terminated while it is checked out and idle, and keeps answering', async () => {
  const pool = (database.dataSource.driver as unknown as { master: pg.Pool }).master;
  const client = await pool.connect();
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  // Listening for 'end' only: an 'error' listener here would hide the bug this test is about.
  const ended = new Promise<void>((resolve) => client.once('end', resolve));
  await withClient(db.url, (c) => c.query('SELECT pg_terminate_backend($1)', [pid]));
  await ended;
  await expect(client.query('SELECT 1')).rejects.toThrow();
  client.release(true);
  expect(await database.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
});
