import { execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';

// Child processes of the benchmark and what /proc says about them. Every child is registered so it
// is killed whatever way the orchestrator ends (normal end, error, Ctrl-C, SIGTERM).

const live = new Set<ChildProcess>();

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Pipe stdout to the orchestrator (to read a ready line); otherwise stdout goes to the log file too. */
  pipeStdout?: boolean;
}

export function spawnChild(name: string, command: string, args: string[], options: SpawnOptions): Child {
  const log = openSync(options.logFile, 'a');
  // stdin is a pipe the child may watch: it closes when the orchestrator dies, however it dies.
  const stdio: StdioOptions = ['pipe', options.pipeStdout ? 'pipe' : log, log];
  const proc = spawn(command, args, { cwd: options.cwd, env: options.env, stdio });
  closeSync(log);
  if (proc.pid === undefined) throw new Error(`${name}: could not be started`);
  live.add(proc);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      done = true;
      live.delete(proc);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  proc.stdin?.on('error', () => undefined);
  const child: Child = {
    name,
    proc,
    pid: proc.pid,
    logFile: options.logFile,
    exited,
    hasExited: () => done,
    stop: async (graceMs = 20_000) => {
      if (done) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return child;
}

/** Waits for the child's first stdout line that parses as JSON with `ready: true`. */
export async function readyLine<T>(child: Child, timeoutMs: number): Promise<T> {
  const stdout = child.proc.stdout;
  if (!stdout) throw new Error(`${child.name}: stdout is not piped`);
  const lines = createInterface({ input: stdout });
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${child.name}: not ready within ${timeoutMs} ms; see ${child.logFile}`)), timeoutMs);
    const finish = (err: Error | null, value?: T): void => {
      clearTimeout(timer);
      lines.removeAllListeners('line');
      // Keep draining stdout so the child can never block on a full pipe.
      stdout.resume();
      if (err) reject(err);
      else resolve(value!);
    };
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { ready?: boolean };
        if (parsed.ready === true) finish(null, parsed as T);
      } catch {
        // not our line
      }
    });
    void child.exited.then((code) => finish(new Error(`${child.name}: exited (${code}) before it was ready; see ${child.logFile}`)));
  });
}

/** Last-resort cleanup (process 'exit', fatal errors): SIGKILL every child still running. Synchronous. */
export function killAllChildren(): void {
  for (const proc of live) {
    try {
      proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

export function liveChildren(): number {
  return live.size;
}

// ---- /proc --------------------------------------------------------------------------------------

let clockTicks: number | null = null;

/** Clock ticks per second of /proc/<pid>/stat times (almost always 100). */
export function clkTck(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** A `kB` field of /proc/<pid>/status (VmRSS, VmHWM), in kB; null when the process is gone. */
export function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

interface ProcStat {
  ppid: number;
  /** utime + stime, in clock ticks */
  own: number;
  /** stime alone: time in the kernel (syscalls, and the loopback network stack they drive) */
  system: number;
  /** cutime + cstime: reaped children (Postgres backends that exited) */
  children: number;
}

function procStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), own: Number(fields[11]) + Number(fields[12]), system: Number(fields[12]), children: Number(fields[13]) + Number(fields[14]) };
  } catch {
    return null;
  }
}

/** CPU time of one process, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = procStat(pid);
  return stat ? stat.own / clkTck() : 0;
}

/** Kernel-mode CPU time of one process, in seconds. */
export function systemCpuSeconds(pid: number): number {
  const stat = procStat(pid);
  return stat ? stat.system / clkTck() : 0;
}

/** Every process on the machine by pid, with its parent: one read of /proc. */
function processTable(): { stats: Map<number, ProcStat>; byParent: Map<number, number[]> } {
  const byParent = new Map<number, number[]>();
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (!stat) continue;
    stats.set(Number(entry), stat);
    const siblings = byParent.get(stat.ppid) ?? [];
    siblings.push(Number(entry));
    byParent.set(stat.ppid, siblings);
  }
  return { stats, byParent };
}

/** A process and its live descendants (a clustered bridge: the primary and its workers). */
export function processTree(rootPid: number, table = processTable()): number[] {
  const { stats, byParent } = table;
  const out: number[] = [];
  const stack = [rootPid];
  for (let guard = 0; stack.length > 0 && guard < 100_000; guard++) {
    const pid = stack.pop()!;
    if (!stats.has(pid)) continue;
    out.push(pid);
    stack.push(...(byParent.get(pid) ?? []));
  }
  return out;
}

/** CPU time of a process and all its descendants (live ones, plus those already reaped), in seconds. */
export function treeCpuSeconds(rootPid: number): number {
  const table = processTable();
  let ticks = 0;
  for (const pid of processTree(rootPid, table)) {
    const stat = table.stats.get(pid)!;
    ticks += stat.own + stat.children;
  }
  return ticks / clkTck();
}

/** Kernel-mode CPU time of a process and its live descendants, in seconds. */
export function treeSystemCpuSeconds(rootPid: number): number {
  const table = processTable();
  return processTree(rootPid, table).reduce((sum, pid) => sum + table.stats.get(pid)!.system, 0) / clkTck();
}

/** The largest `field` of any one process of the tree, in kB (the targets are per process). */
export function treeMaxKb(rootPid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  const values = processTree(rootPid).map((pid) => statusKb(pid, field) ?? 0);
  return values.length === 0 ? null : Math.max(...values);
}

/** Busy and total CPU time of the whole machine (all cores), in seconds, from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: (total - idle) / clkTck(), total: total / clkTck() };
}

/** The postmaster's pid, from the cluster's postmaster.pid. */
export function postmasterPid(clusterDir: string): number | null {
  const file = `${clusterDir}/postmaster.pid`;
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Samples VmRSS of each process of a tree (as it was at the start) every `intervalMs` and keeps the largest. */
export function rssSampler(pid: number, intervalMs = 100): { stop(): number } {
  const pids = processTree(pid);
  const sample = (): number => Math.max(0, ...pids.map((p) => statusKb(p, 'VmRSS') ?? 0));
  let maxKb = sample();
  const timer = setInterval(() => {
    const kb = sample();
    if (kb !== null && kb > maxKb) maxKb = kb;
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return maxKb;
    },
  };
}

/** A free TCP port on loopback (closed again before it is used; fine on a quiet machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
