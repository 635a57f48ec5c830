import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded.js';
import { createLogger } from '../src/log.js';
import { soapPush } from '../test/support/push.js';
import { ENTRY, startFlags } from '../test/support/start-command.js';
import { round, runLoad, type LoadOptions, type LoadResult } from './load.js';
import {
  cpuSeconds,
  systemCpuSeconds,
  freePort,
  processTree,
  treeMaxKb,
  treeSystemCpuSeconds,
  killAllChildren,
  machineCpuSeconds,
  postmasterPid,
  readyLine,
  rssSampler,
  spawnChild,
  statusKb,
  treeCpuSeconds,
  type Child,
} from './procs.js';
import { checkLines, machine, machineLines, print, scalingTable, table, type Check, type CpuShare, type ScenarioReport } from './report.js';

// `npm run bench`: the bridge under load, in its own process, against a fake WeChat in its own
// process and an embedded Postgres with production durability (fsync and synchronous_commit on).
// The load generator (autocannon) runs here, in the orchestrator: see bench/README.md for why.
//
//   npm run bench                                  every scenario (about 3 minutes)
//   npm run bench -- --scenario throughput         one (repeat or comma-separate for several)
//   npm run bench -- --duration 3                  shorter measured runs, for a smoke run
//   npm run bench -- --profile                     also a CPU profile of the bridge and pg_stat_statements

const BENCH_DIR = import.meta.dirname;
const REPO = path.resolve(BENCH_DIR, '..');
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const CONTENT_TYPE = 'application/soap+xml; charset=utf-8';
const RSS_LIMIT_MB = 250;
const RUN_LIMIT_MS = 15 * 60_000;
const QUIET_WAIT_MS = 30_000;

interface Spec {
  name: string;
  /** Said of the scenario; `{c}`, `{d}` and `{r}` stand for connections, fake delay and rate. */
  description: string;
  connections: number;
  durationS: number;
  delayMs: number;
  rate?: number;
  logLevel: 'warn' | 'info';
}

const SCENARIO_NAMES = ['throughput', 'throughput-info', 'slow-wechat', 'steady'] as const;
type ScenarioName = (typeof SCENARIO_NAMES)[number];

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', multiple: true },
    duration: { type: 'string' },
    employees: { type: 'string', default: '1000' },
    settle: { type: 'string', default: '3' },
    root: { type: 'string' },
    'skip-build': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'pin-bridge': { type: 'boolean', default: false },
    connections: { type: 'string' },
    delay: { type: 'string' },
    workers: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  print(`usage: npm run bench -- [--scenario ${SCENARIO_NAMES.join('|')}]... [--duration S] [--employees N] [--settle S] [--skip-build] [--profile] [--pin-bridge] [--connections N] [--delay MS] [--workers N[,N...]] [--root DIR]`);
  print('  --workers      WORKERS of the bridge; several (1,2,4) run each scenario per count and print a scaling table (default: the bridge\'s own default, one per core)');
  print('  --profile      CPU profile of the bridge (bench-results/profiles/) and pg_stat_statements per scenario');
  print('  --pin-bridge   experiment: the bridge alone on CPU 1, everything else (Postgres, fake WeChat, load) on CPU 0');
  print('  --connections, --delay   override the selected scenarios\' connections / fake WeChat delay (exploration; targets then do not apply)');
  process.exit(0);
}

const durationOverride = args.duration === undefined ? null : positive('--duration', args.duration);
const employees = positive('--employees', args.employees);
const settleS = Math.max(0, Number(args.settle) || 0);
const root = path.resolve(args.root ?? REPO);
const selected = selectScenarios(args.scenario);
const connectionsOverride = args.connections === undefined ? null : positive('--connections', args.connections);
const delayOverride = args.delay === undefined ? null : Number(args.delay);
/** null: the bridge's default (one worker per core), as `npm start` runs it. */
const workerCounts: Array<number | null> = args.workers === undefined ? [null] : args.workers.split(',').map((w) => positive('--workers', w.trim()));
if (delayOverride !== null && !(delayOverride >= 0)) {
  console.error(`--delay: expected milliseconds, got "${args.delay}"`);
  process.exit(2);
}

const SPECS: Record<ScenarioName, Spec> = {
  throughput: {
    name: 'throughput',
    description: 'fake WeChat answers at once; {c} connections as fast as they go',
    connections: 50,
    durationS: 15,
    delayMs: 0,
    logLevel: 'warn',
  },
  'throughput-info': {
    name: 'throughput-info',
    description: 'as throughput ({c} connections), bridge logging one line per push (LOG_LEVEL=info, to a file)',
    connections: 50,
    durationS: 15,
    delayMs: 0,
    logLevel: 'info',
  },
  'slow-wechat': {
    name: 'slow-wechat',
    description: 'fake WeChat answers after {d} ms; {c} connections',
    connections: 200,
    durationS: 15,
    delayMs: 200,
    logLevel: 'warn',
  },
  steady: {
    name: 'steady',
    description: '{r} pushes/s spread evenly (open loop); fake WeChat answers after {d} ms',
    connections: 200,
    rate: 200,
    durationS: 30,
    delayMs: 20,
    logLevel: 'warn',
  },
};

// ---- lifecycle: everything started here is stopped whatever happens ------------------------------

let embedded: EmbeddedServer | null = null;
let clusterDir: string | null = null;
let workDir: string | null = null;
let cleaning: Promise<void> | null = null;

