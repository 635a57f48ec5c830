import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { adminApi, adminPage } from './admin/router.js';
import type { AdminCredential } from './config.js';
import type { Db } from './db/database.js';
import type { Logger } from './log.js';
import { writeAck, wrapAck } from './push/acknowledge.js';
import { guessEnvelopeKind } from './push/envelope.js';
import type { PushPipeline } from './push/pipeline.js';
import { writeWsdl } from './push/wsdl.js';

// The HTTP surface: /push (receive), /healthz and /readyz, the admin API and page.

export interface AppOptions {
  db: Db;
  pipeline: PushPipeline;
  adminTokens: AdminCredential[];
  bridgeId: string;
  pushMaxBytes: number;
  sandbox: boolean;
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

  app.use('/admin/api', adminApi({ db, pipeline, adminTokens: options.adminTokens, sandbox: options.sandbox, log }));
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
