import pg from 'pg';
import { DataSource, type EntityManager, type Logger as TypeormLogger, type QueryRunner } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';
import { withinMs } from '../deadline.js';
import { EmployeeAuditSchema } from './employee-audit.js';
import { EmployeeSchema } from './employees.js';
import { MessageSchema } from './messages.js';
import { WechatTokenSchema } from './wechat-tokens.js';
import { WechatUserSchema } from './wechat-users.js';
import { InvitationSchema } from './invitations.js';
import { CallbackEventSchema } from './callback-events.js';

// TypeORM's DataSource owns the connections; this is the one way to the database. The table files
// beside it (employees, employee-audit, messages, wechat-tokens) hold every statement on their
// table: repositories and the query builder where they make code shorter, SQL where it is clearer,
// through `Database.query` / `Database.transaction` below.

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

/** What the pool and the statements look like, for the metrics. */
export interface DatabaseStats {
  inUse(): number;
  waiting(): number;
  /** Statements sent (transaction control included): round trips, the cost batching saves. */
  statements(): number;
  /** Calls `listener` after each push-path statement (`named`) with its round trip, commit included. */
  onNamed(listener: NamedListener): void;
}

/** A push-path statement's name and how long its round trip took, in seconds (failed ones too). */
export type NamedListener = (name: string, seconds: number) => void;

/** Rows back, whatever the statement (TypeORM's plain result differs for UPDATE … RETURNING). */
export type Query = <T>(sql: string, params?: unknown[]) => Promise<T[]>;

export interface Tx {
  query: Query;
  manager: EntityManager;
}

export class Database {
  constructor(
    readonly dataSource: DataSource,
    readonly stats: DatabaseStats,
    private readonly direct: { pool(): pg.Pool; counted(): void; timed(name: string, seconds: number): void },
  ) {}

  /**
   * A statement of the push path, sent as a named prepared statement straight on TypeORM's pool:
   * Postgres parses and plans it once per connection instead of once per push, and no query runner
   * is made for it. `name` must be unique per SQL text.
   */
  named = async <T>(name: string, sql: string, params: unknown[]): Promise<T[]> => {
    this.direct.counted();
    const started = performance.now();
    try {
      return (await this.direct.pool().query({ name, text: sql, values: params })).rows as T[];
    } finally {
      this.direct.timed(name, (performance.now() - started) / 1000);
    }
  };

  query: Query = async <T>(sql: string, params: unknown[] = []) => {
    const runner = this.dataSource.createQueryRunner();
    try {
      return await rowsOf<T>(runner, sql, params);
    } finally {
      await runner.release();
    }
  };

  /** `work` in one transaction on one connection, committed when it returns, rolled back when it throws. */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.dataSource.transaction((manager) => work({ manager, query: (sql, params = []) => rowsOf(manager.queryRunner!, sql, params) }));
  }

  /** Postgres answers within `timeoutMs`. */
  async ping(timeoutMs: number): Promise<boolean> {
    const ping = this.query('SELECT 1').then(
      () => true,
      () => false,
    );
    return withinMs(ping, timeoutMs, false);
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

async function rowsOf<T>(runner: QueryRunner, sql: string, params: unknown[]): Promise<T[]> {
  return (await runner.query(sql, params, true)).records as T[];
}

export function createDatabase({ url, poolSize }: PoolOptions): Database {
  const pools: pg.Pool[] = [];
  const namedListeners: NamedListener[] = [];
  let statements = 0;
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    poolSize,
    // The pg module, with a Pool that lets us see it: the pool gauges read pg-pool's public counters.
    driver: Object.create(pg, { Pool: { value: observedPool(pools) } }) as typeof pg,
    entities: [EmployeeSchema, EmployeeAuditSchema, MessageSchema, WechatTokenSchema, WechatUserSchema, InvitationSchema, CallbackEventSchema],
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logger: countingLogger(() => statements++),
    extra: POOL_SETTINGS,
  });
  return new Database(
    dataSource,
    {
      inUse: () => pools.reduce((n, p) => n + p.totalCount - p.idleCount, 0),
      waiting: () => pools.reduce((n, p) => n + p.waitingCount, 0),
      statements: () => statements,
      onNamed: (listener) => namedListeners.push(listener),
    },
    {
      pool: () => poolOf(dataSource),
      counted: () => statements++,
      timed: (name, seconds) => {
        for (const listener of namedListeners) listener(name, seconds);
      },
    },
  );
}

/** The pool TypeORM's Postgres driver made at initialize (`master`; we configure no replicas). */
function poolOf(dataSource: DataSource): pg.Pool {
  const pool = (dataSource.driver as unknown as { master?: pg.Pool }).master;
  if (!pool) throw new Error('the database is not initialized');
  return pool;
}

/**
 * A pg client emits 'error' when its server goes away while nobody is querying on it (Postgres
 * killed: "terminating connection due to unexpected postmaster exit"). pg-pool listens only while
 * the client is idle in the pool, TypeORM only while a query runner holds it; an error between the
 * two had no listener and crashed the process (seen once in ~18 test runs, Postgres killed under
 * load). Every client gets a listener for its whole life; whoever uses it next still gets the
 * error from its query.
 */
function observedPool(pools: pg.Pool[]): typeof pg.Pool {
  return class ObservedPool extends pg.Pool {
    constructor(options?: pg.PoolConfig) {
      super(options);
      pools.push(this);
      this.on('connect', (client) => client.on('error', ignoreClientError));
    }
  };
}

function ignoreClientError(): void {
  // See observedPool: the pool and the query in progress handle the error; this only keeps it from being uncaught.
}

/** TypeORM reports every statement to its logger; we count them and log nothing (pino logs ours). */
function countingLogger(count: () => void): TypeormLogger {
  return {
    logQuery: count,
    logQueryError: () => undefined,
    logQuerySlow: () => undefined,
    logSchemaBuild: () => undefined,
    logMigration: () => undefined,
    log: () => undefined,
  };
}