async function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    killAllChildren();
    await embedded?.stop().catch(() => undefined);
    embedded = null;
    if (workDir) rmSync(workDir, { recursive: true, force: true });
    workDir = null;
  })();
  return cleaning;
}

process.on('exit', () => {
  killAllChildren();
  // Postgres is stopped by cleanup(); if we are exiting without it, ask it to go (immediate shutdown).
  const pm = clusterDir && embedded ? postmasterPid(clusterDir) : null;
  if (pm) {
    try {
      process.kill(pm, 'SIGQUIT');
    } catch {
      // gone
    }
  }
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: stopping the benchmark's processes\n`);
    void cleanup().finally(() => process.exit(130));
  });
}
const watchdog = setTimeout(() => {
  console.error(`benchmark still running after ${RUN_LIMIT_MS / 60_000} minutes: giving up`);
  void cleanup().finally(() => process.exit(1));
}, RUN_LIMIT_MS);


// ---- the run ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const runStarted = performance.now();
  if (!args['skip-build']) build();
  if (!existsSync(path.join(root, 'dist/src/main.js'))) throw new Error(`${root}/dist/src/main.js not found: run npm run build`);

  if (args['pin-bridge']) {
    // Everything started from here on (Postgres, fake WeChat, bare Express) inherits CPU 0; the bridge gets CPU 1.
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  }
  workDir = await mkdtemp(path.join(tmpdir(), 'bridge-bench-'));
  // As root the cluster runs as a `postgres` user, which must be able to traverse into it.
  if (process.getuid?.() === 0) chmodSync(workDir, 0o711);
  clusterDir = path.join(workDir, 'pg', 'postgres');
  const pgPort = await freePort();
  // Production durability: no fsync/synchronous_commit/full_page_writes changes (unlike the tests).
  embedded = await startEmbeddedPostgres({
    dataDir: path.join(workDir, 'pg'),
    port: pgPort,
    database: 'postgres',
    log: createLogger('warn'),
    settings: args.profile ? { shared_preload_libraries: 'pg_stat_statements' } : {},
  });
  const adminUrl = embedded.url;
  const pgVersion = `PostgreSQL ${(await query<{ server_version: string }>(adminUrl, 'SHOW server_version'))[0]?.server_version ?? '?'}`;
  const settings = await query<{ name: string; setting: string }>(
    adminUrl,
    `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'shared_buffers', 'max_connections')`,
  );
  const pgSettings = Object.fromEntries(settings.map((s) => [s.name, s.setting]));
  const m = machine(pgVersion);
  for (const line of machineLines(m)) print(line);
  print(`postgres: embedded in ${workDir}, ${Object.entries(pgSettings).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  print(`bridge: node ${[...startFlags(root), path.relative(REPO, path.join(root, ENTRY)) || ENTRY].join(' ')}, DB_POOL_SIZE=20 (default), ${employees} employees bound`);
  const overrides = [durationOverride && `duration ${durationOverride} s`, connectionsOverride && `${connectionsOverride} connections`, delayOverride !== null && `fake delay ${delayOverride} ms`, args['pin-bridge'] && 'bridge pinned to CPU 1, the rest to CPU 0'].filter(Boolean);
  print(`scenarios: ${selected.join(', ')}${overrides.length ? ` (${overrides.join(', ')})` : ''}`);
  print();

  const reports: ScenarioReport[] = [];
  let bare: ScenarioReport | null = null;
  let relay: ScenarioReport | null = null;
  // The relay under each latency scenario's own load: the floor of HTTP in plus one WeChat call there.
  const relayUnder = new Map<'steady' | 'slow-wechat', ScenarioReport>();
  for (const workers of workerCounts) for (const name of selected) {
    const base = SPECS[name];
    const spec: Spec = {
      ...base,
      durationS: durationOverride ?? base.durationS,
      connections: connectionsOverride ?? base.connections,
      delayMs: delayOverride ?? base.delayMs,
      ...(base.rate === undefined ? {} : { rate: connectionsOverride ?? base.rate }),
    };
    spec.description = spec.description.replace('{c}', String(spec.connections)).replace('{d}', String(spec.delayMs)).replace('{r}', String(spec.rate ?? ''));
    const report = await bridgeScenario(spec, adminUrl, workers);
    reports.push(report);
    if ((name === 'throughput' || name === 'throughput-info') && bare === null) {
      await settle();
      bare = await baselineScenario({ ...SPECS.throughput, name: 'bare-express', durationS: spec.durationS, connections: spec.connections }, 'bare-express');
      reports.push(bare);
      await settle();
      relay = await baselineScenario({ ...SPECS.throughput, name: 'relay-express', durationS: spec.durationS, connections: spec.connections }, 'relay-express');
      reports.push(relay);
    }
    if ((name === 'steady' || name === 'slow-wechat') && !relayUnder.has(name)) {
      await settle();
      const floor = await baselineScenario({ ...spec, name: name === 'steady' ? 'relay-steady' : 'relay-slow' }, 'relay-express');
      relayUnder.set(name, floor);
      reports.push(floor);
    }
    await settle();
  }

  // The ratio to bare Express, for each throughput row.
  if (bare) {
    for (const r of reports.filter((r) => r.name.startsWith('throughput'))) {
      const ratio = r.pushesPerSec / bare.pushesPerSec;
      const floor = relay ? ` (the relay floor reaches ${(relay.pushesPerSec / bare.pushesPerSec).toFixed(3)}; bridge / relay = ${(r.pushesPerSec / relay.pushesPerSec).toFixed(3)})` : '';
      r.checks.push({ name: 'bridge / bare Express ≥ 0.40', pass: ratio >= 0.4, detail: `${r.pushesPerSec.toFixed(1)} / ${bare.pushesPerSec.toFixed(1)} = ${ratio.toFixed(3)}${floor}` });
    }
  }

  // The latency rows next to the relay's under the same load: what is left above the floor.
  const steadyRelay = relayUnder.get('steady');
  if (steadyRelay && steadyRelay.p99AboveFakeMs !== null) {
    for (const r of reports.filter((r) => r.name === 'steady')) {
      const check = r.checks.find((c) => c.name.startsWith('p99 ≤ 15 ms'));
      if (check) check.detail += `; the relay floor at this rate: p99 ${steadyRelay.latencyMs.p99} ms (${steadyRelay.p99AboveFakeMs} ms above)`;
    }
  }
  const slowRelay = relayUnder.get('slow-wechat');
  if (slowRelay) {
    for (const r of reports.filter((r) => r.name === 'slow-wechat')) {
      const rate = r.checks.find((c) => c.name.startsWith('throughput ≥'));
      if (rate) rate.detail += `; the relay floor under this load: ${slowRelay.pushesPerSec.toFixed(1)} pushes/s`;
      const p99 = r.checks.find((c) => c.name === 'p99 ≤ 400 ms');
      if (p99) p99.detail += `; the relay floor: p99 ${slowRelay.latencyMs.p99} ms, p50 ${slowRelay.latencyMs.p50} ms`;
    }
  }

  const totalS = round((performance.now() - runStarted) / 1000, 1);
  print();
  for (const line of table(reports)) print(line);
  print();
  if (workerCounts.length > 1) {
    for (const line of scalingTable(reports)) print(line);
    print();
  }
  for (const line of checkLines(reports)) print(line);
  const failed = reports.flatMap((r) => r.checks).filter((c) => !c.pass).length;
  print();
  print(`${failed === 0 ? 'all checks passed' : `${failed} check(s) FAILED`}; run took ${totalS} s`);

  const outDir = path.join(REPO, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `bench-${timestamp()}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        machine: m,
        postgresSettings: pgSettings,
        options: { scenarios: selected, durationOverride, connectionsOverride, delayOverride, employees, settleS, profile: args.profile, pinBridge: args['pin-bridge'], root },
        totalSeconds: totalS,
        loadGenerator: 'autocannon (programmatic) in the orchestrator process; bridge, fake WeChat, bare Express and Postgres in their own processes',
        scenarios: reports,
      },
      null,
      2,
    )}\n`,
  );
  print(`results: ${path.relative(process.cwd(), file)}`);
}

// ---- scenarios ---------------------------------------------------------------------------------------

async function bridgeScenario(spec: Spec, adminUrl: string, workers: number | null): Promise<ScenarioReport> {
  const warmupS = warmupOf(spec);
  print(`== ${spec.name}: ${spec.description}; WORKERS=${workers ?? 'default'}; ${spec.durationS} s after ${warmupS} s warm-up`);
  const database = `bench_${spec.name.replace(/-/g, '_')}_${Date.now()}`;
  await query(adminUrl, `CREATE DATABASE ${database}`);
  const databaseUrl = withDatabase(adminUrl, database);

  const fake = await startFake(spec.delayMs, spec.name);
  let bridge: Child | null = null;
  try {
    const port = await freePort();
    const profileDir = path.join(REPO, 'bench-results', 'profiles');
    if (args.profile) mkdirSync(profileDir, { recursive: true });
    // One directory per scenario: the primary and every worker write their own profile into it.
    const scenarioProfileDir = path.join(profileDir, `bridge-${spec.name}-w${workers ?? 'default'}-${timestamp()}`);
    const nodeArgs = args.profile ? [`--cpu-prof`, `--cpu-prof-dir=${scenarioProfileDir}`] : [];
    const command = args['pin-bridge'] ? ['taskset', '-c', '1', process.execPath] : [process.execPath];
    // As `npm start` runs it: its node flags (the heap bound) from package.json.
    bridge = spawnChild('bridge', command[0]!, [...command.slice(1), ...startFlags(root), ...nodeArgs, ENTRY], {
      cwd: root,
      logFile: path.join(workDir!, `bridge-${spec.name}.log`),
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        TZ: 'Asia/Shanghai',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: databaseUrl,
        WECHAT_APPID: fake.info.appId,
        WECHAT_SECRET: fake.info.secret,
        WECHAT_API_BASE: fake.info.url,
        ADMIN_TOKEN,
        LOG_LEVEL: spec.logLevel,
        ...(workers === null ? {} : { WORKERS: String(workers) }),
      },
    });
    const url = `http://127.0.0.1:${port}`;
    await waitReady(bridge, url);
    await bindEmployees(url);
    const idleRssKb = treeMaxKb(bridge.pid, 'VmRSS') ?? 0;
    const workerPids = processTree(bridge.pid).filter((pid) => pid !== bridge!.pid);

    const load = loadOf(spec, url, true);
    const warm = await runLoad(load(warmupS));
    await query(adminUrl, 'CHECKPOINT');
    const busyBefore = await waitForQuiet(spec.name);
    if (args.profile) await query(databaseUrl, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements').then(() => query(databaseUrl, 'SELECT pg_stat_statements_reset()'));

    const commitsBefore = await commits(adminUrl, database);
    const metricsBefore = await bridgeMetrics(url);
    const lastIdBeforeRun = Number((await query<{ id: string | null }>(databaseUrl, 'SELECT max(id) AS id FROM messages'))[0]?.id ?? 0);
    const window = cpuWindow({ bridge: bridge.pid, fake: fake.child.pid, postgres: postmasterPid(clusterDir!), bridgeTree: true });
    const rss = rssSampler(bridge.pid);
    const run = await runLoad(load(spec.durationS));
    const sampledKb = rss.stop();
    const cpu = window.end();
    const commitsAfter = await commits(adminUrl, database);
    const metricsAfter = await bridgeMetrics(url);
    const statementsBefore = metricsBefore?.statements ?? null;
    const statementsAfter = metricsAfter?.statements ?? null;
    const dbBatchMs = batchTimes(metricsBefore, metricsAfter);
    const gc = gcPauses(metricsBefore, metricsAfter, run.elapsedS);
    print(`   ${run.pushesPerSec.toFixed(1)} pushes/s, p50 ${run.latencyMs.p50} ms, p99 ${run.latencyMs.p99} ms, ${run.aa} AA / ${run.answered} answered`);
    if (dbBatchMs) print(`   database: ${describeBatches(dbBatchMs).slice(2)}`);
    if (gc) print(`   GC pauses: ${describeGc(gc)}`);

    // What the fake and the database say, after every push was answered.
    const fakeStats = await getJson<FakeStats>(`${fake.info.controlUrl}/stats`);
    const byStatus = Object.fromEntries(
      (await query<{ status: string; n: string }>(databaseUrl, 'SELECT status, count(*) AS n FROM messages GROUP BY status')).map((r) => [r.status, Number(r.n)]),
    );
    const rows = Object.values(byStatus).reduce((a, b) => a + b, 0);
    const deliveredGuids = new Set((await query<{ guid: string }>(databaseUrl, `SELECT guid FROM messages WHERE status = 'delivered'`)).map((r) => r.guid));
    const deliveredRows = byStatus.delivered ?? 0;
    const wechat = await query<{ p50: number | null; p99: number | null }>(
      databaseUrl,
      `SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY (attempts->0->>'ms')::int) AS p50,
              percentile_disc(0.99) WITHIN GROUP (ORDER BY (attempts->0->>'ms')::int) AS p99
       FROM messages WHERE status = 'delivered' AND jsonb_array_length(attempts) > 0 AND id > $1`,
      [lastIdBeforeRun],
    );
    const statements = args.profile ? await topStatements(databaseUrl, run.sent) : undefined;
    const peakKb = treeMaxKb(bridge.pid, 'VmHWM') ?? sampledKb;

    const totals = { sent: warm.sent + run.sent, aa: warm.aa + run.aa };
    const aaGuids = new Set([...warm.aaGuids, ...run.aaGuids]);
    const missing = [...aaGuids].filter((g) => !deliveredGuids.has(g)).length;
    const checks: Check[] = [
      {
        name: 'every push answered AA',
        pass: totals.aa === totals.sent && errorsOf(warm) + errorsOf(run) === 0,
        detail: `${totals.aa} AA of ${totals.sent} sent (warm-up included), ${errorsOf(warm) + errorsOf(run)} errors${Object.keys(run.aeReasons).length ? `; AE: ${JSON.stringify(run.aeReasons)}` : ''}`,
      },
      { name: 'every push recorded', pass: rows === totals.sent, detail: `${rows} rows in messages for ${totals.sent} pushes` },
      {
        name: 'delivered rows = AA answers',
        pass: deliveredRows === totals.aa && missing === 0,
        detail: `${deliveredRows} rows delivered, ${totals.aa} AA answers, ${missing} AA GUIDs without a delivered row`,
      },
      {
        name: 'fake WeChat deliveries = AA answers, each once',
        pass: fakeStats.accepted === totals.aa && fakeStats.distinctAccepted === fakeStats.accepted,
        detail: `${fakeStats.accepted} accepted by the fake (${fakeStats.accepted - fakeStats.distinctAccepted} duplicates) for ${totals.aa} AA`,
      },
      { name: 'one access-token fetch', pass: fakeStats.tokenCalls === 1, detail: `${fakeStats.tokenCalls} token call(s)` },
      {
        name: `peak RSS ≤ ${RSS_LIMIT_MB} MB per process`,
        pass: peakKb / 1024 <= RSS_LIMIT_MB,
        detail: `VmHWM ${(peakKb / 1024).toFixed(1)} MB, largest of ${1 + workerPids.length} process(es) (sampled VmRSS max ${(sampledKb / 1024).toFixed(1)} MB)`,
      },
    ];
    let target = 'ratio ≥ 0.40';
    let p99AboveFakeMs: number | null = null;
    if (spec.name === 'slow-wechat') {
      const floor = (0.8 * spec.connections) / (spec.delayMs / 1000);
      target = `≥ ${floor}/s, p99 ≤ 400`;
      checks.push({ name: `throughput ≥ ${floor}/s (80% of ${spec.connections} ÷ ${spec.delayMs} ms)`, pass: run.pushesPerSec >= floor, detail: `${run.pushesPerSec.toFixed(1)} pushes/s` });
      checks.push({ name: 'p99 ≤ 400 ms', pass: run.latencyMs.p99 <= 400, detail: `p99 ${run.latencyMs.p99} ms` });
    }
    if (spec.rate !== undefined) {
      p99AboveFakeMs = round(run.latencyMs.p99 - spec.delayMs, 2);
      target = `p99 ≤ ${spec.delayMs}+15`;
      checks.push({ name: `rate held (≥ 95% of ${spec.rate}/s)`, pass: run.pushesPerSec >= 0.95 * spec.rate, detail: `${run.pushesPerSec.toFixed(1)} pushes/s` });
      checks.push({
        name: 'p99 ≤ 15 ms above the fake WeChat delay',
        pass: p99AboveFakeMs <= 15,
        detail: `p99 ${run.latencyMs.p99} ms − ${spec.delayMs} ms delay = ${p99AboveFakeMs} ms (bridge-measured WeChat call p99 ${wechat[0]?.p99 ?? '?'} ms${describeBatches(dbBatchMs)}${gc ? `; GC pauses: ${describeGc(gc)}` : ''})`,
      });
    }

    return {
      name: spec.name,
      description: spec.description,
      target,
      server: 'bridge',
      bridgeLogLevel: spec.logLevel,
      connections: spec.connections,
      rate: spec.rate ?? null,
      durationS: spec.durationS,
      warmupS,
      fakeDelayMs: spec.delayMs,
      ...measuredOf(run),
      p99AboveFakeMs,
      wechatCallMs: wechat[0]?.p50 === null || wechat[0]?.p50 === undefined ? null : { p50: Number(wechat[0].p50), p99: Number(wechat[0].p99) },
      dbBatchMs,
      gcPauses: gc,
      deliveredByFake: fakeStats.accepted,
      tokenFetches: fakeStats.tokenCalls,
      workers: workers ?? workerPids.length,
      db: {
        rows,
        byStatus,
        deliveredRows,
        commitsPerPush: round((commitsAfter - commitsBefore) / Math.max(1, run.sent), 2),
        statementsPerPush: statementsBefore === null || statementsAfter === null ? null : round((statementsAfter - statementsBefore) / Math.max(1, run.sent), 2),
      },
      peakRssMb: round(peakKb / 1024, 1),
      peakRssSampledMb: round(sampledKb / 1024, 1),
      idleRssMb: round(idleRssKb / 1024, 1),
      cpu,
      machineBusyBeforePct: busyBefore,
      totals,
      checks,
      ...(statements ? { pgStatements: statements } : {}),
      ...(args.profile ? { cpuProfile: path.relative(REPO, scenarioProfileDir) } : {}),
    };
  } finally {
    await bridge?.stop();
    await fake.child.stop(5000);
    if (bridge && !bridge.hasExited()) print(`   warning: bridge did not stop`);
  }
}

