import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { DataSource, QueryRunner } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';

// A logical backup of the bridge's tables, taken from a running database without stopping it:
// one consistent snapshot (REPEATABLE READ), every row as JSON, gzip'd, one line each. It needs
// nothing but the bridge itself (the embedded Postgres ships no pg_dump). A restore goes into an
// empty database after the migrations, so it works on a newer bridge too: columns added since
// take their defaults.

export const BACKUP_FORMAT = 'gcp-approval-bridge-backup';
/** The WeChat access token is a cached secret, fetched again on demand; the migration log is rebuilt. */
const SKIPPED_TABLES = new Set(['wechat_tokens', 'schema_migrations']);
const BATCH = 500;

interface Header {
  format: typeof BACKUP_FORMAT;
  version: 1;
  createdAt: string;
  migrations: string[];
  tables: string[];
}

type Line = Header | { table: string; row: Record<string, unknown> };

export interface BackupSummary {
  tables: Record<string, number>;
}

export async function writeBackup(dataSource: DataSource, file: string): Promise<BackupSummary> {
  const runner = dataSource.createQueryRunner();
  const gzip = createGzip();
  const written = pipeline(gzip, createWriteStream(file, { mode: 0o600 }));
  const summary: BackupSummary = { tables: {} };
  try {
    await runner.connect();
    await runner.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const tables = await userTables(runner);
    const migrations = (await runner.query('SELECT name FROM schema_migrations ORDER BY id')) as Array<{ name: string }>;
    await write(gzip, { format: BACKUP_FORMAT, version: 1, createdAt: new Date().toISOString(), migrations: migrations.map((m) => m.name), tables });
    for (const table of tables) {
      summary.tables[table] = 0;
      await runner.query(`DECLARE dump NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS row FROM ${quote(table)} t`);
      for (;;) {
        const rows = (await runner.query(`FETCH ${BATCH} FROM dump`)) as Array<{ row: string }>;
        for (const { row } of rows) await writeRaw(gzip, `{"table":${JSON.stringify(table)},"row":${row}}\n`);
        summary.tables[table] += rows.length;
        if (rows.length < BATCH) break;
      }
      await runner.query('CLOSE dump');
    }
    await runner.query('COMMIT');
  } finally {
    gzip.end();
    await written.catch(() => undefined);
    await runner.release();
  }
  await written;
  return summary;
}

/** Loads a backup into a database that has the schema (migrated) and no rows yet, in one transaction. */
export async function restoreBackup(dataSource: DataSource, file: string): Promise<BackupSummary> {
  const lines = linesOf(createReadStream(file).pipe(createGunzip()).setEncoding('utf8'));
  const runner = dataSource.createQueryRunner();
  const summary: BackupSummary = { tables: {} };
  let header: Header | null = null;
  const batch: { table: string; rows: Array<Record<string, unknown>> } = { table: '', rows: [] };
  const flush = async (): Promise<void> => {
    if (batch.rows.length === 0) return;
    await insertRows(runner, batch.table, batch.rows);
    summary.tables[batch.table] = (summary.tables[batch.table] ?? 0) + batch.rows.length;
    batch.rows = [];
  };
  try {
    await runner.connect();
    await runner.startTransaction();
    for await (const text of lines) {
      if (text.trim() === '') continue;
      const line = parseLine(text, header === null);
      if ('format' in line) {
        header = line;
        await assertRestorable(runner, header);
        continue;
      }
      if (batch.table !== line.table) {
        await flush();
        batch.table = line.table;
      }
      batch.rows.push(line.row);
      if (batch.rows.length >= BATCH) await flush();
    }
    await flush();
    if (header === null) throw new Error(`${file} is empty`);
    await resetSequences(runner);
    await runner.commitTransaction();
  } catch (err) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw err;
  } finally {
    await runner.release();
  }
  return summary;
}

function parseLine(text: string, first: boolean): Line {
  let line: Line;
  try {
    line = JSON.parse(text) as Line;
  } catch {
    throw new Error('not a bridge backup (a line is not JSON)');
  }
  if (first && !('format' in line && line.format === BACKUP_FORMAT)) throw new Error('not a bridge backup (no header line)');
  if (!first && !('table' in line)) throw new Error('not a bridge backup (a line names no table)');
  return line;
}

async function assertRestorable(runner: QueryRunner, header: Header): Promise<void> {
  const known = new Set(MIGRATIONS.map((m) => m.name));
  const newer = header.migrations.filter((name) => !known.has(name));
  if (newer.length > 0) throw new Error(`the backup comes from a newer bridge (migrations ${newer.join(', ')}); restore it with that version or later`);
  const tables = await userTables(runner);
  for (const table of header.tables) {
    if (!tables.includes(table)) throw new Error(`the backup has a table this bridge does not know: ${table}`);
  }
  for (const table of tables) {
    const [{ some }] = (await runner.query(`SELECT EXISTS (SELECT 1 FROM ${quote(table)}) AS some`)) as [{ some: boolean }];
    if (some) throw new Error(`the database is not empty (table ${table} has rows): restore into a new DATA_DIR or an empty database`);
  }
}

/** Only the columns the backup has, so columns added by later migrations take their defaults. */
async function insertRows(runner: QueryRunner, table: string, rows: Array<Record<string, unknown>>): Promise<void> {
  const columns = Object.keys(rows[0]!).map(quote).join(', ');
  await runner.query(`INSERT INTO ${quote(table)} (${columns}) SELECT ${columns} FROM json_populate_recordset(NULL::${quote(table)}, $1::json)`, [JSON.stringify(rows)]);
}

/** Serial ids were restored as they were: move each sequence past the highest one. */
async function resetSequences(runner: QueryRunner): Promise<void> {
  const serials = (await runner.query(`
    SELECT c.table_name, c.column_name, pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) AS seq
      FROM information_schema.columns c
     WHERE c.table_schema = 'public' AND pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) IS NOT NULL`)) as Array<{ table_name: string; column_name: string; seq: string }>;
  for (const s of serials) {
    await runner.query(`SELECT setval($1, COALESCE((SELECT max(${quote(s.column_name)}) FROM ${quote(s.table_name)}), 0) + 1, false)`, [s.seq]);
  }
}

async function userTables(runner: QueryRunner): Promise<string[]> {
  const rows = (await runner.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)) as Array<{ tablename: string }>;
  return rows.map((r) => r.tablename).filter((t) => !SKIPPED_TABLES.has(t));
}

const quote = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;

/** Lines of a text stream, read with the stream's own backpressure while each line is awaited. */
async function* linesOf(stream: AsyncIterable<string>): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of stream) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    yield* lines;
  }
  if (rest !== '') yield rest;
}

async function write(out: NodeJS.WritableStream, line: Line): Promise<void> {
  await writeRaw(out, `${JSON.stringify(line)}\n`);
}

async function writeRaw(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}
