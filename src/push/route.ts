import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { Router } from 'express';
import type { Config } from '../config.js';
import { ackOf } from '../outcomes.js';
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
//
// POST /push is answered on Node's request and response, not through Express: Express' dispatch
// (its router, the prototypes it gives every request and response, res.send) took a fifth of the
// bridge's CPU per push; without it one worker did 1,720–1,910 pushes/s against 1,390–1,560 in the
// same hours (bench/README). Everything else, GET /push?wsdl included, stays on the Express app.

export type PushRouteConfig = Pick<Config, 'bridgeId' | 'pushMaxBytes' | 'pushAllowIps' | 'pushToken' | 'requestTimeoutMs' | 'pushMaxInflightBytes'>;

export interface PushRouteOptions {
  ctx: PushContext;
  config: PushRouteConfig;
  /** The client's address as the app's `trust proxy` setting reads it (the same as Express' req.ip). */
  clientIp(req: IncomingMessage): string | undefined;
}

/** How long a push may wait for room in the in-flight budget before it is turned away. */
export const ADMISSION_WAIT_MS = 5_000;

interface Refusal {
  status: number;
  reason: string;
  /** For the metrics: why nothing was processed. */
  kind: 'REFUSED' | 'UNREADABLE' | 'OVERLOADED' | 'BUSY';
  headers?: OutgoingHttpHeaders;
}

const BUSY_REASON = ackOf({ code: 'BUSY' }).reason;

export type PushHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Express' own matching of `post('/push')`: any case, an optional trailing slash, any query, and
 * the absolute form a client that takes the bridge for a proxy sends (`POST http://host/push`).
 */
export function isPushPost(req: IncomingMessage): boolean {
  return req.method === 'POST' && /^(?:[a-z][a-z0-9+.-]*:\/\/[^/?#]*)?\/push\/?(?:\?|$)/i.test(req.url ?? '');
}

/** Answers POST /push (see isPushPost). */
export function pushHandler(options: PushRouteOptions): PushHandler {
  const { ctx, config } = options;
  const { log } = ctx;
  const access = pushAccess(config.pushAllowIps, config.pushToken);
  const budget = new ByteBudget(config.pushMaxInflightBytes);

  const handle = async (req: IncomingMessage, res: ServerResponse, arrivedAt: number): Promise<void> => {
    const ip = options.clientIp(req);
    const denied = access.refusal(ip, pushToken(req));
    if (denied !== null) {
      log.warn({ ip, reason: denied }, 'push refused');
      return refuse(req, res, { status: 403, reason: denied, kind: 'REFUSED' }, options, arrivedAt);
    }
    const declared = declaredLength(req);
    if (declared !== null && declared > config.pushMaxBytes) return refuse(req, res, tooLarge(config.pushMaxBytes), options, arrivedAt);
    const release = await budget.acquire(declared ?? config.pushMaxBytes, ADMISSION_WAIT_MS);
    if (release === null) {
      log.warn({ inFlightBytes: budget.inUse, declared }, 'push turned away: too many push bytes in flight (PUSH_MAX_INFLIGHT_BYTES)');
      return refuse(req, res, { status: 503, reason: BUSY_REASON, kind: 'OVERLOADED', headers: { 'Retry-After': '5' } }, options, arrivedAt);
    }
    try {
      const read = await readBody(req, config.pushMaxBytes, Math.max(0, arrivedAt + config.requestTimeoutMs - Date.now()));
      if (read.kind !== 'ok') return refuse(req, res, bodyRefusal(read, config.pushMaxBytes), options, arrivedAt);
      send(res, 200, await handlePush(ctx, read.body, header(req, 'content-type'), arrivedAt));
    } finally {
      release();
    }
  };

  return (req, res) => {
    const arrivedAt = Date.now();
    handle(req, res, arrivedAt).catch((err: unknown) => {
      // Not expected (the pipeline answers every fault with an ack); the sender still gets one.
      log.error({ err }, 'push handler failed');
      if (res.headersSent) res.destroy();
      else refuse(req, res, { status: 500, reason: BUSY_REASON, kind: 'BUSY' }, options, arrivedAt);
    });
  };
}

/** GET /push?wsdl; other GETs of /push say what the path is for. */
export function pushWsdlRouter(): Router {
  const router = Router();
  router.get('/push', (req, res) => {
    if (!Object.keys(req.query).some((key) => key.toLowerCase() === 'wsdl')) {
      res.status(405).set('Allow', 'POST').type('text/plain').send('POST an approval push here; GET /push?wsdl for the WSDL.\n');
      return;
    }
    res.type('text/xml; charset=utf-8').send(writeWsdl(`${req.protocol}://${req.get('host') ?? 'localhost'}/push`));
  });
  return router;
}

/** X-Push-Token, else `?token=` (given once; Express' query parser made a repeated one an array, which matched nothing). */
function pushToken(req: IncomingMessage): string | undefined {
  const fromHeader = header(req, 'x-push-token');
  if (fromHeader !== undefined) return fromHeader;
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const token = parseQuery(url.slice(q + 1)).token;
  return typeof token === 'string' ? token : undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function send(res: ServerResponse, status: number, answer: HttpAnswer, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, {
    ...headers,
    'Content-Type': answer.contentType,
    'Content-Length': Buffer.byteLength(answer.body),
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(answer.body);
}

function declaredLength(req: IncomingMessage): number | null {
  const raw = req.headers['content-length'];
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
function refuse(req: IncomingMessage, res: ServerResponse, refusal: Refusal, options: PushRouteOptions, arrivedAt: number): void {
  const answer = refusalAnswer(options.config.bridgeId, refusal.reason, header(req, 'content-type'), header(req, 'soapaction'));
  options.ctx.metrics.countPush(refusal.kind, 'AE', Date.now() - arrivedAt);
  send(res, refusal.status, answer, { ...refusal.headers, Connection: 'close' });
}

/** The AE ack for a request refused before its body could be read: no ids are known, so it echoes none. */
export function refusalAnswer(bridgeId: string, reason: string, contentType: string | undefined, soapAction: string | undefined): HttpAnswer {
  const { contentType: type, body } = compose({ code: 'AE', reason }, NO_IDS, shapeFromHeaders(contentType, soapAction), bridgeId);
  return { contentType: type, body };
}
