import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { createDatabase } from '../db/data-source.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import type { Logger } from '../log.js';
import type { DataSource } from 'typeorm';

// The database a maintenance command (backup, restore) works on: DATABASE_URL, else the embedded
// cluster under DATA_DIR — the running bridge's server when it runs, else one started for the
// command and stopped after it.

export interface Target {
  dataSource: DataSource;
  /** Whether the embedded cluster was already serving a bridge. */
  live: boolean;
  close(): Promise<void>;
}

export async function openTarget(config: Config, log: Logger): Promise<Target> {
  if (config.databaseUrl !== null) return open(config.databaseUrl, true, async () => undefined);
  const port = await runningPort(config.dataDir);
  if (port !== null) {
    const password = (await readFile(path.join(config.dataDir, 'postgres.password'), 'utf8')).trim();
    return open(`postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/bridge`, true, async () => undefined);
  }
  const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, database: 'bridge', log });
  return open(embedded.url, false, () => embedded.stop());
}

async function open(url: string, live: boolean, after: () => Promise<void>): Promise<Target> {
  const { dataSource } = createDatabase({ url, poolSize: 2 });
  try {
    await dataSource.initialize();
  } catch (err) {
    await after();
    throw err;
  }
  return {
    dataSource,
    live,
    close: async () => {
      await dataSource.destroy();
      await after();
    },
  };
}

/** The port in postmaster.pid (its 4th line) while that postmaster is alive. */
async function runningPort(dataDir: string): Promise<number | null> {
  const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  try {
    process.kill(pid, 0);
  } catch {
    return null;
  }
  const port = Number(lines[3]);
  return Number.isInteger(port) && port > 0 ? port : null;
}
