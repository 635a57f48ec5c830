import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { Agent, request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../support/bridge.js';
import { withClient } from '../support/database.js';
import { bind } from '../support/employees.js';
import { FakeWechat } from '../support/fake-wechat.js';
import { freePort } from '../support/global-setup.js';
import { startLoad, sleep } from '../support/load.js';
import { childrenOf, isAlive, postmasterPid, spawnBridge, type BridgeProcess, type SpawnOptions } from '../support/process.js';
import { guidOfText, newGuid, soapPush } from '../support/push.js';
import { startFlags } from '../support/start-command.js';
import { readAck } from '../../src/cli/fixture-file.js';

// WORKERS=2: one primary (embedded Postgres, migrations, restarts) and two workers sharing the
// port, each a claimant of its own, killed and replaced, /metrics summed over both, and SIGTERM
// leaving nothing behind.

const OPENID = 'oE2XCwQb6WdYSo54avF41qKoU3rY';
let wechat: FakeWechat;
const running: BridgeProcess[] = [];
const dataDirs: string[] = [];

beforeAll(async () => {
  wechat = await new FakeWechat().start();
});

afterAll(async () => {
  // After a failed test: a primary's SIGTERM also takes its workers and Postgres down; SIGKILL would orphan them.
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  await Promise.race([Promise.all(running.map((p) => p.exited)), sleep(30_000)]);
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await wechat?.stop();
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
});

interface Cluster {
  proc: BridgeProcess;
  dataDir: string;
  port: number;
  databaseUrl: string;
}

async function startCluster(workers: number, extra: NodeJS.ProcessEnv = {}, options: SpawnOptions = {}): Promise<Cluster> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bridge-workers-'));
  dataDirs.push(dataDir);
  const port = await freePort();
  const pgPort = await freePort();
  const proc = spawnBridge({
    WORKERS: String(workers),
    PORT: String(port),
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(pgPort),
    ADMIN_TOKEN,
    WECHAT_APPID: wechat.appId,
    WECHAT_SECRET: wechat.secret,
    WECHAT_API_BASE: wechat.url,
    WECHAT_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'info',
    ...extra,
  }, options);
  running.push(proc);
  const password = () => readFileSync(path.join(dataDir, 'postgres.password'), 'utf8').trim();
  return {
    proc,
    dataDir,
    port,
    get databaseUrl() {
      return `postgres://postgres:${encodeURIComponent(password())}@127.0.0.1:${pgPort}/bridge`;
    },
  };
}

async function until(what: string, check: () => boolean | Promise<boolean>, output: () => string, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (await check()) return;
  throw new Error(`timed out waiting for ${what}:\n${output()}`);
}

/** Node processes under the primary (its workers; Postgres is the other child). */
function workerPids(primary: number): number[] {
  return childrenOf(primary).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('main.js');
    } catch {
      return false;
    }
  });
}

/** The primary left no worker behind, and its Postgres stopped (within 5 s). */
async function expectNothingLeft(proc: BridgeProcess, postgres: number): Promise<void> {
  expect(childrenOf(proc.child.pid!)).toEqual([]);
  for (let i = 0; i < 50 && isAlive(postgres); i++) await sleep(100);
  expect(isAlive(postgres)).toBe(false);
}

/** A push on a connection of its own, so the primary hands each one to the next worker. */
async function pushAlone(url: string, guid: string) {
  const res = await request(url).post('/push').set('Content-Type', 'application/soap+xml; charset=utf-8').set('Connection', 'close').send(soapPush(guid, '10086'));
  return { ...readAck(res.text), status: res.status };
}

