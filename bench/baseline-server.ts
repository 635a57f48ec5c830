import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../src/config.js';
import { createBridgeServer } from '../src/http-server.js';
import { writeAck, wrapAck } from '../src/push/acknowledge.js';

// What the benchmark's baselines (bare-express.ts, relay-express.ts) share with each other and with
// the bridge: one fixed SOAP 1.2 AA ack of the bridge's size, and the bridge's server settings.

const ackXml = writeAck({
  ack: { code: 'AA', reason: '处理成功' },
  addressing: { guid: '00000000-0000-0000-0000-000000000000', senderId: 'GCPERP', receiverId: 'WXBRIDGE' },
  bridgeId: 'WECHAT-BRIDGE',
  ackId: '00000000-0000-0000-0000-000000000001',
  now: new Date(),
});

/** Built once: a baseline answers it without any work per push. */
export const FIXED_ANSWER = wrapAck(ackXml, { kind: 'soap12', operationNamespace: 'urn:hl7-org:v3', qualifiedParameters: false, cdata: false });

/** Express as the bridge sets it up, with `POST /push` reading the whole body as the bridge does. */
export function baselineApp(push: (body: Buffer, res: Response) => void): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.post('/push', express.raw({ type: () => true, limit: 1024 * 1024 }), (req: Request, res: Response) => {
    push(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), res);
  });
  return app;
}

/**
 * Listens with the bridge's server settings (src/http-server.ts, at the default REQUEST_TIMEOUT_MS), prints `{"ready":true,"url":...}` on
 * stdout, and exits when stdin closes (the orchestrator died) or on SIGTERM/SIGINT, after `close`.
 */
export function serveBaseline(app: express.Express, port: number, close: () => Promise<void> = async () => undefined): void {
  const server = createBridgeServer(app, DEFAULT_REQUEST_TIMEOUT_MS);
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ ready: true, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pid: process.pid })}\n`);
  });
  const stop = (): void => {
    server.closeAllConnections();
    server.close(() => void close().finally(() => process.exit(0)));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