/** What a load run measured, as both kinds of scenario report it. */
function measuredOf(run: Awaited<ReturnType<typeof runLoad>>) {
  return {
    sent: run.sent,
    answered: run.answered,
    aa: run.aa,
    ae: run.ae,
    errors: errorsOf(run),
    errorBreakdown: { non200: run.non200, badAcks: run.badAcks, socketErrors: run.socketErrors, timeouts: run.timeouts },
    aeReasons: run.aeReasons,
    pushesPerSec: run.pushesPerSec,
    elapsedS: run.elapsedS,
    latencyMs: run.latencyMs,
    timeline: run.timeline,
    autocannon: run.autocannon,
  };
}

/** The baselines: bare Express (the reference of the throughput ratio) and the relay (the floor, under every scenario's load). */
const BASELINES = {
  'bare-express': {
    title: 'same load against Express reading the body and answering a fixed ack',
    description: 'Express + express.raw reading the same bodies, answering a fixed AA ack (the baseline of the ratio)',
    target: 'baseline',
  },
  'relay-express': {
    title: 'Express reading the body, one send to the fake WeChat, a fixed ack: no XML, no database (the floor)',
    description: 'Express + express.raw + one undici custom/send to the fake WeChat per push + a fixed AA ack: the least any bridge does',
    target: 'floor',
  },
} as const;

