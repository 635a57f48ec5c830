import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startService, type Service } from '../../src/service.js';
import { FakeWechat } from './fake-wechat.js';

// Starts the real service (real HTTP listener, real Postgres) against a fake WeChat on loopback,
// and keeps every log line so tests can check what was (not) logged.

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestBridge {
  service: Service;
  url: string;
  wechat: FakeWechat | null;
  logs: string[];
  config: Config;
  stop(): Promise<void>;
}

export interface TestBridgeOptions {
  databaseUrl: string;
  /** false: sandbox mode (no credentials). Default: a fresh fake WeChat. */
  wechat?: FakeWechat | false;
  env?: Record<string, string>;
}

export async function startBridge(options: TestBridgeOptions): Promise<TestBridge> {
  const ownWechat = options.wechat === undefined ? await new FakeWechat({ slowMs: 3000 }).start() : null;
  const wechat = options.wechat === false ? null : (options.wechat ?? ownWechat);
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: options.databaseUrl,
    ADMIN_TOKEN,
    WECHAT_TIMEOUT_MS: '500',
    SHUTDOWN_GRACE_MS: '3000',
    LOG_LEVEL: 'info',
    ...(wechat ? { WECHAT_APPID: wechat.appId, WECHAT_SECRET: wechat.secret, WECHAT_API_BASE: wechat.url } : {}),
    ...options.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const service = await startService(config, createLogger(config.logLevel, sink));
  return {
    service,
    url: service.url,
    wechat,
    logs,
    config,
    stop: async () => {
      await service.stop();
      await ownWechat?.stop();
    },
  };
}
