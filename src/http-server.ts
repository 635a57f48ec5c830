import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { ConfigError, type Config } from './config.js';
import type { Logger } from './log.js';
import { refusalAnswer } from './push/route.js';

// The HTTP server around the app: checks its port before anything starts, answers requests the
// HTTP parser refuses with an ack, and on shutdown lets in-flight requests finish while telling
// keep-alive clients to go.

export interface HttpServer {
  port: number;
  /** Stop accepting, finish in-flight requests (bounded by `graceMs`), then cut the rest. */
  close(graceMs: number): Promise<void>;
}

export async function startHttpServer(app: RequestListener, config: Config, log: Logger): Promise<HttpServer> {
  const server = await listen(app, config);
  const inFlight = trackInFlight(server);
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : config.port,
    close: async (graceMs) => {
      inFlight.closeAfterResponse();
      await closeServer(server, graceMs, log);
    },
  };
}

/** Before Postgres is touched: a second `npm start` must not stop the database of a bridge still serving. */
export async function assertPortFree(config: Pick<Config, 'port' | 'host'>, variable = 'PORT'): Promise<void> {
  if (config.port === 0) return;
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new ConfigError(variable, `${config.host}:${config.port} is already in use (EADDRINUSE): another bridge or program listens there; stop it or choose another ${variable}`)
          : err,
      ),
    );
    probe.listen(config.port, config.host, () => probe.close(() => resolve()));
  });
}

/**
 * The HTTP server with the bridge's limits (the bench's baselines are measured under them too). The
 * push route times a slow body itself (408 with an ack); Node's own request timeout stays behind it
 * as a safety net. Idle keep-alive connections from the ERP stay open a little longer than typical
 * proxies keep theirs.
 */
export function createBridgeServer(app: RequestListener, requestTimeoutMs: number): Server {
  const server = createServer({ requestTimeout: requestTimeoutMs + 5_000, headersTimeout: Math.min(requestTimeoutMs, 10_000), connectionsCheckingInterval: 1000 }, app);
  server.keepAliveTimeout = 65_000;
  return server;
}

function listen(app: RequestListener, config: Config): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createBridgeServer(app, config.requestTimeoutMs);
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