type Baseline = keyof typeof BASELINES;

async function baselineScenario(spec: Spec, kind: Baseline): Promise<ScenarioReport> {
  const warmupS = warmupOf(spec);
  const about = BASELINES[kind];
  const fake = kind === 'relay-express' ? await startFake(spec.delayMs, spec.name) : null;
  print(`== ${spec.name}: ${about.title}${spec.rate === undefined ? '' : `; ${spec.rate} pushes/s spread evenly`}${fake && spec.delayMs > 0 ? `; fake WeChat answers after ${spec.delayMs} ms, ${spec.connections} connections` : ''}; ${spec.durationS} s after ${warmupS} s warm-up`);
  const args = fake ? ['--wechat', fake.info.url, '--appid', fake.info.appId, '--secret', fake.info.secret] : [];
  const server = spawnChild(kind, process.execPath, ['--import', 'tsx', path.join(BENCH_DIR, `${kind}.ts`), ...args], {
    cwd: REPO,
    logFile: path.join(workDir!, `${kind}.log`),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' },
    pipeStdout: true,
  });
  try {
    const { url } = await readyLine<{ url: string }>(server, 20_000);
    const load = loadOf(spec, url, false);
    const warmup = await runLoad(load(warmupS));
    const busyBefore = await waitForQuiet(kind);
    const window = cpuWindow({ bridge: server.pid, fake: fake?.child.pid ?? null, postgres: null });
    const rss = rssSampler(server.pid);
    const run = await runLoad(load(spec.durationS));
    const sampledKb = rss.stop();
    const cpu = window.end();
    const peakKb = statusKb(server.pid, 'VmHWM') ?? sampledKb;
    print(`   ${run.pushesPerSec.toFixed(1)} pushes/s, p50 ${run.latencyMs.p50} ms, p99 ${run.latencyMs.p99} ms`);
    const checks: Check[] = [{ name: 'every request answered 200', pass: errorsOf(run) === 0, detail: `${run.answered} answered, ${errorsOf(run)} errors` }];
    let deliveredByFake: number | null = null;
    if (fake) {
      deliveredByFake = (await getJson<FakeStats>(`${fake.info.controlUrl}/stats`)).distinctAccepted;
      const answered = warmup.answered + run.answered;
      checks.push({ name: 'one send per push', pass: deliveredByFake === answered, detail: `${deliveredByFake} distinct texts accepted by the fake for ${answered} answers` });
    }
    const p99AboveFakeMs = fake && spec.rate !== undefined ? round(run.latencyMs.p99 - spec.delayMs, 2) : null;
    if (p99AboveFakeMs !== null) checks.push({ name: 'p99 above the fake WeChat delay (the floor, no target)', pass: true, detail: `p99 ${run.latencyMs.p99} ms − ${spec.delayMs} ms delay = ${p99AboveFakeMs} ms, p50 ${run.latencyMs.p50} ms` });
    return {
      name: spec.name,
      description: about.description,
      target: about.target,
      server: kind,
      bridgeLogLevel: null,
      connections: spec.connections,
      rate: spec.rate ?? null,
      durationS: spec.durationS,
      warmupS,
      fakeDelayMs: fake ? spec.delayMs : null,
      ...measuredOf(run),
      p99AboveFakeMs,
      wechatCallMs: null,
      dbBatchMs: null,
      gcPauses: null,
      deliveredByFake,
      tokenFetches: null,
      db: null,
      peakRssMb: round(peakKb / 1024, 1),
      peakRssSampledMb: round(sampledKb / 1024, 1),
      idleRssMb: null,
      cpu,
      machineBusyBeforePct: busyBefore,
      totals: null,
      checks,
    };
  } finally {
    await server.stop(5000);
    await fake?.child.stop(5000);
  }
}