function sumOf(metrics: string, name: string): number {
  return metrics
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** The JSON log lines so far (the last one may still be arriving: skipped until whole). */
const logLines = (proc: BridgeProcess): Array<Record<string, unknown>> =>
  proc
    .output()
    .split('\n')
    .flatMap((line) => {
      try {
        return line.startsWith('{') ? [JSON.parse(line) as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });

describe('WORKERS=2', () => {
  let cluster: Cluster;
  const everyWorker = new Set<number>();

  beforeAll(async () => {
    wechat.reset();
    cluster = await startCluster(2);
    await cluster.proc.healthy();
    await until('"bridge listening"', () => cluster.proc.output().includes('bridge listening'), cluster.proc.output);
    for (const pid of workerPids(cluster.proc.child.pid!)) everyWorker.add(pid);
    await bind(cluster.proc.url, { employeeNo: '10086', openid: OPENID, name: '', active: true });
  });

  it('starts one primary with two workers, and says so once', () => {
    expect(everyWorker.size).toBe(2);
    const listening = logLines(cluster.proc).filter((l) => l.msg === 'bridge listening');
    expect(listening).toHaveLength(1);
    expect(listening[0]).toMatchObject({ url: cluster.proc.url, workers: 2 });
    expect(listening[0]!.ms).toEqual(expect.any(Number));
    // Migrations ran once, in the primary.
    expect(logLines(cluster.proc).filter((l) => l.msg === 'database migrated')).toHaveLength(1);
  });

  it("runs every worker with the start command's node flags (the heap bound among them)", () => {
    const heapFlag = startFlags().find((f) => f.startsWith('--max-old-space-size='));
    expect(heapFlag).toBeDefined();
    for (const pid of everyWorker) expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain(heapFlag);
  });

  it('answers concurrent pushes AA, delivers each once, from both workers, with one access token', async () => {
    const guids = Array.from({ length: 40 }, () => newGuid());
    const acks = await Promise.all(guids.map((guid) => pushAlone(cluster.proc.url, guid)));
    for (const ack of acks) expect(ack).toMatchObject({ status: 200, ackCode: 'AA', reason: '处理成功' });
    const delivered = wechat.delivered().map(guidOfText);
    for (const guid of guids) expect(delivered.filter((g) => g === guid)).toHaveLength(1);
    expect(wechat.tokenCalls).toHaveLength(1);

    const claimants = await withClient(cluster.databaseUrl, async (c) => (await c.query(`SELECT DISTINCT claimed_by FROM messages WHERE guid = ANY($1)`, [guids])).rows.map((r) => r.claimed_by as string));
    expect(claimants.sort()).toEqual([`${hostname()}:${cluster.port}/1`, `${hostname()}:${cluster.port}/2`]);
  }, 60_000);

  it('reports the whole bridge at /metrics, summed over the workers', async () => {
    const res = await request(cluster.proc.url).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(sumOf(res.text, 'bridge_pushes_total')).toBe(40);
    expect(sumOf(res.text, 'bridge_wechat_token_fetches_total')).toBe(1);
    // Summed into one series each, names and labels as one process reports them.
    expect(res.text.match(/^# TYPE bridge_db_pool_in_use gauge$/gm)).toHaveLength(1);
    expect(res.text.match(/^bridge_db_pool_in_use \d+$/gm)).toHaveLength(1);
    expect(res.text).toMatch(/^bridge_pushes_total\{outcome="DELIVERED",ack="AA"\} 40$/m);
    expect((await request(cluster.proc.url).get('/healthz')).status).toBe(200);
  });

  it('answers /metrics 503, saying why, when the primary does not collect the metrics within 2 s', async () => {
    // One kept-alive connection: it reaches a worker even while the primary (which accepts new ones) is stopped.
    const agent = new Agent({ connections: 1 });
    const scrape = async () => {
      const res = await undiciRequest(`${cluster.proc.url}/metrics`, { dispatcher: agent });
      return { status: res.statusCode, text: await res.body.text() };
    };
    try {
      expect((await scrape()).status).toBe(200);
      process.kill(cluster.proc.child.pid!, 'SIGSTOP');
      const started = Date.now();
      let answer: { status: number; text: string };
      try {
        answer = await scrape();
      } finally {
        process.kill(cluster.proc.child.pid!, 'SIGCONT');
      }
      expect(answer).toEqual({ status: 503, text: expect.stringMatching(/^metrics unavailable: /) });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      expect((await scrape()).status).toBe(200);
    } finally {
      await agent.close();
    }
  });

  it('replaces a worker killed mid-delivery in its slot, which releases only its own claims, while pushes keep being answered', async () => {
    wechat.reset();
    wechat.sendDelayMs = 300;
    const load = startLoad([cluster.proc.url], { concurrency: 8, employeeNo: '10086' });
    await sleep(1000);
    const [victim] = workerPids(cluster.proc.child.pid!);
    process.kill(victim!, 'SIGKILL');
    await until('the death to be noticed', () => logLines(cluster.proc).some((l) => l.msg === 'worker died unexpectedly; starting another in its slot'), cluster.proc.output);
    const death = logLines(cluster.proc).find((l) => l.msg === 'worker died unexpectedly; starting another in its slot')!;
    expect(death).toMatchObject({ pid: victim, reason: 'killed by SIGKILL' });
    const slot = death.worker as number;
    await until('the replacement', () => logLines(cluster.proc).some((l) => l.msg === 'worker listening again'), cluster.proc.output);
    expect(logLines(cluster.proc).find((l) => l.msg === 'worker listening again')).toMatchObject({ worker: slot });
    // The survivor keeps pushing through the replacement's start (and its release of claims).
    await sleep(1000);
    const results = await load.stop();
    wechat.sendDelayMs = 0;

    const answered = results.filter((r) => r.ackCode === 'AA');
    const cutOff = results.filter((r) => r.ackCode === null).map((r) => r.guid);
    expect(results.filter((r) => r.ackCode === 'AE')).toEqual([]);
    expect(answered.filter((r) => r.startedAt > Date.now() - 2500).length).toBeGreaterThan(0);
    expect(cutOff.length).toBeGreaterThan(0);
    const delivered = wechat.delivered().map(guidOfText);
    for (const r of answered) expect(delivered.filter((g) => g === r.guid)).toHaveLength(1);

    const rows = await withClient(cluster.databaseUrl, async (c) => (await c.query(`SELECT guid, status, claimed_by FROM messages WHERE guid = ANY($1)`, [results.map((r) => r.guid)])).rows);
    expect(rows.filter((r) => r.status === 'processing')).toEqual([]);
    const unknown = rows.filter((r) => r.status === 'unknown');
    expect(unknown.length).toBeGreaterThan(0);
    // Only the dead worker's interrupted pushes, never a live sibling's (same host and port).
    for (const row of unknown) expect(row.claimed_by).toBe(`${hostname()}:${cluster.port}/${slot}`);
    const answeredGuids = new Set(answered.map((r) => r.guid));
    expect(unknown.filter((r) => answeredGuids.has(r.guid))).toEqual([]);
    // What the replacement released is exactly those: the survivor's pushes in flight then were not touched.
    const released = logLines(cluster.proc).filter((l) => l.msg === 'messages interrupted mid-delivery are marked of unknown outcome; check and resend them');
    expect(released).toEqual([expect.objectContaining({ worker: slot, count: unknown.length })]);

    // The replacement serves: fresh connections go to both workers again.
    for (const pid of workerPids(cluster.proc.child.pid!)) everyWorker.add(pid);
    expect(everyWorker.size).toBe(3);
    const guids = Array.from({ length: 16 }, () => newGuid());
    for (const ack of await Promise.all(guids.map((guid) => pushAlone(cluster.proc.url, guid)))) expect(ack).toMatchObject({ ackCode: 'AA', reason: '处理成功' });
    const claimants = await withClient(cluster.databaseUrl, async (c) => (await c.query(`SELECT DISTINCT claimed_by FROM messages WHERE guid = ANY($1)`, [guids])).rows.map((r) => r.claimed_by as string));
    expect(claimants).toContain(`${hostname()}:${cluster.port}/${slot}`);
    expect(wechat.tokenCalls).toHaveLength(0); // the replacement found the shared token in Postgres
    expect((await request(cluster.proc.url).get('/metrics')).status).toBe(200);
  }, 90_000);

  it('stops on SIGTERM: workers finish their pushes, Postgres stops, exit 0, no process left', async () => {
    wechat.sendDelayMs = 1000;
    const postgres = postmasterPid(cluster.dataDir);
    const inFlight = Array.from({ length: 6 }, () => pushAlone(cluster.proc.url, newGuid()));
    await sleep(300);
    cluster.proc.child.kill('SIGTERM');
    for (const ack of await Promise.all(inFlight)) expect(ack).toMatchObject({ ackCode: 'AA', reason: '处理成功' });
    expect(await cluster.proc.exited).toBe(0);
    wechat.sendDelayMs = 0;
    for (const pid of [...everyWorker, postgres]) expect(isAlive(pid)).toBe(false);
    expect(existsSync(path.join(cluster.dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(cluster.proc.errors()).toBe('');
  }, 60_000);
});

describe('WORKERS=2: starting and stopping', () => {
  it('stops cleanly, workers and Postgres included, when SIGTERM arrives while the workers are starting', async () => {
    const { proc, dataDir } = await startCluster(2);
    await until('the migrations', () => proc.output().includes('database migrated'), proc.output);
    const postgres = postmasterPid(dataDir);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(logLines(proc).some((l) => l.msg === 'signal during start-up: stopping as soon as the bridge is up')).toBe(true);
    await expectNothingLeft(proc, postgres);
  }, 60_000);

  it('stops cleanly when SIGTERM reaches every process at once (systemd\'s default KillMode=control-group)', async () => {
    const { proc, dataDir } = await startCluster(2, {}, { detached: true });
    await proc.healthy();
    await until('"bridge listening"', () => proc.output().includes('bridge listening'), proc.output);
    const processes = [...workerPids(proc.child.pid!), postmasterPid(dataDir)];
    expect(processes).toHaveLength(3);
    process.kill(-proc.child.pid!, 'SIGTERM');
    expect(await proc.exited).toBe(0);
    for (let i = 0; i < 50 && processes.some(isAlive); i++) await sleep(100);
    expect(processes.filter(isAlive)).toEqual([]);
    expect(logLines(proc).filter((l) => l.msg === 'worker died unexpectedly; starting another in its slot')).toEqual([]);
    expect(proc.errors()).toBe('');
  }, 60_000);

  it('takes its workers with it when the primary is killed', async () => {
    const { proc, dataDir } = await startCluster(2);
    await proc.healthy();
    await until('"bridge listening"', () => proc.output().includes('bridge listening'), proc.output);
    const workers = workerPids(proc.child.pid!);
    expect(workers).toHaveLength(2);
    const postgres = postmasterPid(dataDir);
    proc.child.kill('SIGKILL');
    await proc.exited;
    try {
      for (let i = 0; i < 50 && workers.some(isAlive); i++) await sleep(100);
      expect(workers.filter(isAlive)).toEqual([]);
      expect(logLines(proc).filter((l) => l.msg === 'the primary process is gone: this worker exits with it')).toHaveLength(2);
    } finally {
      // Like any bridge's after kill -9, its Postgres lives on (the next start stops it): stop it here.
      if (isAlive(postgres)) process.kill(postgres, 'SIGINT');
      for (let i = 0; i < 100 && isAlive(postgres); i++) await sleep(100);
    }
  }, 60_000);

  it('fails with one line, and stops its Postgres, when a worker cannot start', async () => {
    // Preloaded into every process (workers inherit NODE_OPTIONS): workers die while loading.
    const dir = await mkdtemp(path.join(tmpdir(), 'bridge-breaker-'));
    dataDirs.push(dir);
    const breaker = path.join(dir, 'break-workers.mjs');
    writeFileSync(breaker, "import cluster from 'node:cluster';\nif (cluster.isWorker) process.exit(3);\n");
    const { proc, dataDir } = await startCluster(2, { NODE_OPTIONS: `--import=${breaker}` });
    expect(await proc.exited).toBe(1);
    expect(proc.errors().trim().split('\n')).toEqual([expect.stringMatching(/^start-up failed: worker [12] did not start: exit code 3$/)]);
    expect(childrenOf(proc.child.pid!)).toEqual([]);
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  }, 60_000);

  it('gives up when workers keep dying: stops everything and exits 1, saying why', async () => {
    const { proc, dataDir } = await startCluster(2);
    await proc.healthy();
    await until('"bridge listening"', () => proc.output().includes('bridge listening'), proc.output);
    const postgres = postmasterPid(dataDir);
    const killed = new Set<number>();
    for (const end = Date.now() + 30_000; proc.child.exitCode === null && Date.now() < end; await sleep(20)) {
      for (const pid of workerPids(proc.child.pid!)) {
        if (killed.has(pid)) continue;
        killed.add(pid);
        process.kill(pid, 'SIGKILL');
      }
    }
    expect(await proc.exited).toBe(1);
    expect(killed.size).toBe(6);
    const fatal = logLines(proc).find((l) => l.msg === 'workers cannot be kept running');
    expect((fatal?.err as { message?: string } | undefined)?.message).toMatch(/^workers keep dying \(6 times in 60 s\); last: worker [12], killed by SIGKILL$/);
    expect(logLines(proc).some((l) => l.msg === 'stopping: workers keep dying')).toBe(true);
    await expectNothingLeft(proc, postgres);
  }, 60_000);

  it('refuses a WORKERS that is not a positive whole number, naming it (exit 2)', async () => {
    const { proc, dataDir } = await startCluster(2, { WORKERS: '0' });
    expect(await proc.exited).toBe(2);
    expect(proc.errors().trim().split('\n')).toEqual([expect.stringMatching(/^configuration error: WORKERS: /)]);
    expect(existsSync(path.join(dataDir, 'postgres'))).toBe(false);
  });
});
