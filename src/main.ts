import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './log.js';
import { startService, type Service } from './service.js';

// `npm start`: read the configuration, start the service, stop cleanly on SIGINT/SIGTERM.
// Exit codes: 0 after a clean stop, 1 when start-up fails, the bridge crashes or stopping fails,
// 2 for a configuration error. Start-up failures print one line on stderr, never a stack trace.

const EXIT = { ok: 0, failed: 1, config: 2 } as const;

function fail(code: number, line: string): never {
  console.error(line.replace(/\s+/g, ' ').trim());
  process.exit(code);
}

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(EXIT.config, `configuration error: ${err.message}`);
    throw err;
  }
}

/**
 * Signal handlers go in before anything starts: a SIGTERM that arrives while the service is still
 * starting (its port may already answer) must not kill node by default and orphan its Postgres.
 * Such a signal stops the service as soon as it is up.
 */
function onSignals(log: Logger): (service: Service) => void {
  let signal: string | null = null;
  let running: Service | null = null;
  const shutdown = (service: Service): void => {
    log.info({ signal }, 'shutting down: finishing in-flight pushes');
    service.stop().then(
      () => {
        log.info('stopped');
        process.exit(EXIT.ok);
      },
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(EXIT.failed);
      },
    );
  };
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(name, () => {
      if (signal !== null) return;
      signal = name;
      if (running) shutdown(running);
      else log.info({ signal }, 'signal during start-up: stopping as soon as the bridge is up');
    });
  }
  return (service) => {
    running = service;
    if (signal !== null) shutdown(service);
  };
}

const config = readConfig();
const log = createLogger(config.logLevel);
const started = performance.now();
const serviceUp = onSignals(log);

// A crash still exits non-zero and still stops the embedded Postgres (its process-exit hook).
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'bridge crashed');
  process.exit(EXIT.failed);
});

if (config.wechat.mode === 'sandbox') {
  log.warn(
    '*** SANDBOX MODE: WECHAT_APPID and WECHAT_SECRET are not set. Every push is processed and recorded, ' +
      'but NOTHING IS SENT TO WECHAT; acks say "处理成功（沙箱模式…）". Set both variables to go live. ***',
  );
}

let service: Service;
try {
  service = await startService(config, log, {
    onFatal: (err) => {
      log.fatal({ err }, 'stopping: the bridge cannot work without its database');
      void service.stop().finally(() => process.exit(EXIT.failed));
    },
  });
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  // A setting the operator must fix needs no stack trace; anything else keeps it, in the log only.
  log.fatal(err instanceof ConfigError ? { variable: err.variable, reason: message } : { err }, 'bridge failed to start');
  fail(EXIT.failed, `start-up failed: ${message}`);
}
log.info({ url: service.url, instance: service.instanceId, ms: Math.round(performance.now() - started), sandbox: config.wechat.mode === 'sandbox' }, 'bridge listening');
serviceUp(service);
