import express, { type NextFunction, type Request, type Response } from 'express';
import { requireAdmin } from './admin/auth.js';
import { BadRequest, employeesRouter } from './admin/employees.js';
import type { AdminCredential } from './config.js';
import type { Db } from './db/database.js';
import type { Logger } from './log.js';
import { writeAck, wrapAck } from './push/acknowledge.js';
import { guessEnvelopeKind } from './push/envelope.js';
import type { PushPipeline } from './push/pipeline.js';
import { writeWsdl } from './push/wsdl.js';
import { randomUUID } from 'node:crypto';

// The HTTP surface: /push (receive), /healthz and /readyz, and the admin API.

export interface AppOptions {
  db: Db;
  pipeline: PushPipeline;
  adminTokens: AdminCredential[];
  bridgeId: string;
  pushMaxBytes: number;
  log: Logger;
}

export function createApp(options: AppOptions): express.Express {
  const { db, pipeline, log } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const ok = await db.ping(2000);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'database unavailable' });
  });

  app.get('/push', (req, res) => {
    if (!Object.keys(req.query).some((key) => key.toLowerCase() === 'wsdl')) {
      res.status(405).set('Allow', 'POST').type('text/plain').send('POST an approval push here; GET /push?wsdl for the WSDL.\n');
      return;
    }
    res.type('text/xml; charset=utf-8').send(writeWsdl(`${req.protocol}://${req.get('host') ?? 'localhost'}/push`));
  });

  app.post('/push', express.raw({ type: () => true, limit: options.pushMaxBytes }), async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const result = await pipeline.handle(body, req.get('content-type'));
    res.status(200).type(result.contentType).send(result.body);
  });
  app.use('/push', pushErrorHandler(options));

  const admin = express.Router();
  admin.use(requireAdmin(options.adminTokens));
  admin.use(express.json({ limit: '1mb', strict: false }));
  admin.use('/employees', employeesRouter(db));
  admin.use((_req, res) => {
    res.status(404).json({ error: 'path: no such admin endpoint' });
  });
  admin.use(adminErrorHandler(log));
  app.use('/admin/api', admin);

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
      status === 413 ? `消息格式错误：消息超过${options.pushMaxBytes}字节上限` : status < 500 ? '消息格式错误：请求体无法读取' : '系统繁忙，请稍后重试';
    options.log.warn({ status, type, err: err instanceof Error ? err.message : String(err) }, 'push refused before processing');
    const ackXml = writeAck({
      ack: { code: 'AE', reason },
      addressing: { guid: '', senderId: '', receiverId: '' },
      bridgeId: options.bridgeId,
      ackId: randomUUID().toUpperCase(),
      now: new Date(),
    });
    const answer = wrapAck(ackXml, { kind: guessEnvelopeKind(Buffer.alloc(0), req.get('content-type'), req.get('soapaction')), operationNamespace: null, qualifiedParameters: false, cdata: false });
    res.status(status).type(answer.contentType).send(answer.body);
  };
}

/** Query failures and pool connection failures, as opposed to bugs of ours. */
function isDatabaseError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'QueryFailedError') return true;
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'string' && /^(ECONN|ETIMEDOUT|57P|08)/.test(code)) || /connect|Connection terminated/i.test(err.message);
}

function adminErrorHandler(log: Logger) {
  return (err: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    if (err instanceof BadRequest) {
      res.status(400).json({ error: err.message });
      return;
    }
    const type = (err as { type?: string }).type;
    if (type === 'entity.parse.failed') {
      res.status(400).json({ error: 'body: not valid JSON' });
      return;
    }
    if (type === 'entity.too.large') {
      res.status(413).json({ error: 'body: too large' });
      return;
    }
    log.error({ err: err instanceof Error ? err.message : String(err) }, 'admin request failed');
    if (isDatabaseError(err)) {
      res.status(503).json({ error: 'database: unavailable, try again' });
      return;
    }
    res.status(500).json({ error: 'internal error' });
  };
}
