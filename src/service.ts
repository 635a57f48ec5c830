import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminTokenFromDataDir, keptAdminToken } from './admin/token-file.js';
import { createApp, createCallbackApp, type MetricsText } from './app.js';
import type { QrMaker } from './binding/invite.js';
import { CALLBACK_PATH } from './callback/route.js';
import { pruneCallbackEvents } from './db/callback-events.js';
import type { AdminCredential, Config } from './config.js';
import { createDatabase, type Database } from './db/data-source.js';
import { startEmbeddedPostgres, type EmbeddedServer } from './db/embedded.js';
import { releaseAbandoned } from './db/messages.js';
import { migrate } from './db/migrate.js';
import { assertPortFree, startHttpServer } from './http-server.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import type { PushContext } from './push/context.js';
import { liveDeliverer, sandboxDeliverer, type Channels } from './push/channel-policy.js';
import type { Deliverer } from './push/deliver.js';
import { resend } from './push/resend.js';
import { WechatApi } from './wechat/api.js';
import { CustomerServiceChannel } from './wechat/customer-service.js';
import { createQrScene } from './wechat/qrcode.js';
import { TemplateChannel } from './wechat/template.js';
import { TokenProvider } from './wechat/token.js';

// Wires the parts together and owns their lifecycle: start in dependency order, stop in reverse,
// letting in-flight pushes finish first.

export interface Service {
  url: string;
  instanceId: string;
  /** Stops accepting, finishes in-flight requests (bounded), then closes WeChat, the pool and embedded Postgres. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Something the service cannot recover from (its embedded Postgres keeps dying): stop the process. */
  onFatal?: (err: Error) => void;
}

const SWEEP_INTERVAL_MS = 5_000;
/** Callback dedupe records are pruned about hourly. */
const PRUNE_EVERY_SWEEPS = 720;

/** Before Postgres is touched: a second bridge on the same port must fail without disturbing the first. */
export async function assertPortsFree(config: Config): Promise<void> {
  await assertPortFree(config);
  if (config.callback && config.callback.port !== null) await assertPortFree({ host: config.host, port: config.callback.port }, 'CALLBACK_PORT');
}

/** The database ready to serve: Postgres up (embedded without DATABASE_URL), connected, migrated. */
export interface PreparedDatabase {
  url: string;
  /** An initialized pool on it. */
  db: Database;
  /** The Postgres this process runs and must stop; null with DATABASE_URL. */
  embedded: EmbeddedServer | null;
}

export async function prepareDatabase(config: Config, log: Logger, options: StartOptions = {}): Promise<PreparedDatabase> {
  let embedded: EmbeddedServer | null = null;
  let db: Database | null = null;
  try {
    let databaseUrl = config.databaseUrl;
    if (databaseUrl === null) {
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, database: 'bridge', log, onGiveUp: options.onFatal });
      databaseUrl = embedded.url;
    }
    db = createDatabase({ url: databaseUrl, poolSize: config.dbPoolSize });
    await initialize(db, log);
    await migrate(db.dataSource, log);
    return { url: databaseUrl, db, embedded };
  } catch (err) {
    await abandon(db, embedded, log);
    throw err;
  }
}

/** A failed start (migration, port in use) must not leave an embedded Postgres running. */
export async function abandon(db: Database | null, embedded: EmbeddedServer | null, log: Logger): Promise<void> {
  await db?.close().catch((closing: unknown) => log.warn({ err: closing }, 'closing the database pool after a failed start'));
  await embedded?.stop().catch((stopping: unknown) => log.warn({ err: stopping }, 'stopping the embedded Postgres after a failed start'));
}

/** The bridge as one process: its ports, its database, its HTTP server. */
export async function startService(config: Config, log: Logger, options: StartOptions = {}): Promise<Service> {
  await assertPortsFree(config);
  const { db, embedded } = await prepareDatabase(config, log, options);
  try {
    return await startWith(config, log, db, embedded, {
      adminTokens: async () => config.adminTokens ?? [await adminTokenFromDataDir(config.dataDir, log)],
      claimant: (port) => `${hostname()}:${port}`,
    });
  } catch (err) {
    await abandon(db, embedded, log);
    throw err;
  }
}

export interface WorkerStart {
  /** The database the primary prepared (and migrated): a worker neither starts Postgres nor migrates. */
  databaseUrl: string;
  /** 1..WORKERS, kept by a worker's replacement: its claims are the ones a restart may release. */
  slot: number;
  /** Makes /metrics answer for the whole bridge, given this worker's own metrics. */
  metricsText: (own: Metrics) => MetricsText;
}

/** One of a cluster's workers (cluster.ts): shares the port(s) with its siblings, has its own pool. */
export async function startWorkerService(config: Config, log: Logger, worker: WorkerStart): Promise<Service> {
  const db = createDatabase({ url: worker.databaseUrl, poolSize: config.dbPoolSize });
  try {
    await initialize(db, log);
    return await startWith(config, log, db, null, {
      // The primary made or found the token file before forking: workers only read it.
      adminTokens: async () => config.adminTokens ?? [await keptAdminToken(config.dataDir)],
      // Siblings share host:port, so the slot tells their claims apart: a restarted worker must
      // release only what its predecessor in this slot left behind, never a live sibling's claims.
      claimant: (port) => `${hostname()}:${port}/${worker.slot}`,
      metricsText: worker.metricsText,
    });
  } catch (err) {
    await abandon(db, null, log);
    throw err;
  }
}

