import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { withinMs } from '../deadline.js';
import type { PostgresBinaries } from './postgres-binaries.js';
import type { RunAs } from './postgres-user.js';

// One Postgres server process: initdb once, start, stop. Messages are read in English (lc_messages=C)
// because start-up waits for the "ready" line; no Unix socket is made (TCP on 127.0.0.1 only), so
// nothing is left in /tmp.

const READY = 'database system is ready to accept connections';
const START_TIMEOUT_MS = 60_000;
/** SIGINT is Postgres' fast shutdown (committed data kept); SIGQUIT and SIGKILL only if it hangs. */
const STOP_STEPS: Array<[NodeJS.Signals, number]> = [
  ['SIGINT', 30_000],
  ['SIGQUIT', 5_000],
  ['SIGKILL', 5_000],
];
const ENV = { ...process.env, LC_ALL: 'C', LANG: 'C' };

/** The last lines Postgres wrote, for error messages that say why it stopped. */
class LastWords {
  private readonly lines: string[] = [];
  add(chunk: Buffer): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      this.lines.push(line.trim());
      if (this.lines.length > 20) this.lines.shift();
    }
  }
  text(n = 5): string {
    return this.lines.slice(-n).join(' | ');
  }
}

const PW_PREFIX = '.pg-init-';

/**
 * initdb with the superuser password in a file next to the cluster, readable by Postgres' user
 * only, removed afterwards (and at the next start if we were killed in between).
 */
export async function initCluster(binaries: PostgresBinaries, clusterDir: string, password: string, runAs: RunAs): Promise<void> {
  const parent = path.dirname(clusterDir);
  await removeStalePasswordFiles(parent);
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  const pwFile = path.join(parent, `${PW_PREFIX}${randomBytes(6).toString('hex')}`);
  await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
  try {
    if (runAs.uid !== undefined) {
      await chown(pwFile, runAs.uid, runAs.gid!);
      await chown(clusterDir, runAs.uid, runAs.gid!);
    }
    const args = [`--pgdata=${clusterDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwFile}`, '--no-locale', '--encoding=UTF8'];
    const child = spawn(binaries.initdb, args, { ...credentials(runAs), env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    const words = new LastWords();
    child.on('error', (err) => words.add(Buffer.from(`${binaries.initdb}: ${err.message}`)));
    child.stdout!.on('data', (c: Buffer) => words.add(c));
    child.stderr!.on('data', (c: Buffer) => words.add(c));
    const code = await exited(child);
    if (code !== 0) {
      await rm(clusterDir, { recursive: true, force: true });
      throw new Error(`initdb failed (exit ${code}): ${words.text()}`);
    }
  } finally {
    await rm(pwFile, { force: true });
  }
}

async function removeStalePasswordFiles(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => []);
  await Promise.all(names.filter((n) => n.startsWith(PW_PREFIX)).map((n) => rm(path.join(dir, n), { force: true })));
}

export interface ServerOptions {
  binaries: PostgresBinaries;
  clusterDir: string;
  port: number;
  runAs: RunAs;
  settings: Record<string, string>;
}

export class PostgresServer {
  private child: ChildProcess | null = null;
  private stopping = false;
  private readonly words = new LastWords();
  /** Called when Postgres exits without being asked to. */
  onUnexpectedExit: (why: string) => void = () => undefined;
  private readonly killOnExit = (): void => {
    // Our process is ending (a crash, process.exit): ask Postgres to shut down rather than orphan it.
    this.child?.kill('SIGINT');
  };

  constructor(private readonly options: ServerOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  lastWords(): string {
    return this.words.text();
  }

  async start(): Promise<void> {
    const { binaries, clusterDir, port, runAs, settings } = this.options;
    const flags = { listen_addresses: '127.0.0.1', unix_socket_directories: '', max_connections: '300', lc_messages: 'C', ...settings };
    const args = ['-D', clusterDir, '-p', String(port), ...Object.entries(flags).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    const child = spawn(binaries.postgres, args, { ...credentials(runAs), env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.stopping = false;
    process.on('exit', this.killOnExit);
    let onReady: (() => void) | null = null;
    let tail = ''; // output of this start only, enough to hold the ready line across chunk borders
    // Postgres logs to stderr for as long as it runs: keep reading, or it blocks on a full pipe.
    const listen = (c: Buffer): void => {
      this.words.add(c);
      if (onReady === null) return;
      // Look before trimming: the ready line may be followed by more output in the same chunk.
      const seen = tail + c.toString('utf8');
      if (seen.includes(READY)) onReady();
      tail = seen.slice(-READY.length);
    };
    child.on('error', (err) => this.words.add(Buffer.from(`${binaries.postgres}: ${err.message}`)));
    child.stdout!.on('data', listen);
    child.stderr!.on('data', listen);
    const exit = exited(child);
    let wasReady = false;
    void exit.then((code) => {
      process.removeListener('exit', this.killOnExit);
      if (this.child === child) this.child = null;
      // A start that fails is reported by start() itself, to whoever called it.
      if (wasReady && !this.stopping) this.onUnexpectedExit(`exit ${code}: ${this.words.text()}`);
    });
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    const outcome = await withinMs(Promise.race([ready.then(() => 'ready' as const), exit.then(() => 'exited' as const)]), START_TIMEOUT_MS, 'timeout' as const);
    onReady = null;
    wasReady = outcome === 'ready';
    if (wasReady) return;
    if (outcome === 'timeout') await this.stop();
    throw new Error(`embedded Postgres did not start on port ${port} (EMBEDDED_PG_PORT): ${this.words.text()}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    this.stopping = true;
    const exit = exited(child);
    for (const [signal, waitMs] of STOP_STEPS) {
      child.kill(signal);
      if (await withinMs(exit.then(() => true), waitMs, false)) return;
    }
  }
}

function credentials(runAs: RunAs): { uid?: number; gid?: number } {
  return runAs.uid === undefined ? {} : { uid: runAs.uid, gid: runAs.gid! };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
}
