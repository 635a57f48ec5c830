import cluster, { type Worker } from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import { AggregatorRegistry } from 'prom-client';
import { adminTokenFromDataDir } from './admin/token-file.js';
import type { MetricsText } from './app.js';
import type { Config } from './config.js';
import type { Database } from './db/data-source.js';
import { withinMs } from './deadline.js';
import { EXIT, exitOnCrash, stopControl, stopOnSignals } from './lifecycle.js';
import type { Logger } from './log.js';
import { abandon, assertPortsFree, prepareDatabase, startWorkerService, type Service } from './service.js';

// WORKERS > 1: one bridge made of several processes, so pushes use every core (one process runs out
// of its one thread at 500–600 pushes/s on a 2.5 GHz core). The primary owns what must happen once — port checks,
// the embedded Postgres, migrations, the admin token file — then forks the workers, which share the
// port(s) and the database and keep nothing else in common: claims, the WeChat token and callback
// de-duplication already go through Postgres, as they do between replicas. The primary serves no
// request: it keeps the workers running, collects their metrics and stops them in order.

/** Set by the primary in a worker's environment. */
const WORKER_ENV = { slot: 'BRIDGE_WORKER_SLOT', databaseUrl: 'BRIDGE_WORKER_DATABASE_URL' } as const;

type ToPrimary =
  /** prom-client now answers the primary's metrics requests in this worker. */
  | { type: 'bridge:booted' }
  | { type: 'bridge:listening'; url: string }
  | { type: 'bridge:failed'; message: string }
  | { type: 'bridge:metrics-request'; id: number };

type ToWorker = { type: 'bridge:stop' } | { type: 'bridge:metrics-answer'; id: number; text: string | null };

/** A worker that dies is replaced after 100 ms, doubling to 5 s; more than 5 deaths in a minute is not a passing fault. */
const RESTARTS = { max: 5, windowMs: 60_000, firstDelayMs: 100, maxDelayMs: 5_000 };
/** A worker killed by one of these while stopping had not set up its handlers yet: not a failure. */
const STOP_SIGNALS = new Set(['SIGTERM', 'SIGINT', 'SIGHUP']);
/** A scrape waits this long for the primary's answer, then gets 503. */
const METRICS_TIMEOUT_MS = 2_000;
/** How long the primary waits for a just-forked worker to be able to answer for its metrics. */
const METRICS_BOOT_WAIT_MS = 1_500;
/** After SHUTDOWN_GRACE_MS a worker still closes WeChat's connections and its pool. */
const STOP_MARGIN_MS = 10_000;

export interface Primary {
  url: string;
  workers: number;
  /** Every worker finishes its in-flight pushes and exits, then the embedded Postgres stops. */
  stop(): Promise<void>;
}

export interface PrimaryOptions {
  /** The bridge cannot go on (its Postgres or its workers keep dying): stop and exit non-zero. */
  onFatal(err: Error, why: string): void;
  /** A stop was asked for while starting: workers that stop then are not failures. */
  stopRequested(): boolean;
}

export async function startPrimary(config: Config, log: Logger, options: PrimaryOptions): Promise<Primary> {
  await assertPortsFree(config);
  const { url, db, embedded } = await prepareDatabase(config, log, { onFatal: (err) => options.onFatal(err, 'the bridge cannot work without its database') });
  try {
    // Made here, once: workers starting together would each generate (and print) another.
    if (config.adminTokens === null) await adminTokenFromDataDir(config.dataDir, log);
    await warnOnConnectionLimit(db, config, log);
  } catch (err) {
    await abandon(db, embedded, log);
    throw err;
  }
  // The workers have pools of their own; the primary needs none while it runs.
  await db.close().catch((err: unknown) => log.warn({ err }, 'closing the database pool'));
  const workers = new Workers(config, log, url, options);
  let listening: string;
  try {
    listening = await workers.start();
  } catch (err) {
    await workers.stop();
    await abandon(null, embedded, log);
    throw err;
  }
  let stopping: Promise<void> | null = null;
  const stop = async (): Promise<void> => {
    const trouble = await workers.stop();
    await embedded?.stop();
    if (trouble !== null) throw new Error(trouble);
  };
  return { url: listening, workers: config.workers, stop: () => (stopping ??= stop()) };
}

/** Each worker opens up to DB_POOL_SIZE connections: say so at start-up rather than with 系统繁忙 under load. */
async function warnOnConnectionLimit(db: Database, config: Config, log: Logger): Promise<void> {
  const wanted = config.workers * config.dbPoolSize;
  const [row] = await db.query<{ max: string }>(`SELECT current_setting('max_connections') AS max`).catch(() => []);
  const max = Number(row?.max);
  if (Number.isFinite(max) && wanted > max) {
    log.warn(
      { workers: config.workers, dbPoolSize: config.dbPoolSize, maxConnections: max },
      'WORKERS × DB_POOL_SIZE is more than Postgres allows (max_connections): under load pushes will be answered 系统繁忙; lower WORKERS or DB_POOL_SIZE',
    );
  }
}

