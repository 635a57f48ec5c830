import { Router, type Request, type Response } from 'express';
import type { Config } from '../config.js';
import type { HttpAnswer } from '../types.js';
import { pushAccess } from './access.js';
import { ByteBudget } from './admission.js';
import { compose, NO_IDS, shapeFromHeaders } from './answer.js';
import { readBody, type BodyRead } from './body.js';
import type { PushContext } from './context.js';
import { handlePush } from './pipeline.js';
import { writeWsdl } from './wsdl.js';

// The HTTP edge of the push path (receive): who may push, how much may be in flight, reading the
// body within its limits, then the pipeline. Whatever is refused here is still answered with an
// AE ack, in the envelope the request's headers suggest.

export type PushRouteConfig = Pick<Config, 'bridgeId' | 'pushMaxBytes' | 'pushAllowIps' | 'pushToken' | 'requestTimeoutMs' | 'pushMaxInflightBytes'>;

export interface PushRouteOptions {
  ctx: PushContext;
  config: PushRouteConfig;
}

/** How long a push may wait for room in the in-flight budget before it is turned away. */
export const ADMISSION_WAIT_MS = 5_000;

interface Refusal {
  status: number;
  reason: string;
  /** For the metrics: why nothing was processed. */
  kind: 'REFUSED' | 'UNREADABLE' | 'OVERLOADED';
}

export function pushRouter(options: PushRouteOptions): Router {
  const { ctx, config } = options;
  const { log } = ctx;
  const access = pushAccess(config.pushAllowIps, config.pushToken);
  const budget = new ByteBudget(config.pushMaxInflightBytes);
  const router = Router();

  router.post('/push', async (req, res) => {
    const arrivedAt = Date.now();
    const token = req.get('x-push-token') ?? (typeof req.query.token === 'string' ? req.query.token : undefined);
    const denied = access.refusal(req.ip, token);
    if (denied !== null) {
      log.warn({ ip: req.ip, reason: denied }, 'push refused');
      return refuse(req, res, { status: 403, reason: denied, kind: 'REFUSED' }, options, arrivedAt);
    }
    const declared = declaredLength(req);
    if (declared !== null && declared > config.pushMaxBytes) return refuse(req, res, tooLarge(config.pushMaxBytes), options, arrivedAt);
    const release = await budget.acquire(declared ?? config.pushMaxBytes, ADMISSION_WAIT_MS);
    if (release === null) {
      log.warn({ inFlightBytes: budget.inUse, declared }, 'push turned away: too many push bytes in flight (PUSH_MAX_INFLIGHT_BYTES)');
      res.set('Retry-After', '5');
      return refuse(req, res, { status: 503, reason: '系统繁忙，请稍后重试', kind: 'OVERLOADED' }, options, arrivedAt);
    }
    try {
      const read = await readBody(req, config.pushMaxBytes, Math.max(0, arrivedAt + config.requestTimeoutMs - Date.now()));
      if (read.kind !== 'ok') return refuse(req, res, bodyRefusal(read, config.pushMaxBytes), options, arrivedAt);
      const result = await handlePush(ctx, read.body, req.get('content-type'), arrivedAt);
      res.status(200).set('X-Content-Type-Options', 'nosniff').type(result.contentType).send(result.body);
    } finally {
      release();
    }
  });

  router.get('/push', (req, res) => {
    if (!Object.keys(req.query).some((key) => key.toLowerCase() === 'wsdl')) {
      res.status(405).set('Allow', 'POST').type('text/plain').send('POST an approval push here; GET /push?wsdl for the WSDL.\n');
      return;
    }
    res.type('text/xml; charset=utf-8').send(writeWsdl(`${req.protocol}://${req.get('host') ?? 'localhost'}/push`));
  });
  return router;
}

function declaredLength(req: Request): number | null {
  const raw = req.get('content-length');
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return null;
  return Number(raw);
}

const tooLarge = (limit: number): Refusal => ({ status: 413, reason: `消息格式错误：消息超过${limit}字节上限`, kind: 'UNREADABLE' });

function bodyRefusal(read: Exclude<BodyRead, { kind: 'ok' }>, limit: number): Refusal {
  switch (read.kind) {
    case 'too-large':
      return tooLarge(limit);
    case 'too-slow':
      return { status: 408, reason: '消息格式错误：请求体未在时限内收完', kind: 'UNREADABLE' };
    case 'unsupported-encoding':
      return { status: 415, reason: `消息格式错误：不支持的内容编码 ${read.encoding.slice(0, 40)}`, kind: 'UNREADABLE' };
    case 'aborted':
      return { status: 400, reason: '消息格式错误：请求体无法读取', kind: 'UNREADABLE' };
  }
}

/** Answers a push that was not processed; its body (if any is left) is never read: the connection closes. */
function refuse(req: Request, res: Response, refusal: Refusal, options: PushRouteOptions, arrivedAt: number): void {
  const answer = refusalAnswer(options.config.bridgeId, refusal.reason, req.get('content-type'), req.get('soapaction'));
  options.ctx.metrics.countPush(refusal.kind, 'AE', Date.now() - arrivedAt);
  res.set({ Connection: 'close', 'X-Content-Type-Options': 'nosniff' }).status(refusal.status).type(answer.contentType).send(answer.body);
}

/** The AE ack for a request refused before its body could be read: no ids are known, so it echoes none. */
export function refusalAnswer(bridgeId: string, reason: string, contentType: string | undefined, soapAction: string | undefined): HttpAnswer {
  const { contentType: type, body } = compose({ code: 'AE', reason }, NO_IDS, shapeFromHeaders(contentType, soapAction), bridgeId);
  return { contentType: type, body };
}