// ---- helpers ---------------------------------------------------------------------------------------

interface FakeInfo {
  url: string;
  controlUrl: string;
  appId: string;
  secret: string;
}

interface FakeStats {
  sendRequests: number;
  accepted: number;
  rejected: number;
  distinctAccepted: number;
  tokenCalls: number;
}

async function startFake(delayMs: number, label: string): Promise<{ child: Child; info: FakeInfo }> {
  const child = spawnChild('fake-wechat', process.execPath, ['--import', 'tsx', path.join(BENCH_DIR, 'fake-wechat-server.ts'), '--delay', String(delayMs)], {
    cwd: REPO,
    logFile: path.join(workDir!, `fake-wechat-${label}.log`),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' },
    pipeStdout: true,
  });
  try {
    return { child, info: await readyLine<FakeInfo>(child, 20_000) };
  } catch (err) {
    await child.stop(2000);
    throw err;
  }
}

/** One list item, and the GUID in the opinion so the fake WeChat can tell every delivered text apart. */
const LISTS = '<lists><PI>30001</PI><card_num>6222021234567890123</card_num><project_name>XYZ-001 II期临床试验</project_name></lists>';
const TEMPLATE = soapPush('{{GUID}}', '{{EMPLOYEE}}', '同意（{{GUID}}）', LISTS);
let nextEmployee = 0;