/** The primary's side: the workers in their slots, their restarts, their metrics, their stop. */
class Workers {
  private readonly current = new Map<number, Worker>();
  private readonly booted = new WeakSet<Worker>();
  private readonly failures = new WeakMap<Worker, string>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly deaths: number[] = [];
  /** prom-client's collection over IPC; its constructor makes the primary listen for the answers. */
  private readonly aggregator = new AggregatorRegistry();
  private starting: { listening: Set<number>; url: string; resolve(url: string): void; reject(err: Error): void } | null = null;
  private stopping = false;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly databaseUrl: string,
    private readonly options: PrimaryOptions,
  ) {}

  /** Forks every slot; resolves with the URL once all of them listen, rejects when one cannot start. */
  start(): Promise<string> {
    const started = new Promise<string>((resolve, reject) => {
      this.starting = { listening: new Set(), url: `http://${this.config.host === '0.0.0.0' ? '127.0.0.1' : this.config.host}:${this.config.port}`, resolve, reject };
    });
    for (let slot = 1; slot <= this.config.workers; slot++) this.fork(slot);
    return started;
  }

  /** Null when every worker stopped by itself, else what went wrong. */
  async stop(): Promise<string | null> {
    this.stopping = true;
    for (const timer of this.restartTimers) clearTimeout(timer);
    const slots = [...this.current.entries()];
    const workers = slots.map(([, worker]) => worker);
    const exits = workers.map((worker) => exitOf(worker));
    for (const worker of workers) {
      // One still loading has no listener for the message yet; a signal stops it at any stage.
      if (!this.booted.has(worker) || !send(worker, { type: 'bridge:stop' })) worker.process.kill('SIGTERM');
    }
    const deadline = this.config.shutdownGraceMs + STOP_MARGIN_MS;
    const inTime = await withinMs(Promise.all(exits).then(() => true), deadline, false);
    if (!inTime) {
      const stuck = slots.filter(([, w]) => w.process.exitCode === null && w.process.signalCode === null);
      this.log.error({ workers: stuck.map(([slot]) => slot), afterMs: deadline }, 'workers did not stop in time; killing them');
      for (const [, worker] of stuck) worker.process.kill('SIGKILL');
      await Promise.all(exits);
      return `${stuck.length} worker(s) did not stop within ${deadline} ms and were killed`;
    }
    // Killed by a stop signal: one that had not yet set up its handlers (Ctrl-C reaches them all).
    const failed = (await Promise.all(exits)).filter((exit) => exit.code !== 0 && !STOP_SIGNALS.has(exit.signal ?? ''));
    return failed.length === 0 ? null : `${failed.length} worker(s) failed to stop cleanly`;
  }

  private fork(slot: number): void {
    const worker = cluster.fork({ [WORKER_ENV.slot]: String(slot), [WORKER_ENV.databaseUrl]: this.databaseUrl });
    this.current.set(slot, worker);
    worker.on('message', (message: ToPrimary) => this.onMessage(worker, slot, message));
    worker.on('exit', (code: number | null, signal: string | null) => {
      // Its last messages (why it failed) may still be in the pipe: read them first.
      if (worker.isConnected()) worker.once('disconnect', () => this.onExit(worker, slot, code, signal));
      else this.onExit(worker, slot, code, signal);
    });
    // An IPC send to a worker that just died: its exit is handled above.
    worker.on('error', (err: Error) => this.log.warn({ err, worker: slot }, 'worker IPC error'));
  }

  private onMessage(worker: Worker, slot: number, message: ToPrimary): void {
    switch (message.type) {
      case 'bridge:booted':
        this.booted.add(worker);
        return;
      case 'bridge:failed':
        this.failures.set(worker, message.message);
        return;
      case 'bridge:listening':
        if (this.starting) {
          this.starting.url = message.url;
          this.listened(slot);
        } else {
          this.log.info({ worker: slot, pid: worker.process.pid }, 'worker listening again');
        }
        return;
      case 'bridge:metrics-request':
        void this.collectMetrics().then((text) => send(worker, { type: 'bridge:metrics-answer', id: message.id, text }));
        return;
    }
  }

  private listened(slot: number): void {
    const starting = this.starting!;
    starting.listening.add(slot);
    if (starting.listening.size < this.config.workers) return;
    this.starting = null;
    starting.resolve(starting.url);
  }

  private onExit(worker: Worker, slot: number, code: number | null, signal: string | null): void {
    if (this.current.get(slot) === worker) this.current.delete(slot);
    if (this.stopping) return;
    const why = this.failures.get(worker) ?? (signal !== null ? `killed by ${signal}` : `exit code ${code}`);
    if (this.starting) {
      // Ctrl-C reaches the workers too: one that stopped then has done what was asked.
      if (this.options.stopRequested()) return this.listened(slot);
      const starting = this.starting;
      this.starting = null;
      starting.reject(new Error(`worker ${slot} did not start: ${why}`));
      return;
    }
    if (this.options.stopRequested()) return;
    const now = Date.now();
    this.deaths.push(now);
    while (this.deaths.length > 0 && this.deaths[0]! < now - RESTARTS.windowMs) this.deaths.shift();
    if (this.deaths.length > RESTARTS.max) {
      const err = new Error(`workers keep dying (${this.deaths.length} times in ${RESTARTS.windowMs / 1000} s); last: worker ${slot}, ${why}`);
      this.log.fatal({ err }, 'workers cannot be kept running');
      this.options.onFatal(err, 'workers keep dying');
      return;
    }
    const delayMs = Math.min(RESTARTS.firstDelayMs * 2 ** (this.deaths.length - 1), RESTARTS.maxDelayMs);
    this.log.error({ worker: slot, pid: worker.process.pid, reason: why, restartInMs: delayMs }, 'worker died unexpectedly; starting another in its slot');
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      // A signal to the whole process group (Ctrl-C, systemd) may have stopped that worker: the
      // primary got it too by now.
      if (!this.stopping && !this.options.stopRequested()) this.fork(slot);
    }, delayMs);
    this.restartTimers.add(timer);
  }

  /** The whole bridge's metrics, summed over the workers by prom-client; null when they could not be had. */
  private async collectMetrics(): Promise<string | null> {
    // prom-client asks every connected worker and waits for all: a worker still loading would not
    // answer its request, so give it a moment to get there.
    for (let waited = 0; waited < METRICS_BOOT_WAIT_MS && ![...this.current.values()].every((w) => this.booted.has(w)); waited += 50) await sleep(50);
    try {
      return await this.aggregator.clusterMetrics();
    } catch (err) {
      this.log.warn({ err }, "could not collect the workers' metrics");
      return null;
    }
  }
}

