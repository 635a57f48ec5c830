import { randomBytes } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { hostname } from 'node:os';
import type { DataSource } from 'typeorm';
import { adminTokenFromDataDir } from './admin/token-file.js';
import { createApp } from './app.js';
import { ConfigError, type Config } from './config.js';
import { createDataSource, Db } from './db/database.js';
import { startEmbeddedPostgres, type EmbeddedServer } from './db/embedded.js';
import { migrate } from './db/migrate.js';
import type { Logger } from './log.js';
import { Metrics, type PoolStats } from './metrics.js';
import { Deliverer } from './push/deliver.js';
import { PushPipeline } from './push/pipeline.js';
import { refusalAnswer } from './push/route.js';
import { MessageLog } from './push/record.js';
import { WechatApi } from './wechat/api.js';
import { TokenProvider } from './wechat/token.js';

// Wires the parts together and owns their lifecycle: start in dependency order, stop in reverse,
// letting in-flight pushes finish first.

export interface Service {
  url: string;
  db: Db;
  instanceId: string;
  tokens: TokenProvider | null;
  /** Stops accepting, finishes in-flight requests (bounded), then closes WeChat, the pool and embedded Postgres. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Something the service cannot recover from (its embedded Postgres keeps dying): stop the process. */
  onFatal?: (err: Error) => void;
}

const SWEEP_INTERVAL_MS = 5_000;

export async function startService(config: Config, log: Logger, options: StartOptions = {}): Promise<Service> {
  // Before touching Postgres: a second `npm start` must not stop the database of a bridge still serving.
  await assertPortFree(config);
  let embedded: EmbeddedServer | null = null;
  let db: Db | null = null;
  try {
    let databaseUrl = config.databaseUrl;
    if (databaseUrl === null) {
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, database: 'bridge', log, onGiveUp: options.onFatal });
      databaseUrl = embedded.url;
    }
    const dataSource = createDataSource({ url: databaseUrl, poolSize: config.dbPoolSize });
    await initialize(dataSource, log);
    db = new Db(dataSource);
    await migrate(dataSource, log);
    return await startWith(config, log, db, embedded);
  } catch (err) {
    // A failed start (migration, port in use) must not leave an embedded Postgres running.
    await db?.close();
    await embedded?.stop().catch(() => undefined);
    throw err;
  }
}

async function startWith(config: Config, log: Logger, db: Db, embedded: EmbeddedServer | null): Promise<Service> {
  const instanceId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const dataSource = db.dataSource;
  const metrics = new Metrics(poolStats(dataSource));
  const startedAt = new Date();
  const messages = new MessageLog(db);

  const { appId, secret } = config.wechat;
  const sandbox = appId === null || secret === null;
  const api = sandbox ? null : new WechatApi(config.wechat, metrics);
  const tokens = api && appId && secret ? new TokenProvider(db, api, { ...config.wechat, appId, secret }, instanceId, log, metrics) : null;
  const deliverer = api && tokens ? new Deliverer(api, tokens, config.wechat, metrics) : null;
  const pipeline = new PushPipeline({ bridgeId: config.bridgeId, messages, deliverer, log, metrics, maxParts: config.wechat.maxParts });
  const adminTokens = config.adminTokens ?? [await adminTokenFromDataDir(config.dataDir, log)];
  const app = createApp({ db, pipeline, metrics, config: { ...config, adminTokens }, sandbox, log });

  const server = await listen(app, config);
  const inFlight = trackInFlight(server);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  messages.claimant = `${hostname()}:${port}`;
  // Listening proves no earlier process of ours holds this port any more: release its claims.
  const abandoned = await messages.markAbandoned(startedAt);
  if (abandoned > 0) log.warn({ count: abandoned }, 'messages interrupted mid-delivery are marked of unknown outcome; check and resend them');
  const sweeper = setInterval(() => {
    messages.markAbandoned().catch((err: unknown) => log.warn({ err }, 'could not release abandoned claims (database unavailable?); trying again shortly'));
  }, SWEEP_INTERVAL_MS).unref();
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;

  let stopping: Promise<void> | null = null;
  const stop = async (): Promise<void> => {
    clearInterval(sweeper);
    inFlight.closeAfterResponse();
    await closeServer(server, config.shutdownGraceMs, log);
    await api?.close().catch(() => undefined);
    await db.close();
    await embedded?.stop().catch(() => undefined);
  };
  return {
    url,
    db,
    instanceId,
    tokens,
    stop: () => (stopping ??= stop()),
  };
}

