import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { ENTRY, startFlags } from './start-command.js';

// The bridge as its own process, started the way `npm start` starts it (the built dist/src/main.js,
// compiled by the test run's global setup), for tests that kill, signal or multiply it.

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface BridgeProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** What went to stderr only: the human-readable lines. */
  errors(): string;
  exited: Promise<number | null>;
  /** Resolves when /healthz answers; rejects with the process output if it never does. */
  healthy(): Promise<void>;
}

export interface SpawnOptions {
  /** `npm`: through `npm start`, as an operator or a process manager runs it. Default: node directly. */
  via?: 'node' | 'npm';
  /** Another checkout of the built bridge (see staging in embedded-users.test.ts). */
  cwd?: string;
  uid?: number;
  gid?: number;
  /** A process group of its own, to signal it whole as systemd and a terminal's Ctrl-C do. */
  detached?: boolean;
}

export function spawnBridge(env: NodeJS.ProcessEnv, options: SpawnOptions = {}): BridgeProcess {
  const [command, args] = options.via === 'npm' ? ['npm', ['start', '--silent']] : [process.execPath, [...startFlags(), ENTRY]];
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    // One process unless a test asks for workers: the suite stays light on a small machine, and
    // tests that count processes or read one process's output keep their meaning.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1', LOG_LEVEL: 'warn', WORKERS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid }),
    ...(options.detached ? { detached: true } : {}),
  });
  let output = '';
  let errors = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
    errors += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${env.PORT}`;
  return {
    child,
    url,
    output: () => output,
    errors: () => errors,
    exited,
    healthy: async () => {
      for (let i = 0; i < 600; i++) {
        if (child.exitCode !== null) break;
        const ok = await request(url).get('/healthz').then((r) => r.status === 200, () => false);
        if (ok) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`bridge at ${url} did not become healthy:\n${output}`);
    },
  };
}

/** Direct children of a process (Linux), to find the node process under `npm start`. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The embedded Postgres' process id, from its pid file under DATA_DIR. */
export function postmasterPid(dataDir: string): number {
  return Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
}
