import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveWechatConfig } from '../../src/config.js';
import { Metrics } from '../../src/metrics.js';
import { WechatApi } from '../../src/wechat/api.js';

// The WeChat call's own limit: a whole-call timeout on top of undici's per-phase ones, and no
// timer left behind by a call that ended (one per push would pile up for timeoutMs each).

const TIMEOUT_MS = 500;
let server: Server;
let api: WechatApi;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.startsWith('/trickle')) {
      // Headers at once, then a byte every 100 ms for 2 s: each wait is short, the whole is not.
      res.writeHead(200, { 'content-type': 'application/json' });
      let sent = 0;
      const drip = setInterval(() => {
        if (res.destroyed || ++sent > 20) {
          clearInterval(drip);
          if (!res.destroyed) res.end('}');
          return;
        }
        res.write(sent === 1 ? '{"errcode":0' : ' ');
      }, 100);
      res.on('close', () => clearInterval(drip));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0,"errmsg":"ok"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const config: LiveWechatConfig = {
    mode: 'live',
    appId: 'wx-limits',
    secret: 'secret',
    apiBase: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tokenApi: 'stable',
    timeoutMs: TIMEOUT_MS,
    maxRetries: 3,
    maxConnections: 4,
    maxParts: 5,
    delivery: 'custom',
    template: null,
  };
  api = new WechatApi(config, new Metrics());
});

afterAll(async () => {
  await api?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

describe('WeChat API call limits', () => {
  it('gives up on an answer that trickles in longer than the timeout, though no single wait is long', async () => {
    const result = await api.post('/trickle', {}, { a: 1 }, TIMEOUT_MS);
    expect(result.kind).toBe('maybe-sent');
    expect(result.kind === 'maybe-sent' && result.error).toBe(`请求超时（${TIMEOUT_MS}ms）`);
    // The trickle lasts 2 s; the call ended at its own limit.
    expect(result.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(result.ms).toBeLessThan(1500);
  });

  it('leaves no timer running after calls that ended', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await api.post('/fast', {}, { warm: true }, TIMEOUT_MS);
    const before = timers();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => api.post('/fast', {}, { i }, 60_000)));
    expect(results.every((r) => r.kind === 'answered' && r.json?.errcode === 0)).toBe(true);
    expect(timers()).toBeLessThanOrEqual(before);
  });
});