/** The pg pool behind TypeORM, for the pool gauges. */
function poolStats(dataSource: DataSource): PoolStats {
  const pool = (): { totalCount: number; idleCount: number; waitingCount: number } | undefined =>
    (dataSource.driver as unknown as { master?: { totalCount: number; idleCount: number; waitingCount: number } }).master;
  return {
    inUse: () => {
      const p = pool();
      return p ? p.totalCount - p.idleCount : 0;
    },
    waiting: () => pool()?.waitingCount ?? 0,
  };
}

/** Postgres may still be starting (a host reboot brings both up at once): wait up to 30 s for it. */
async function initialize(dataSource: DataSource, log: Logger): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      await dataSource.initialize();
      return;
    } catch (err) {
      if (Date.now() > until) throw new Error(`DATABASE_URL: cannot connect to Postgres (${err instanceof Error ? err.message : String(err)})`);
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'Postgres not reachable yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function assertPortFree(config: Config): Promise<void> {
  if (config.port === 0) return;
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new ConfigError('PORT', `${config.host}:${config.port} is already in use (EADDRINUSE): another bridge or program listens there; stop it or choose another PORT`)
          : err,
      ),
    );
    probe.listen(config.port, config.host, () => probe.close(() => resolve()));
  });
}

function listen(app: ReturnType<typeof createApp>, config: Config): Promise<Server> {
  return new Promise((resolve, reject) => {
    // The push route times a slow body itself (408 with an ack); Node's own request timeout stays
    // behind it as a safety net. Idle keep-alive connections from the ERP stay open a little longer
    // than typical proxies keep theirs.
    const server = createServer(
      { requestTimeout: config.requestTimeoutMs + 5_000, headersTimeout: Math.min(config.requestTimeoutMs, 10_000), connectionsCheckingInterval: 1000 },
      app,
    );
    server.keepAliveTimeout = 65_000;
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerBrokenRequest(err, socket, config.bridgeId));
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve(server));
  });
}

/**
 * A request the HTTP parser refuses (broken framing, a header too large, headers too slow) still
 * gets an AE ack, bare, since its envelope is unknown.
 */
function answerBrokenRequest(err: NodeJS.ErrnoException, socket: Duplex, bridgeId: string): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, text, reason] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT'
      ? [408, 'Request Timeout', '消息格式错误：请求未在时限内收完']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', '消息格式错误：请求头过大']
        : [400, 'Bad Request', '消息格式错误：HTTP请求格式错误'];
  const answer = refusalAnswer(bridgeId, reason, undefined, undefined);
  const body = Buffer.from(answer.body, 'utf8');
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: ${answer.contentType}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${answer.body}`);
}

/** Responses still to be written: on shutdown they say `Connection: close`, so no client sends another request into a closing socket. */
function trackInFlight(server: Server): { closeAfterResponse(): void } {
  const open = new Set<ServerResponse>();
  let closing = false;
  server.on('request', (_req, res: ServerResponse) => {
    if (closing) res.shouldKeepAlive = false;
    open.add(res);
    res.once('close', () => open.delete(res));
  });
  return {
    closeAfterResponse() {
      closing = true;
      for (const res of open) if (!res.headersSent) res.shouldKeepAlive = false;
    },
  };
}

/** Stop accepting, let in-flight requests finish (bounded by SHUTDOWN_GRACE_MS), then cut the rest. */
async function closeServer(server: Server, graceMs: number, log: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections become idle as their in-flight push is answered; close each then.
  const reaper = setInterval(() => server.closeIdleConnections(), 100);
  const timer = setTimeout(() => {
    log.warn('shutdown grace period over; closing remaining connections');
    server.closeAllConnections();
  }, graceMs);
  server.closeIdleConnections();
  await closed;
  clearInterval(reaper);
  clearTimeout(timer);
}
