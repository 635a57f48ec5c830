import { cpus, totalmem } from 'node:os';
import { release } from 'node:os';
import type { Latency } from './load.js';

// What the benchmark prints and writes: the machine, one table row per scenario, PASS/FAIL checks.

export interface Check {
  name: string;
  pass: boolean;
  detail: string;
}

export interface CpuShare {
  /** Percent of one core over the measured window. */
  bridge: number;
  /** The part of `bridge` spent in the kernel. */
  bridgeSystem: number;
  postgres: number;
  fakeWechat: number;
  loadGenerator: number;
  /** Percent of the whole machine (all cores). */
  machine: number;
  /** Percent of one core used by processes that are not part of the benchmark (a shared machine). */
  others: number;
}

export interface ScenarioReport {
  name: string;
  description: string;
  target: string;
  server: 'bridge' | 'bare-express' | 'relay-express';
  bridgeLogLevel: string | null;
  connections: number;
  rate: number | null;
  durationS: number;
  warmupS: number;
  fakeDelayMs: number | null;
  sent: number;
  answered: number;
  aa: number;
  ae: number;
  errors: number;
  errorBreakdown: { non200: number; badAcks: number; socketErrors: number; timeouts: number };
  aeReasons: Record<string, number>;
  pushesPerSec: number;
  elapsedS: number;
  latencyMs: Latency;
  timeline: Array<{ s: number; n: number; p50: number; p99: number; max: number }>;
  /** Steady load: p99 minus the fake WeChat's configured delay. */
  p99AboveFakeMs: number | null;
  /** WeChat call times as the bridge recorded them in messages.attempts (ms, whole numbers). */
  wechatCallMs: { p50: number; p99: number } | null;
  /** Bridge scenarios: the push path's batch round trips (claim, finish), commit included, from bridge_db_batch_duration_seconds. */
  dbBatchMs: Record<string, { batches: number; meanMs: number; p50UpToMs: number; p99UpToMs: number }> | null;
  /**
   * Bridge scenarios: the garbage collector's pauses during the run, by kind (minor: scavenge, major:
   * mark-compact's final pause), all workers together, from nodejs_gc_duration_seconds.
   */
  gcPauses: Record<string, { count: number; perSec: number; meanMs: number; totalMs: number; over10Ms: number | null }> | null;
  deliveredByFake: number | null;
  tokenFetches: number | null;
  /** Bridge scenarios: worker processes serving (1: not clustered). */
  workers?: number;
  db: { rows: number; byStatus: Record<string, number>; deliveredRows: number; commitsPerPush: number; statementsPerPush: number | null } | null;
  peakRssMb: number;
  peakRssSampledMb: number;
  /** VmRSS of the bridge once started and the employees bound, before any push. */
  idleRssMb: number | null;
  cpu: CpuShare;
  /** Machine busy % (all cores) just before the measured run; the run waits (bounded) for under 20%. */
  machineBusyBeforePct: number;
  autocannon: Record<string, number>;
  /** Totals over warm-up and measured run, which the exactly-once checks compare. */
  totals: { sent: number; aa: number } | null;
  checks: Check[];
  pgStatements?: Array<{ query: string; calls: number; perPush: number; meanMs: number; totalMs: number }>;
  cpuProfile?: string;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  kernel: string;
  postgres: string;
}

export function machine(postgres: string): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model ?? 'unknown',
    cores: list.length,
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel: release(),
    postgres,
  };
}

export function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function machineLines(m: Machine): string[] {
  return [`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB RAM, Linux ${m.kernel}`, `software: node ${m.node}, ${m.postgres}`];
}

export function table(rows: ScenarioReport[]): string[] {
  const header = ['scenario', 'workers', 'conns', 'pushes/s', 'p50 ms', 'p99 ms', 'errors', 'AA', 'delivered', 'stmt/push', 'commit/push', 'peak RSS', 'CPU% bridge/pg/fake/load/other', 'target'];
  const body = rows.map((r) => [
    r.name,
    r.workers === undefined ? '-' : String(r.workers),
    r.rate === null ? String(r.connections) : `${r.connections} @${r.rate}/s`,
    r.pushesPerSec.toFixed(1),
    r.latencyMs.p50.toFixed(1),
    r.latencyMs.p99.toFixed(1),
    String(r.errors),
    String(r.aa),
    r.deliveredByFake === null ? '-' : String(r.deliveredByFake),
    r.db?.statementsPerPush === null || r.db?.statementsPerPush === undefined ? '-' : String(r.db.statementsPerPush),
    r.db ? String(r.db.commitsPerPush) : '-',
    `${r.peakRssMb.toFixed(0)} MB`,
    `${r.cpu.bridge.toFixed(0)}/${r.cpu.postgres.toFixed(0)}/${r.cpu.fakeWechat.toFixed(0)}/${r.cpu.loadGenerator.toFixed(0)}/${r.cpu.others.toFixed(0)}`,
    r.target,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
}

/** Per scenario, pushes/s by worker count, relative to one worker. */
export function scalingTable(rows: ScenarioReport[]): string[] {
  const bridgeRows = rows.filter((r) => r.server === 'bridge');
  const counts = [...new Set(bridgeRows.map((r) => r.workers ?? 1))].sort((a, b) => a - b);
  const out = [`scaling (pushes/s, p99 ms, × one worker; statements and commits per push) — workers: ${counts.join(', ')}`];
  for (const name of [...new Set(bridgeRows.map((r) => r.name))]) {
    const one = bridgeRows.find((r) => r.name === name && (r.workers ?? 1) === 1);
    const cells = counts.map((n) => {
      const r = bridgeRows.find((x) => x.name === name && (x.workers ?? 1) === n);
      if (!r) return `${n}: -`;
      const factor = one ? ` ×${(r.pushesPerSec / one.pushesPerSec).toFixed(2)}` : '';
      return `${n}: ${r.pushesPerSec.toFixed(1)}/s p99 ${r.latencyMs.p99.toFixed(0)}${factor} (${r.db?.statementsPerPush ?? '?'} stmt, ${r.db?.commitsPerPush ?? '?'} commit)`;
    });
    out.push(`  ${name.padEnd(16)} ${cells.join('   ')}`);
  }
  return out;
}

export function checkLines(rows: ScenarioReport[]): string[] {
  const out: string[] = [];
  for (const row of rows) {
    for (const check of row.checks) out.push(`${check.pass ? 'PASS' : 'FAIL'}  ${row.name}: ${check.name} — ${check.detail}`);
  }
  return out;
}