function send(worker: Worker, message: ToWorker): boolean {
  if (!worker.isConnected()) return false;
  // With a callback, a channel that closes meanwhile is reported here instead of as an 'error' event.
  worker.send(message, () => undefined);
  return true;
}

function exitOf(worker: Worker): Promise<{ code: number | null; signal: string | null }> {
  const { exitCode, signalCode } = worker.process;
  if (exitCode !== null || signalCode !== null) return Promise.resolve({ code: exitCode, signal: signalCode });
  return new Promise((resolve) => worker.once('exit', (code: number | null, signal: string | null) => resolve({ code, signal })));
}

// ---- the worker ------------------------------------------------------------------------------------

/** A worker's life: start on the primary's database, tell the primary, stop when it says so (or is gone). */
export async function runWorker(config: Config, baseLog: Logger): Promise<void> {
  // First thing: from here on this process answers the primary's metrics requests (the listener is
  // added by the constructor), with an empty registry until the service's is set below.
  new AggregatorRegistry();
  toPrimary({ type: 'bridge:booted' });
  const slot = Number(process.env[WORKER_ENV.slot]);
  const databaseUrl = process.env[WORKER_ENV.databaseUrl] ?? '';
  const log = baseLog.child({ worker: slot });
  const control = stopControl(log);
  stopOnSignals(control);
  exitOnCrash(log);
  const metricsWaiting = new Map<number, (text: string | null) => void>();
  process.on('message', (message: ToWorker) => {
    if (message.type === 'bridge:stop') control.request({ cause: 'the primary asked' });
    else if (message.type === 'bridge:metrics-answer') metricsWaiting.get(message.id)?.(message.text);
  });
  // The primary died (kill -9, crash). Node's cluster exits the worker right after this event, in-flight
  // pushes and all: a worker nobody stops or replaces must not linger. What it had claimed is released
  // when its slot starts again, or by any bridge once the lease runs out.
  cluster.worker!.on('disconnect', () => log.warn('the primary process is gone: this worker exits with it'));

  let service: Service;
  try {
    service = await startWorkerService(config, log, {
      databaseUrl,
      slot,
      metricsText: (own) => {
        AggregatorRegistry.setRegistries([own.registry]);
        return askPrimaryForMetrics(metricsWaiting);
      },
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.fatal({ err }, 'worker failed to start');
    // The primary prints the one line (start-up) or restarts this slot (later).
    toPrimary({ type: 'bridge:failed', message }, () => process.exit(EXIT.failed));
    return;
  }
  toPrimary({ type: 'bridge:listening', url: service.url });
  control.up(service);
}

function toPrimary(message: ToPrimary, then: () => void = () => undefined): void {
  if (!process.connected || !process.send) return then();
  process.send(message, undefined, {}, () => then());
}

function askPrimaryForMetrics(waiting: Map<number, (text: string | null) => void>): MetricsText {
  let nextId = 0;
  return () =>
    new Promise((resolve) => {
      if (!process.connected) return resolve(null);
      const id = ++nextId;
      const timer = setTimeout(() => answer(null), METRICS_TIMEOUT_MS);
      function answer(text: string | null): void {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(text);
      }
      waiting.set(id, answer);
      toPrimary({ type: 'bridge:metrics-request', id });
    });
}