function pushBody(guid: string): string {
  const employee = employeeNo(nextEmployee++ % employees);
  return TEMPLATE.replaceAll('{{GUID}}', guid).replace('{{EMPLOYEE}}', employee);
}

function employeeNo(i: number): string {
  return `0${String(i + 1).padStart(5, '0')}`;
}

async function bindEmployees(url: string): Promise<void> {
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < employees) {
      const i = next++;
      const res = await fetch(`${url}/admin/api/employees/${employeeNo(i)}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ openid: `oBENCH${String(i + 1).padStart(22, '0')}`, name: `压测${i + 1}` }),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status !== 201 && res.status !== 200) throw new Error(`binding employee ${employeeNo(i)}: HTTP ${res.status} ${await res.text()}`);
      await res.body?.cancel();
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  print(`   bound ${employees} employees in ${Math.round(performance.now() - started)} ms`);
}

async function waitReady(child: Child, url: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (child.hasExited()) throw new Error(`${child.name} exited during start-up: ${tail(child.logFile)}`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${child.name} not ready within 60 s: ${tail(child.logFile)}`);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '(no log)';
  }
}

function cpuWindow(pids: { bridge: number; fake: number | null; postgres: number | null; bridgeTree?: boolean }): { end(): CpuShare } {
  const read = () => ({
    at: performance.now(),
    bridge: pids.bridgeTree ? treeCpuSeconds(pids.bridge) : cpuSeconds(pids.bridge),
    bridgeSystem: pids.bridgeTree ? treeSystemCpuSeconds(pids.bridge) : systemCpuSeconds(pids.bridge),
    fake: pids.fake === null ? 0 : cpuSeconds(pids.fake),
    postgres: pids.postgres === null ? 0 : treeCpuSeconds(pids.postgres),
    loader: process.cpuUsage(),
    machine: machineCpuSeconds(),
  });
  const start = read();
  return {
    end: () => {
      const end = read();
      const wall = (end.at - start.at) / 1000;
      const pct = (seconds: number): number => round((100 * seconds) / wall, 1);
      const loader = process.cpuUsage(start.loader);
      const share: CpuShare = {
        bridge: pct(end.bridge - start.bridge),
        bridgeSystem: pct(end.bridgeSystem - start.bridgeSystem),
        postgres: pct(end.postgres - start.postgres),
        fakeWechat: pct(end.fake - start.fake),
        loadGenerator: pct((loader.user + loader.system) / 1e6),
        machine: round((100 * (end.machine.busy - start.machine.busy)) / Math.max(1e-9, end.machine.total - start.machine.total), 1),
        others: 0,
      };
      // Everything else on the machine, in percent of one core: /proc/stat counts all cores.
      const machineCores = ((end.machine.busy - start.machine.busy) * 100) / wall;
      share.others = round(Math.max(0, machineCores - share.bridge - share.postgres - share.fakeWechat - share.loadGenerator), 1);
      return share;
    },
  };
}

