import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.js';
import { createLogger } from '../../src/log.js';

// One real Postgres for the whole run: DATABASE_URL when given, else an embedded cluster in a
// temporary directory. Every test file then creates a database of its own on it.
// The built output (dist/) is compiled once first: process tests start the bridge and the CLIs the
// way `npm start` and `npm run replay` do, from dist/, never from the TypeScript sources.

const ROOT = path.resolve(import.meta.dirname, '../..');

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
  }
}

let embedded: EmbeddedServer | null = null;
let dataDir: string | null = null;

export async function setup(project: TestProject): Promise<void> {
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT });
  const external = process.env.DATABASE_URL;
  if (external) {
    project.provide('adminDatabaseUrl', external);
    return;
  }
  dataDir = await mkdtemp(path.join(tmpdir(), 'bridge-test-pg-'));
  embedded = await startEmbeddedPostgres({
    dataDir,
    port: await freePort(),
    database: 'postgres',
    log: createLogger('warn'),
    // Durability is the server's job, not what these tests check; this keeps the suite fast.
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
  project.provide('adminDatabaseUrl', embedded.url);
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