/** What differs between the single process and a cluster worker. */
interface Role {
  adminTokens(): Promise<AdminCredential[]>;
  /** Who this process is in `messages.claimed_by`, once its port is known. */
  claimant(port: number): string;
  metricsText?: (own: Metrics) => MetricsText;
}

async function startWith(config: Config, log: Logger, db: Database, embedded: EmbeddedServer | null, role: Role): Promise<Service> {
  const instanceId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const metrics = new Metrics(db.stats);
  const startedAt = new Date();
  const wechat = wechatParts(config, db, instanceId, log, metrics);
  const ctx: PushContext = { db, log, metrics, bridgeId: config.bridgeId, deliverer: wechat.deliverer, maxParts: config.wechat.maxParts, identity: { claimant: '' } };
  const adminTokens = await role.adminTokens();
  const callback = config.callback === null ? null : { db, log, metrics, callback: config.callback, appId: config.wechat.mode === 'live' ? config.wechat.appId : null };
  const app = createApp({
    ctx,
    config: { ...config, adminTokens },
    sandbox: config.wechat.mode === 'sandbox',
    resend: (guid, force, actor) => resend(ctx, guid, force, actor),
    callback,
    makeQr: qrMaker(wechat, config),
    features: { callback: callback !== null, delivery: config.wechat.mode === 'sandbox' ? 'sandbox' : config.wechat.delivery },
    ...(role.metricsText ? { metricsText: role.metricsText(metrics) } : {}),
  });

  const server = await startHttpServer(app, config, log);
  const callbackServer = !callback || callback.callback.port === null ? null : await startHttpServer(createCallbackApp(callback, config.trustProxy), { ...config, port: callback.callback.port }, log);
  if (callback) log.info({ path: CALLBACK_PATH, port: callbackServer?.port ?? server.port, safeMode: callback.callback.aesKeys !== null }, 'WeChat callback enabled');
  ctx.identity.claimant = role.claimant(server.port);
  // No earlier process with this claimant is alive any more (listening proves it alone on the port;
  // a worker's slot is forked again only after its last holder exited): release what it left.
  const abandoned = await releaseAbandoned(db, ctx.identity.claimant, startedAt);
  if (abandoned > 0) log.warn({ count: abandoned }, 'messages interrupted mid-delivery are marked of unknown outcome; check and resend them');
  let sweeps = 0;
  const sweeper = setInterval(() => {
    releaseAbandoned(db, ctx.identity.claimant).catch((err: unknown) => log.warn({ err }, 'could not release abandoned claims (database unavailable?); trying again shortly'));
    if (sweeps++ % PRUNE_EVERY_SWEEPS === 0) pruneCallbackEvents(db).catch((err: unknown) => log.warn({ err }, 'could not prune old callback records; trying again later'));
  }, SWEEP_INTERVAL_MS).unref();

  let stopping: Promise<void> | null = null;
  const stop = async (): Promise<void> => {
    clearInterval(sweeper);
    await Promise.all([server.close(config.shutdownGraceMs), callbackServer?.close(config.shutdownGraceMs)]);
    await wechat.close();
    await db.close().catch((err: unknown) => log.warn({ err }, 'closing the database pool'));
    await embedded?.stop();
  };
  return {
    url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${server.port}`,
    instanceId,
    stop: () => (stopping ??= stop()),
  };
}

export interface WechatParts {
  deliverer: Deliverer;
  /** Live mode: the API and token, for QR codes (invitations). Null in sandbox mode. */
  live: { api: WechatApi; tokens: TokenProvider } | null;
  close(): Promise<void>;
}

/** Sandbox: nothing to connect to. Live: the WeChat API, the shared token, the channels the policy uses. */
function wechatParts(config: Config, db: Database, instanceId: string, log: Logger, metrics: Metrics): WechatParts {
  const wechat = config.wechat;
  if (wechat.mode === 'sandbox') return { deliverer: sandboxDeliverer(wechat.delivery, wechat.template), live: null, close: async () => undefined };
  const api = new WechatApi(wechat, metrics);
  const tokens = new TokenProvider(db, api, wechat, instanceId, log, metrics);
  const channels: Channels = { custom: new CustomerServiceChannel(api, tokens, wechat, metrics) };
  if (wechat.template) channels.template = new TemplateChannel(api, tokens, { ...wechat.template, timeoutMs: wechat.timeoutMs, maxRetries: wechat.maxRetries }, metrics);
  return { deliverer: liveDeliverer(wechat.delivery, channels), live: { api, tokens }, close: () => api.close() };
}

/** Live mode: invitations get WeChat's QR code for their scene. Sandbox: codes only. */
function qrMaker(wechat: WechatParts, config: Config): QrMaker {
  if (wechat.live === null) return null;
  const { api, tokens } = wechat.live;
  return async (scene, expireSeconds) => createQrScene(api, tokens, scene, expireSeconds, config.wechat.timeoutMs);
}

/** Postgres may still be starting (a host reboot brings both up at once): wait up to 30 s for it. */
async function initialize(db: Database, log: Logger): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      await db.dataSource.initialize();
      return;
    } catch (err) {
      if (Date.now() > until) throw new Error(`DATABASE_URL: cannot connect to Postgres (${err instanceof Error ? err.message : String(err)})`);
      log.warn({ err }, 'Postgres not reachable yet; retrying');
      await sleep(1000);
    }
  }
}
