import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { startService } from './service.js';

// `npm start`: read the configuration, start the service, stop cleanly on SIGINT/SIGTERM.

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}

const config = readConfig();
const log = createLogger(config.logLevel);
const started = performance.now();

if (config.wechat.appId === null) {
  log.warn(
    '*** SANDBOX MODE: WECHAT_APPID and WECHAT_SECRET are not set. Every push is processed and recorded, ' +
      'but NOTHING IS SENT TO WECHAT; acks say "处理成功（沙箱模式…）". Set both variables to go live. ***',
  );
}

try {
  const service = await startService(config, log);
  log.info({ url: service.url, instance: service.instanceId, ms: Math.round(performance.now() - started), sandbox: config.wechat.appId === null }, 'bridge listening');
  if (config.adminTokenGenerated) {
    log.warn({ adminToken: config.adminTokens[0]!.token }, 'ADMIN_TOKEN is not set: generated this admin token for this run only');
  }
  let signalled = false;
  const shutdown = (signal: string): void => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, 'shutting down: finishing in-flight pushes');
    service.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  log.fatal({ err: message }, 'bridge failed to start');
  console.error(`start-up failed: ${message}`);
  process.exit(1);
}