/** The scenario's load against `url` for `durationS` (warm-up or run); the baselines' acks echo no GUID. */
function loadOf(spec: Spec, url: string, expectGuidEcho: boolean): (durationS: number) => LoadOptions {
  return (durationS) => ({
    url,
    connections: spec.connections,
    durationS,
    ...(spec.rate === undefined ? {} : { rate: spec.rate }),
    contentType: CONTENT_TYPE,
    body: pushBody,
    expectGuidEcho,
  });
}

function describeBatches(batches: ScenarioReport['dbBatchMs']): string {
  if (!batches) return '';
  return Object.entries(batches)
    .map(([name, b]) => `; ${name} batch round trip mean ${b.meanMs} ms, p99 ≤ ${b.p99UpToMs} ms`)
    .join('');
}

async function commits(adminUrl: string, database: string): Promise<number> {
  const rows = await query<{ n: string }>(adminUrl, 'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1', [database]);
  // The statistics are flushed by each backend at most once a second.
  return Number(rows[0]?.n ?? 0);
}

/** What the bridge's own /metrics (all workers) says about its database work and its GC; null if unreadable. */
interface BridgeMetrics {
  statements: number | null;
  /** bridge_db_batch_duration_seconds by statement. */
  batches: Map<string, Histogram>;
  /** nodejs_gc_duration_seconds by kind. */
  gc: Map<string, Histogram>;
}

/** One Prometheus histogram series: cumulative bucket counts by upper bound (s), sum (s), count. */
interface Histogram {
  buckets: Array<[number, number]>;
  sum: number;
  count: number;
}

async function bridgeMetrics(url: string): Promise<BridgeMetrics | null> {
  try {
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const match = /^bridge_db_statements_total(?:\{[^}]*\})? ([0-9.e+]+)/m.exec(text);
    return {
      statements: match ? Number(match[1]) : null,
      batches: histograms(text, 'bridge_db_batch_duration_seconds', 'statement'),
      gc: histograms(text, 'nodejs_gc_duration_seconds', 'kind'),
    };
  } catch {
    return null;
  }
}

