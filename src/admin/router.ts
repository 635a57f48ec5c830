import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { QueryFailedError } from 'typeorm';
import type { QrMaker } from '../binding/invite.js';
import type { AdminCredential, DeliveryPolicy } from '../config.js';
import type { Database } from '../db/data-source.js';
import { FormatError } from '../errors.js';
import type { Logger } from '../log.js';
import { requireAdmin } from './auth.js';
import { auditRouter, employeesRouter } from './employees.js';
import { invitationsApi, printPage } from './invitations.js';
import { HttpError } from './errors.js';
import { messagesRouter, statsRouter, type Resend } from './messages.js';

// /admin/api (bearer token, JSON in and out, errors as {"error": "field: ..."}) and the web page
// on top of it at /admin/.

export interface AdminOptions {
  db: Database;
  resend: Resend;
  adminTokens: AdminCredential[];
  sandbox: boolean;
  log: Logger;
  /** WeChat's QR codes for invitations; null in sandbox mode. */
  makeQr: QrMaker;
  /** For the page: whether the callback is on, and how pushes are delivered. */
  features: { callback: boolean; delivery: DeliveryPolicy | 'sandbox' };
}

export function adminApi(options: AdminOptions): Router {
  const api = Router();
  api.use(requireAdmin(options.adminTokens));
  api.use(express.json({ limit: '1mb', strict: false }));
  api.get('/whoami', (_req, res) => {
    res.json({ actor: res.locals.actor, sandbox: options.sandbox, ...options.features });
  });
  api.use(invitationsApi(options));
  api.use('/employees', employeesRouter(options.db));
  api.use('/audit', auditRouter(options.db));
  api.use('/messages', messagesRouter(options.db, options.resend));
  api.use('/stats', statsRouter(options.db, options.sandbox));
  api.use(() => {
    throw new HttpError(404, 'path: no such admin endpoint');
  });
  api.use(errorHandler(options.log));
  return api;
}

const HTM_PREACT = fileURLToPath(import.meta.resolve('htm/preact/standalone'));

/**
 * The page's files may be kept by the browser but are checked on every use: `no-cache` with a
 * strong ETag from the file's content, so an unchanged file costs a 304 and an upgraded bridge is
 * never run with yesterday's scripts (the file names carry no hash: there is no build step).
 */
const STATIC_CACHE_CONTROL = 'no-cache';

const contentTags = new Map<string, { mtimeMs: number; size: number; etag: string }>();

/** `"sha256…"` of the file's bytes, remembered until the file changes (mtime or size). */
function contentEtag(file: string, stat: { mtimeMs: number; size: number }): string {
  const known = contentTags.get(file);
  if (known && known.mtimeMs === stat.mtimeMs && known.size === stat.size) return known.etag;
  const etag = `"${createHash('sha256').update(readFileSync(file)).digest('base64url').slice(0, 27)}"`;
  contentTags.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, etag });
  return etag;
}

/** Cache headers of a static file; `send` then answers If-None-Match with 304 from this ETag. */
function staticHeaders(res: Response, file: string, stat: { mtimeMs: number; size: number }): void {
  res.setHeader('Cache-Control', STATIC_CACHE_CONTROL);
  res.setHeader('ETag', contentEtag(file, stat));
}

/** The static page, from public/admin (found from here whether running from src/ or dist/src/). */
export function adminPage(options: Pick<AdminOptions, 'db' | 'makeQr' | 'adminTokens'>): Router {
  const page = Router();
  page.use(printPage(options));
  const dir = findUp(path.join('public', 'admin'));
  // preact + hooks + htm as one ES module with no bare imports: the page needs no build step, no
  // import map (an inline script the CSP forbids) and no internet.
  page.get('/vendor/htm-preact.js', (_req, res) => {
    staticHeaders(res, HTM_PREACT, statSync(HTM_PREACT));
    res.type('text/javascript; charset=utf-8').sendFile(HTM_PREACT);
  });
  if (dir) page.use(express.static(dir, { index: 'index.html', etag: false, lastModified: false, cacheControl: false, setHeaders: staticHeaders }));
  return page;
}

function findUp(relative: string): string | null {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return null;
  }
}

/** Query failures and pool connection failures, as opposed to bugs of ours. */
function isDatabaseError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof QueryFailedError) return true;
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'string' && /^(ECONN|ETIMEDOUT|57P|08)/.test(code)) || /connect|Connection terminated/i.test(err.message);
}

/** The SQLSTATE of a Postgres error (TypeORM copies the driver's fields onto its QueryFailedError). */
function sqlState(err: unknown): string | null {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

function errorHandler(log: Logger) {
  return (err: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    if (err instanceof HttpError) {
      res.status(err.status).json({ error: err.message });
      return;
    }
    // An uploaded file the readers cannot decode (src/errors.ts): the charset it claims or has.
    if (err instanceof FormatError) {
      res.status(400).json({ error: `charset: ${err.detail}` });
      return;
    }
    // Express could not decode a %-escape of the path: the client's mistake, not ours.
    if (err instanceof URIError) {
      res.status(400).json({ error: 'path: not valid percent-encoding (%XX escapes of UTF-8 bytes)' });
      return;
    }
    const type = (err as { type?: string }).type;
    if (type === 'charset.unsupported') {
      res.status(400).json({ error: 'charset: send JSON in UTF-8' });
      return;
    }
    if (type === 'encoding.unsupported') {
      res.status(415).json({ error: 'content-encoding: send the body uncompressed, gzip or deflate' });
      return;
    }
    if (type === 'entity.parse.failed') {
      res.status(400).json({ error: 'body: not valid JSON' });
      return;
    }
    if (type === 'entity.too.large') {
      res.status(413).json({ error: 'body: too large' });
      return;
    }
    log.error({ err }, 'admin request failed');
    // Postgres refused a value (class 22: data exception): input that slipped past our checks,
    // which retrying will not fix, so not "unavailable".
    if (sqlState(err)?.startsWith('22')) {
      res.status(400).json({ error: 'input: a value the database cannot store' });
      return;
    }
    if (isDatabaseError(err)) {
      res.status(503).json({ error: 'database: unavailable, try again' });
      return;
    }
    res.status(500).json({ error: 'internal error' });
  };
}
