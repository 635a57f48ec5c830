import cluster from 'node:cluster';
import { getHeapStatistics } from 'node:v8';
import { runWorker, startPrimary } from './cluster.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { EXIT, exitOnCrash, fail, stopControl, stopOnSignals, type Stoppable } from './lifecycle.js';
import { createLogger, type Logger } from './log.js';
import { inflightHeapOverrun } from './push/admission.js';
import { startService } from './service.js';

// `npm start`: read the configuration, start the bridge, stop cleanly on SIGINT/SIGTERM/SIGHUP.
// WORKERS=1: this process is the bridge. Above 1: this process is the primary that prepares the
// database and runs the workers (cluster.ts), and each worker enters here too.
// Exit codes: 0 after a clean stop, 1 when start-up fails, the bridge crashes or stopping fails,
// 2 for a configuration error. Start-up failures print one line on stderr, never a stack trace.

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(EXIT.config, `configuration error: ${err.message}`);
    throw err;
  }
}

/** Workers run with the primary's node flags, so its heap limit is theirs (README: Operations, Memory). */
function warnIfHeapTooSmall(config: Config, log: Logger): void {
  const heapLimit = getHeapStatistics().heap_size_limit;
  const needed = inflightHeapOverrun(config.pushMaxInflightBytes, heapLimit);
  if (needed === null) return;
  const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);
  log.warn(
    { pushMaxInflightBytes: config.pushMaxInflightBytes, heapNeededMb: mb(needed), heapLimitMb: mb(heapLimit) },
    'PUSH_MAX_INFLIGHT_BYTES lets large pushes in flight take more than half of the heap node allows this process (--max-old-space-size in the start command): a burst of them could crash it; lower PUSH_MAX_INFLIGHT_BYTES or raise the limit',
  );
}

const config = readConfig();
const log = createLogger(config.logLevel);

if (cluster.isWorker) {
  await runWorker(config, log);
} else {
  const started = performance.now();
  const control = stopControl(log);
  stopOnSignals(control);
  exitOnCrash(log);

  const sandbox = config.wechat.mode === 'sandbox';
  if (sandbox) {
    log.warn(
      '*** SANDBOX MODE: WECHAT_APPID and WECHAT_SECRET are not set. Every push is processed and recorded, ' +
        'but NOTHING IS SENT TO WECHAT; acks say "处理成功（沙箱模式…）". Set both variables to go live. ***',
    );
  }

  warnIfHeapTooSmall(config, log);

  let bridge: Stoppable;
  const onFatal = (err: Error, why = 'the bridge cannot work without its database'): void => {
    log.fatal({ err }, `stopping: ${why}`);
    void bridge.stop().finally(() => process.exit(EXIT.failed));
  };
  try {
    if (config.workers > 1) {
      const primary = await startPrimary(config, log, { onFatal, stopRequested: control.requested });
      log.info({ url: primary.url, workers: primary.workers, ms: Math.round(performance.now() - started), sandbox }, 'bridge listening');
      bridge = primary;
    } else {
      const service = await startService(config, log, { onFatal });
      log.info({ url: service.url, instance: service.instanceId, ms: Math.round(performance.now() - started), sandbox }, 'bridge listening');
      bridge = service;
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // A setting the operator must fix needs no stack trace; anything else keeps it, in the log only.
    log.fatal(err instanceof ConfigError ? { variable: err.variable, reason: message } : { err }, 'bridge failed to start');
    fail(EXIT.failed, `start-up failed: ${message}`);
  }
  control.up(bridge);
}