/** The series of histogram `name` in an exposition text, by the value of `label`. */
function histograms(text: string, name: string, label: string): Map<string, Histogram> {
  const out = new Map<string, Histogram>();
  const of = (key: string): Histogram => out.get(key) ?? out.set(key, { buckets: [], sum: 0, count: 0 }).get(key)!;
  for (const m of text.matchAll(new RegExp(`^${name}_(bucket|sum|count)\\{([^}]*)\\} ([0-9.e+]+)$`, 'gm'))) {
    const key = new RegExp(`${label}="([^"]+)"`).exec(m[2]!)?.[1];
    if (!key) continue;
    const value = Number(m[3]);
    if (m[1] === 'sum') of(key).sum = value;
    else if (m[1] === 'count') of(key).count = value;
    else of(key).buckets.push([/le="\+Inf"/.test(m[2]!) ? Infinity : Number(/le="([^"]+)"/.exec(m[2]!)?.[1]), value]);
  }
  return out;
}

/** A histogram's observations between two readings: count, sum (s), and how many fell at or under each bound. */
function during(before: Histogram | undefined, after: Histogram): { count: number; sum: number; upTo: (le: number) => number | null } {
  return {
    count: after.count - (before?.count ?? 0),
    sum: after.sum - (before?.sum ?? 0),
    upTo: (le) => {
      const bucket = after.buckets.find(([l]) => l === le);
      return bucket ? bucket[1] - (before?.buckets.find(([l]) => l === le)?.[1] ?? 0) : null;
    },
  };
}

/** Batch round trips during the run (after − before): mean, and p50/p99 as the bucket bound they fall under. */
function batchTimes(before: BridgeMetrics | null, after: BridgeMetrics | null): ScenarioReport['dbBatchMs'] {
  if (!before || !after) return null;
  const out: NonNullable<ScenarioReport['dbBatchMs']> = {};
  for (const [statement, a] of after.batches) {
    const d = during(before.batches.get(statement), a);
    if (d.count <= 0) continue;
    const upTo = (q: number): number => {
      const bucket = a.buckets.find(([le]) => (d.upTo(le) ?? 0) >= q * d.count);
      return bucket ? bucket[0] * 1000 : Infinity;
    };
    out[statement.replace(/^bridge_|_batch$/g, '')] = { batches: d.count, meanMs: round((d.sum / d.count) * 1000, 2), p50UpToMs: upTo(0.5), p99UpToMs: upTo(0.99) };
  }
  return out;
}

/**
 * GC pauses during the run (after − before), by kind. prom-client's buckets have 10 ms as a bound, so
 * the pauses long enough to show in a p99 are counted exactly (null if the buckets ever change).
 */
function gcPauses(before: BridgeMetrics | null, after: BridgeMetrics | null, elapsedS: number): ScenarioReport['gcPauses'] {
  if (!before || !after) return null;
  const out: NonNullable<ScenarioReport['gcPauses']> = {};
  for (const [kind, a] of after.gc) {
    const d = during(before.gc.get(kind), a);
    if (d.count <= 0) continue;
    const under10Ms = d.upTo(0.01);
    out[kind] = {
      count: d.count,
      perSec: round(d.count / Math.max(0.001, elapsedS), 2),
      meanMs: round((d.sum / d.count) * 1000, 2),
      totalMs: round(d.sum * 1000, 1),
      over10Ms: under10Ms === null ? null : d.count - under10Ms,
    };
  }
  return out;
}

function describeGc(gc: ScenarioReport['gcPauses']): string {
  if (!gc) return '';
  return ['minor', 'major']
    .filter((kind) => gc[kind])
    .map((kind) => `${kind} ${gc[kind]!.perSec}/s, ${gc[kind]!.meanMs} ms mean${gc[kind]!.over10Ms === null ? '' : `, ${gc[kind]!.over10Ms} over 10 ms`}`)
    .join('; ');
}

async function topStatements(databaseUrl: string, pushes: number): Promise<NonNullable<ScenarioReport['pgStatements']>> {
  const rows = await query<{ query: string; calls: string; mean: number; total: number }>(
    databaseUrl,
    `SELECT query, calls, mean_exec_time AS mean, total_exec_time AS total FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT 12`,
  );
  return rows.map((r) => ({
    query: r.query.replace(/\s+/g, ' ').slice(0, 160),
    calls: Number(r.calls),
    perPush: round(Number(r.calls) / Math.max(1, pushes), 2),
    meanMs: round(r.mean, 3),
    totalMs: round(r.total, 1),
  }));
}

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

function build(): void {
  print(`building (npm run build in ${root}) ...`);
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], timeout: 180_000 });
  if (result.status !== 0) throw new Error(`npm run build failed (exit ${result.status ?? result.signal}); fix the build or pass --skip-build to use the existing dist/`);
}

function errorsOf(r: LoadResult): number {
  return r.ae + r.non200 + r.badAcks + r.socketErrors + r.timeouts;
}

function warmupOf(spec: Spec): number {
  return Math.min(3, Math.max(1, Math.round(spec.durationS / 5)));
}

async function settle(): Promise<void> {
  if (settleS > 0) await sleep(settleS * 1000);
}

/**
 * The machine is shared (other people's test runs): before measuring, wait (bounded) until it is
 * quiet — under 20% busy over one second — and say so when it never got quiet.
 */
async function waitForQuiet(label: string): Promise<number> {
  const until = Date.now() + QUIET_WAIT_MS;
  let busy = 100;
  let said = false;
  while (Date.now() < until) {
    const a = machineCpuSeconds();
    await sleep(1000);
    const b = machineCpuSeconds();
    busy = round((100 * (b.busy - a.busy)) / Math.max(1e-9, b.total - a.total), 1);
    if (busy < 20) return busy;
    if (!said) print(`   waiting for the machine to quiet down before ${label} (${busy}% busy) ...`);
    said = true;
  }
  print(`   warning: machine still ${busy}% busy after ${QUIET_WAIT_MS / 1000} s; measuring anyway (see cpu.others)`);
  return busy;
}

function selectScenarios(raw: string[] | undefined): ScenarioName[] {
  if (!raw || raw.length === 0) return [...SCENARIO_NAMES];
  const names = raw.flatMap((r) => r.split(',')).map((s) => s.trim()).filter(Boolean);
  const aliases: Record<string, ScenarioName> = { slow: 'slow-wechat', info: 'throughput-info' };
  return names.map((n) => {
    const name = aliases[n] ?? n;
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) {
      console.error(`--scenario: unknown "${n}"; expected ${SCENARIO_NAMES.join(', ')}`);
      process.exit(2);
    }
    return name as ScenarioName;
  });
}

function positive(flag: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`${flag}: expected a positive number, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- go (last, so every module-level constant above is initialised) ---------------------------------

try {
  await main();
  clearTimeout(watchdog);
  await cleanup();
  process.exit(0);
} catch (err) {
  clearTimeout(watchdog);
  console.error(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await cleanup();
  process.exit(1);
}
