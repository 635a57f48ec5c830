import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { CallbackConfig } from '../config.js';
import { firstDelivery, forgetDelivery, recordReply, replyOf } from '../db/callback-events.js';
import type { Database } from '../db/data-source.js';
import { withinMs } from '../deadline.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { decrypt, encrypt } from './crypto.js';
import { actOn } from './handle.js';
import { dedupeKey, encryptedReply, readCallback, readEncryptedEnvelope, textReply, type CallbackMessage } from './message.js';
import { callbackSignature, messageSignature, signatureMatches } from './signature.js';

// /wechat/callback (contract §8): the one path that faces the internet. Nothing is read, recorded
// or acted on before the signature holds; then the message is decrypted (safe mode), read with the
// push path's safe XML reader, acted on once however often WeChat retries it, and answered within
// WeChat's 5 seconds.

export const CALLBACK_PATH = '/wechat/callback';

export interface CallbackRouteOptions {
  db: Database;
  log: Logger;
  metrics: Metrics;
  callback: CallbackConfig;
  /** WECHAT_APPID: safe-mode messages must name it. */
  appId: string | null;
}

/** WeChat sends small XML; anything larger is not WeChat. */
const MAX_BODY = '64kb';
/** WeChat gives up after 5 s; answer before it does, acting on in the background if need be. */
const ANSWER_WITHIN_MS = 4_500;
/**
 * A signed request this far from our clock is refused: an old capture replayed after its dedupe
 * key was pruned (7 days) must not act again. Generous, because a hospital server's clock drifts
 * and a refused callback is an employee left without an answer.
 */
const MAX_CLOCK_SKEW_S = 24 * 3600;
/** A retry arriving while the first delivery is still being acted on waits this long for its reply. */
const RETRY_WAIT_MS = 3_000;

interface Signed {
  timestamp: string;
  nonce: string;
  query: Record<string, string>;
}

export function callbackRouter(options: CallbackRouteOptions): Router {
  const { callback, log } = options;
  const router = Router();

  router.get(CALLBACK_PATH, (req, res) => {
    const signed = verified(req, callback.token);
    const echostr = single(req.query.echostr);
    if (!signed || echostr === undefined) return forbidden(res, options, 'URL verification with a missing or wrong signature');
    res.type('text/plain').send(echostr);
  });

  router.post(CALLBACK_PATH, express.raw({ type: () => true, limit: MAX_BODY }), async (req, res) => {
    const signed = verified(req, callback.token);
    if (!signed) return forbidden(res, options, 'callback with a missing or wrong signature');
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const opened = open(body, signed, options);
    if ('refused' in opened) return opened.status === 403 ? forbidden(res, options, opened.refused) : badRequest(res, options, opened.refused);
    const reply = await answerOnce(options, opened.message);
    if (reply === 'busy') {
      res.status(503).type('text/plain').send('busy');
      return;
    }
    respond(res, reply, opened.message, signed, options);
  });

  // Errors of the body reader: too large, aborted. The callback answers in plain text, not JSON.
  router.use(CALLBACK_PATH, (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = (err as { status?: number }).status ?? 500;
    if (status >= 500) log.error({ err }, 'callback failed');
    res.status(status).type('text/plain').send(status === 413 ? 'too large' : 'bad request');
  });
  return router;
}

/** The plain `signature` over token, timestamp and nonce, and a timestamp near our clock. */
function verified(req: Request, token: string): Signed | null {
  const query = Object.fromEntries(Object.entries(req.query).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])));
  const { signature, timestamp, nonce } = query;
  if (timestamp === undefined || nonce === undefined || !/^\d{1,12}$/.test(timestamp)) return null;
  // Plain mode: the request's signature. Safe mode signs the message as well (msg_signature,
  // checked in open()); the request's signature comes along and must hold when it does.
  const safe = query.encrypt_type === 'aes';
  if ((!safe || signature !== undefined) && !signatureMatches(callbackSignature(token, timestamp, nonce), signature)) return null;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > MAX_CLOCK_SKEW_S) return null;
  return { timestamp, nonce, query };
}

type Opened = { message: CallbackMessage; safe: boolean } | { refused: string; status: 400 | 403 };

