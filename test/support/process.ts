import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import request from 'supertest';

// The bridge as its own process, started the way `npm start` starts it (src/main.ts under tsx),
// for tests that kill, signal or multiply it.

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface BridgeProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
  /** Resolves when /healthz answers; rejects with the process output if it never does. */
  healthy(): Promise<void>;
}

export function spawnBridge(env: NodeJS.ProcessEnv): BridgeProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${env.PORT}`;
  return {
    child,
    url,
    output: () => output,
    exited,
    healthy: async () => {
      for (let i = 0; i < 300; i++) {
        if (child.exitCode !== null) break;
        const ok = await request(url).get('/healthz').then((r) => r.status === 200, () => false);
        if (ok) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`bridge at ${url} did not become healthy:\n${output}`);
    },
  };
}
