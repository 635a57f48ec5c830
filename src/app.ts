import express from 'express';
import type { Resend } from './admin/messages.js';
import { adminApi, adminPage } from './admin/router.js';
import type { AdminCredential, Config } from './config.js';
import type { PushContext } from './push/context.js';
import { pushRouter, type PushRouteConfig } from './push/route.js';

// The HTTP surface: /push (push/route.ts), /healthz and /readyz, /metrics, the admin API and page.

export interface AppOptions {
  ctx: PushContext;
  config: PushRouteConfig & Pick<Config, 'trustProxy'> & { adminTokens: AdminCredential[] };
  sandbox: boolean;
  resend: Resend;
}

const ADMIN_PAGE_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export function createApp(options: AppOptions): express.Express {
  const { ctx, config } = options;
  const { db, log, metrics } = ctx;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);

  // The push route comes first: it is the hot path, and every layer before it costs each push.
  app.use(pushRouter({ ctx, config }));

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
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use('/admin', (_req, res, next) => {
    res.set({ 'Content-Security-Policy': ADMIN_PAGE_CSP, 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store' });
    next();
  });
  app.use('/admin/api', adminApi({ db, resend: options.resend, adminTokens: config.adminTokens, sandbox: options.sandbox, log }));
  app.use('/admin', adminPage());

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  return app;
}
