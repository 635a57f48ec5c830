import type { Logger } from './log.js';

// What every bridge process (the single one, a cluster's primary, each worker) does about ending:
// exit codes, the one line a failed start prints, a crash, and a request to stop that may arrive
// before there is anything to stop.

export const EXIT = { ok: 0, failed: 1, config: 2 } as const;

/** A start-up failure: one line on stderr, never a stack trace (that goes to the log only). */
export function fail(code: number, line: string): never {
  console.error(line.replace(/\s+/g, ' ').trim());
  process.exit(code);
}

export interface Stoppable {
  stop(): Promise<void>;
}

/** Why a stop was asked for: the signal, or for a worker what its primary did. */
export type StopReason = { signal: string } | { cause: string };

export interface StopControl {
  /** Stops now when up, else as soon as it is; only the first request counts. */
  request(reason: StopReason): void;
  /** Whether a stop has been asked for, also while still starting. */
  requested(): boolean;
  /** The process is up: a stop asked for earlier happens now. */
  up(running: Stoppable): void;
}

/**
 * A SIGTERM that arrives while the bridge is still starting (its port may already answer) must
 * not kill node by default and orphan its Postgres: such a request stops the bridge as soon as it
 * is up. After a stop: exit 0, or 1 when stopping failed.
 */
export function stopControl(log: Logger): StopControl {
  let reason: StopReason | null = null;
  let running: Stoppable | null = null;
  const shutdown = (bridge: Stoppable): void => {
    log.info(reason, 'shutting down: finishing in-flight pushes');
    bridge.stop().then(
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
  return {
    request(why) {
      if (reason !== null) return;
      reason = why;
      if (running) shutdown(running);
      else log.info(why, 'signal' in why ? 'signal during start-up: stopping as soon as the bridge is up' : 'asked to stop during start-up: stopping as soon as the bridge is up');
    },
    requested: () => reason !== null,
    up(bridge) {
      running = bridge;
      if (reason !== null) shutdown(bridge);
    },
  };
}

/** Handlers go in before anything starts (see stopControl). SIGHUP: the terminal went away. */
export function stopOnSignals(control: StopControl): void {
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(name, () => control.request({ signal: name }));
}

/** A crash still exits non-zero and still stops the embedded Postgres (its process-exit hook). */
export function exitOnCrash(log: Logger): void {
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'bridge crashed');
    process.exit(EXIT.failed);
  });
}