function open(body: string, signed: Signed, options: CallbackRouteOptions): Opened {
  const { callback, appId } = options;
  if (signed.query.encrypt_type !== 'aes') {
    const message = readCallback(body);
    return message ? { message, safe: false } : { refused: 'callback body is not a WeChat message', status: 400 };
  }
  const envelope = readEncryptedEnvelope(body);
  if (envelope === null) return { refused: 'safe-mode callback without an Encrypt element', status: 400 };
  if (!signatureMatches(messageSignature(callback.token, signed.timestamp, signed.nonce, envelope.encrypt), signed.query.msg_signature)) {
    return { refused: 'safe-mode callback with a missing or wrong msg_signature', status: 403 };
  }
  if (callback.aesKeys === null || appId === null) return { refused: 'safe-mode callback, but WECHAT_ENCODING_AES_KEY is not set', status: 403 };
  const decrypted = decrypt(envelope.encrypt, callback.aesKeys, appId);
  if (decrypted === null) return { refused: 'safe-mode callback that does not decrypt for our key and AppID', status: 403 };
  const message = readCallback(decrypted.xml);
  return message ? { message, safe: true } : { refused: 'decrypted callback is not a WeChat message', status: 400 };
}

/**
 * Acts on a message the first time it arrives; a retry gets the first one's reply. The reply text,
 * null for none, 'busy' when the database is away (WeChat will retry, and the retry will act).
 */
async function answerOnce(options: CallbackRouteOptions, message: CallbackMessage): Promise<string | null | 'busy'> {
  const { db, log, metrics } = options;
  const key = dedupeKey(message);
  try {
    const first = await firstDelivery(db, key);
    if (first !== 'first') {
      metrics.callbacks.inc({ result: 'repeat' });
      return first.reply === 'pending' ? await waitForReply(db, key) : first.reply;
    }
  } catch (err) {
    metrics.callbacks.inc({ result: 'busy' });
    log.error({ err }, 'callback could not be recorded');
    return 'busy';
  }
  const acting = actOn({ db, log }, message).then(
    async (reply) => {
      metrics.callbacks.inc({ result: 'acted' });
      // Done is done: a retry that finds no reply recorded answers 'success' and acts no more.
      await recordReply(db, key, reply).catch((err: unknown) => log.warn({ err }, 'could not keep the reply of a callback for its retries'));
      return reply;
    },
    async (err: unknown) => {
      metrics.callbacks.inc({ result: 'busy' });
      log.error({ err, event: eventName(message) }, 'callback could not be acted on; WeChat will retry it');
      // Forget it, so that the retry acts.
      await forgetDelivery(db, key).catch((forgetting: unknown) => log.warn({ err: forgetting }, 'could not forget a failed callback'));
      return 'busy' as const;
    },
  );
  const result = await withinMs(acting, ANSWER_WITHIN_MS, 'late' as const);
  if (result !== 'late') return result;
  metrics.callbacks.inc({ result: 'late' });
  log.warn({ event: eventName(message) }, 'callback still being acted on after 4.5 s; answered without a reply');
  return null;
}

async function waitForReply(db: Database, key: string): Promise<string | null> {
  for (let waited = 0; waited < RETRY_WAIT_MS; waited += 200) {
    await sleep(200);
    const answered = await replyOf(db, key);
    if (answered !== 'pending') return answered;
  }
  return null;
}

function respond(res: Response, reply: string | null, message: CallbackMessage, signed: Signed, options: CallbackRouteOptions): void {
  if (reply === null) {
    res.type('text/plain').send('success');
    return;
  }
  const xml = textReply(message.fromUserName, message.toUserName, reply, new Date());
  const { aesKeys } = options.callback;
  if (signed.query.encrypt_type !== 'aes' || aesKeys === null || options.appId === null) {
    res.type('application/xml').send(xml);
    return;
  }
  // Replies use the current key (the first of NEW,OLD) and their own timestamp and nonce.
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = randomBytes(8).toString('hex');
  res.type('application/xml').send(encryptedReply(encrypt(xml, aesKeys[0]!, options.appId), options.callback.token, timestamp, nonce));
}

function forbidden(res: Response, { log, metrics }: CallbackRouteOptions, why: string): void {
  metrics.callbacks.inc({ result: 'refused' });
  log.warn({ why }, 'callback refused');
  res.status(403).type('text/plain').send('forbidden');
}

function badRequest(res: Response, { log, metrics }: CallbackRouteOptions, why: string): void {
  metrics.callbacks.inc({ result: 'bad_request' });
  log.warn({ why }, 'callback refused');
  res.status(400).type('text/plain').send('bad request');
}

function eventName(m: CallbackMessage): string {
  return m.type === 'event' ? m.event : m.type === 'text' ? 'text' : m.msgType;
}

function single(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
