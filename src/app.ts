import type { RequestListener } from 'node:http';
import express from 'express';
import proxyaddr from 'proxy-addr';
import type { Resend } from './admin/messages.js';
import { adminApi, adminPage, type AdminOptions } from './admin/router.js';
import type { QrMaker } from './binding/invite.js';
import { callbackRouter, type CallbackRouteOptions } from './callback/route.js';
import type { AdminCredential, Config } from './config.js';
import type { PushContext } from './push/context.js';
import { isPushPost, pushHandler, pushWsdlRouter, type PushRouteConfig } from './push/route.js';

// The HTTP surface: /push (push/route.ts), /wechat/callback (callback/route.ts), /healthz and
// /readyz, /metrics, the admin API and page.

export interface AppOptions {
  ctx: PushContext;
  config: PushRouteConfig & Pick<Config, 'trustProxy'> & { adminTokens: AdminCredential[] };
  sandbox: boolean;
  resend: Resend;
  /** The WeChat callback (contract §8); null when WECHAT_CALLBACK_TOKEN is unset (the path answers 404). */
  callback: CallbackRouteOptions | null;
  makeQr: QrMaker;
  features: AdminOptions['features'];
  /** A cluster worker's /metrics: the whole bridge's, from the primary. Absent: this process's registry. */
  metricsText?: MetricsText;
}

/** The Prometheus text for /metrics; null when it could not be had in time. */
export type MetricsText = () => Promise<string | null>;

const ADMIN_PAGE_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** The push (POST /push, on Node's own request: push/route.ts says why) beside the Express app for the rest. */
export function createApp(options: AppOptions): RequestListener {
  const { ctx, config } = options;
  const { db, log, metrics } = ctx;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);

  app.use(pushWsdlRouter());
  if (options.callback) app.use(callbackRouter(options.callback));

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
    const text = options.metricsText ? await options.metricsText() : await metrics.registry.metrics();
    if (text === null) {
      // A partial scrape would look like counters going down; better none, which Prometheus marks as a failed scrape.
      res.status(503).type('text/plain').send('metrics unavailable: the bridge\'s primary process did not collect the workers\' metrics in time; try again\n');
      return;
    }
    res.type(metrics.registry.contentType).send(text);
  });

  // The address people type: the admin page.
  app.get('/', (_req, res) => {
    res.redirect(302, '/admin/');
  });

  // Everything under /admin is no-store (the API's answers, the signed print pages) unless it is
  // one of the page's static files: adminPage() makes those revalidated by ETag (router.ts).
  app.use('/admin', (_req, res, next) => {
    res.set({ 'Content-Security-Policy': ADMIN_PAGE_CSP, 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store' });
    next();
  });
  const admin = { db, resend: options.resend, adminTokens: config.adminTokens, sandbox: options.sandbox, log, makeQr: options.makeQr, features: options.features };
  app.use('/admin/api', adminApi(admin));
  app.use('/admin', adminPage(admin));

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });

  // Express compiled TRUST_PROXY when it was set: the push reads its client's address as req.ip would.
  const trust = app.get('trust proxy fn') as Parameters<typeof proxyaddr>[1];
  const push = pushHandler({ ctx, config, clientIp: (req) => proxyaddr(req, trust) });
  return (req, res) => {
    if (isPushPost(req)) push(req, res);
    else app(req, res);
  };
}

/** The CALLBACK_PORT listener: the callback and nothing else, so only it needs to face the internet. */
export function createCallbackApp(options: CallbackRouteOptions, trustProxy: Config['trustProxy']): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', trustProxy);
  app.use(callbackRouter(options));
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found');
  });
  return app;
}
