import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { adminApi, adminPage } from './admin/router.js';
import type { AdminCredential, Config } from './config.js';
import type { Db } from './db/database.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { pushAccess } from './push/access.js';
import { writeAck, wrapAck } from './push/acknowledge.js';
import { guessEnvelopeKind } from './push/envelope.js';
import type { PushPipeline } from './push/pipeline.js';
import { writeWsdl } from './push/wsdl.js';

// The HTTP surface: /push (receive), /healthz and /readyz, /metrics, the admin API and page.

export interface AppOptions {
  db: Db;
  pipeline: PushPipeline;
  metrics: Metrics;
  config: Pick<Config, 'bridgeId' | 'pushMaxBytes' | 'pushAllowIps' | 'pushToken' | 'trustProxy'> & { adminTokens: AdminCredential[] };
  sandbox: boolean;
  log: Logger;
}

const ADMIN_PAGE_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export function createApp(options: AppOptions): express.Express {
  const { db, pipeline, log, config } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);

  // The push route comes first: it is the hot path, and every layer before it costs each push.
  const access = pushAccess(config.pushAllowIps, config.pushToken);
  const guard = (req: Request, res: Response, next: NextFunction): void => {
    const token = req.get('x-push-token') ?? (typeof req.query.token === 'string' ? req.query.token : undefined);
    const refusal = access.refusal(req.ip, token);
    if (refusal === null) return next();
    log.warn({ ip: req.ip, reason: refusal }, 'push refused');
    // The body is never read: closing the connection after the answer discards it.
    res.set('Connection', 'close');
    sendBareAck(res, req, 403, refusal, options);
  };
  const guarded = config.pushAllowIps.length > 0 || config.pushToken !== null;
  app.post(
    '/push',
    guarded ? guard : (_req: Request, _res: Response, next: NextFunction) => next(),
    express.raw({ type: () => true, limit: config.pushMaxBytes }),
    async (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const result = await pipeline.handle(body, req.get('content-type'));
      res.status(200).set('X-Content-Type-Options', 'nosniff').type(result.contentType).send(result.body);
    },
  );
  app.use('/push', pushErrorHandler(options));

  app.use((_req, res, next) => {
    res.set('X-Content-Type-Options', 'nosniff');
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const ok = await db.ping(1500);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'database unavailable' });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });

  app.get('/push', (req, res) => {
    if (!Object.keys(req.query).some((key) => key.toLowerCase() === 'wsdl')) {
      res.status(405).set('Allow', 'POST').type('text/plain').send('POST an approval push here; GET /push?wsdl for the WSDL.\n');
      return;
    }
    res.type('text/xml; charset=utf-8').send(writeWsdl(`${req.protocol}://${req.get('host') ?? 'localhost'}/push`));
  });


  app.use('/admin', (_req, res, next) => {
    res.set({ 'Content-Security-Policy': ADMIN_PAGE_CSP, 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store' });
    next();
  });
  app.use('/admin/api', adminApi({ db, pipeline, adminTokens: config.adminTokens, sandbox: options.sandbox, log }));
  app.use('/admin', adminPage());

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  return app;
}

/** Body-level failures (too large, aborted, bad encoding) still get an AE ack in the sender's envelope. */
function pushErrorHandler(options: AppOptions) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    const type = (err as { type?: string }).type;
    const status = type === 'entity.too.large' ? 413 : typeof (err as { status?: number }).status === 'number' ? (err as { status: number }).status : 500;
    const reason =
      status === 413 ? `消息格式错误：消息超过${options.config.pushMaxBytes}字节上限` : status < 500 ? '消息格式错误：请求体无法读取' : '系统繁忙，请稍后重试';
    options.log.warn({ status, type, err: err instanceof Error ? err.message : String(err) }, 'push refused before processing');
    if (status === 413) res.set('Connection', 'close');
    sendBareAck(res, req, status, reason, options);
  };
}

/** An AE ack for a push refused before its body was read, in the envelope its headers suggest. */
function sendBareAck(res: Response, req: Request, status: number, reason: string, options: AppOptions): void {
  const ackXml = writeAck({
    ack: { code: 'AE', reason },
    addressing: { guid: '', senderId: '', receiverId: '' },
    bridgeId: options.config.bridgeId,
    ackId: randomUUID().toUpperCase(),
    now: new Date(),
  });
  const kind = guessEnvelopeKind(Buffer.alloc(0), req.get('content-type'), req.get('soapaction'));
  const answer = wrapAck(ackXml, { kind, operationNamespace: null, qualifiedParameters: false, cdata: false });
  options.metrics.countPush(status === 403 ? 'REFUSED' : 'UNREADABLE', 'AE', 0);
  res.status(status).type(answer.contentType).send(answer.body);
}
