import type pg from 'pg';
import { DataSource, type QueryRunner } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';

// TypeORM owns the connection pool and the migrations; queries are plain SQL, written where they run.

export interface PoolOptions {
  url: string;
  poolSize: number;
}

const POOL_SETTINGS = {
  // A stopped Postgres refuses at once; this bounds a black-holed one. It also covers the wait
  // for a free pool connection and the connect handshake, which a busy event loop slows: at 1.5 s,
  // 400 simultaneous 1 MB pushes made 35 healthy connects time out.
  connectionTimeoutMillis: 5000,
  idleTimeoutMillis: 30000,
  statement_timeout: 10000,
  query_timeout: 12000,
  application_name: 'gcp-approval-bridge',
  keepAlive: true,
};

export function createDataSource({ url, poolSize }: PoolOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    poolSize,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    extra: POOL_SETTINGS,
  });
}

/** Thin SQL helper over the TypeORM pool: rows back, connection released at once. */
export class Db {
  constructor(readonly dataSource: DataSource) {}

  async rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const runner = this.dataSource.createQueryRunner();
    try {
      return (await runner.query(sql, params, true)).records as T[];
    } finally {
      await runner.release();
    }
  }

  async one<T>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    return (await this.rows<T>(sql, params))[0];
  }

  /**
   * For the statements every push runs: a named prepared statement straight on the pg pool, so
   * Postgres plans it once per connection and no TypeORM query runner is built per call.
   */
  async prepared<T>(name: string, sql: string, params: unknown[]): Promise<T[]> {
    const pool = (this.dataSource.driver as unknown as { master: pg.Pool }).master;
    return (await pool.query<T & pg.QueryResultRow>({ name, text: sql, values: params })).rows;
  }

  async close(): Promise<void> {
    await this.dataSource.destroy().catch(() => undefined);
  }

  /** Runs `work` in one transaction on one connection; `query` answers rows like `rows`. */
  async transaction<T>(work: (query: TxQuery) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction();
      try {
        const result = await work((sql, params = []) => txRows(runner, sql, params));
        await runner.commitTransaction();
        return result;
      } catch (err) {
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        throw err;
      }
    } finally {
      await runner.release();
    }
  }

  async ping(timeoutMs: number): Promise<boolean> {
    const timeout = new Promise<boolean>((resolve) => setTimeout(resolve, timeoutMs, false).unref());
    const ping = this.rows('SELECT 1').then(
      () => true,
      () => false,
    );
    return Promise.race([ping, timeout]);
  }
}

export type TxQuery = <T>(sql: string, params?: unknown[]) => Promise<T[]>;

async function txRows<T>(runner: QueryRunner, sql: string, params: unknown[]): Promise<T[]> {
  return (await runner.query(sql, params, true)).records as T[];
}
